"""lib.explore.optim_internals: hand-written optimizer steps against torch.optim, and broken variants that must fail."""
import pytest
import torch

import lib.explore.optim_internals as oi
from lib.tutorial.config import default_config
from lib.text.i18n import TEXTS
from lib.explore.optim_internals import ALL, COLUMNS, HAND_WRITTEN, K_MAX, check_k, compare_optimizer
from lib.tutorial.optimizers import OPTIMIZERS
from lib.tutorial.stages import run_stage

SMALL = dict(n=8, d_in=12, hidden=6, d_out=3, lr=1e-3)
K = 25
PARAMETERS = ["0.weight", "0.bias", "2.weight", "2.bias"]
STATE = {"sgd": set(), "sgd_momentum": {"momentum_buffer"}, "adam": {"exp_avg", "exp_avg_sq"},
         "rmsprop": {"square_avg", "momentum_buffer"}, "adagrad": {"sum"}}

# every optimizer, with momentum 0.9 where it applies, and RMSprop and SGD-momentum also without
CASES = [(name, 0.9 if spec.uses_momentum else 0.0) for name, spec in OPTIMIZERS.items()] + \
    [("rmsprop", 0.0), ("sgd_momentum", 0.0)]


def config(optimizer, momentum=0.0, dtype="float64", **changes):
    return default_config("optim").with_(optimizer=optimizer, momentum=momentum, dtype=dtype, **{**SMALL, **changes})


def rel(a, b):
    return ((a - b).norm() / max(a.norm(), b.norm())).item()


@pytest.mark.parametrize("optimizer,momentum", CASES)
def test_hand_written_steps_match_torch_optim_in_float64(optimizer, momentum):
    result = compare_optimizer(config(optimizer, momentum), K)
    table = result.table
    assert list(table.columns) == COLUMNS
    assert list(table["parameter"]) == PARAMETERS
    assert (table["rel_error"] < 1e-10).all(), table
    assert table["within_tol"].all()
    assert result.k == K and result.diverged_at is None
    # the weights really moved, so agreeing is not trivial
    assert all(sum(sizes) > 0 for sizes in result.torch_update_sizes.values())


@pytest.mark.parametrize("optimizer,momentum", CASES)
def test_optimizer_state_matches_torch_optim(optimizer, momentum):
    result = compare_optimizer(config(optimizer, momentum), K)
    expected = STATE[optimizer] if momentum > 0 or optimizer not in ("rmsprop", "sgd_momentum") else \
        STATE[optimizer] - {"momentum_buffer"}
    assert set(result.state_names) == expected
    for name in PARAMETERS:
        assert set(result.torch_state[name]) == expected
        assert set(result.manual_state[name]) == expected
        for key in expected:
            assert rel(result.manual_state[name][key], result.torch_state[name][key]) < 1e-10, (name, key)
    assert len(result.state_table) == len(PARAMETERS) * len(expected)
    assert result.state_table["within_tol"].all()


@pytest.mark.parametrize("optimizer,momentum", CASES[:5])
def test_torch_side_is_the_optim_stage_itself(optimizer, momentum):
    """The torch.optim side reaches the same weights as run_stage("optim") after K steps."""
    cfg = config(optimizer, momentum)
    result = compare_optimizer(cfg, K)
    stage = run_stage("optim", cfg.with_(steps=K + 1), stop_at=K)
    for name in PARAMETERS:
        assert torch.allclose(result.torch_params[name], stage.params[name], rtol=0, atol=1e-13)
    assert result.torch_losses == pytest.approx(stage.losses, rel=1e-12)


def test_update_sizes_add_up_over_parameters():
    result = compare_optimizer(config("adam"), K)
    for sizes in (result.torch_update_sizes, result.manual_update_sizes):
        assert set(sizes) == {ALL, *PARAMETERS}
        assert all(len(v) == K for v in sizes.values())
        total = [sum(sizes[p][t] ** 2 for p in PARAMETERS) ** 0.5 for t in range(K)]
        assert sizes[ALL] == pytest.approx(total, rel=1e-12)
    # Adam's first step moves every entry by about lr (m̂/√v̂ = ±1): ‖Δθ‖ ≈ lr·√(number of weights)
    count = sum(p.numel() for p in result.torch_params.values())
    assert result.torch_update_sizes[ALL][0] == pytest.approx(SMALL["lr"] * count ** 0.5, rel=1e-3)
    assert result.manual_update_sizes[ALL] == pytest.approx(result.torch_update_sizes[ALL], rel=1e-10)


# ---------------------------------------------------------------- broken variants must fail
def adam_without_bias_correction(p, grad, state, lr, momentum, betas=oi.ADAM_BETAS, eps=oi.ADAM_EPS):
    beta1, beta2 = betas
    if not state:
        state.update(exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
    m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad
    v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad
    p -= lr * m / (v.sqrt() + eps)


def momentum_without_factor(p, grad, state, lr, momentum):
    state["momentum_buffer"] = state["momentum_buffer"] + grad if "momentum_buffer" in state else grad.clone()
    p -= lr * state["momentum_buffer"]


def rmsprop_eps_inside_sqrt(p, grad, state, lr, momentum, alpha=oi.RMSPROP_ALPHA, eps=oi.RMSPROP_EPS):
    v = state["square_avg"] = alpha * state.get("square_avg", torch.zeros_like(p)) + (1 - alpha) * grad * grad
    p -= lr * grad / (v + eps).sqrt()


def adagrad_with_a_running_mean(p, grad, state, lr, momentum, eps=oi.ADAGRAD_EPS):
    state["sum"] = 0.9 * state.get("sum", torch.zeros_like(p)) + grad * grad
    p -= lr * grad / (state["sum"].sqrt() + eps)


def sgd_with_doubled_lr(p, grad, state, lr, momentum):
    p -= 2 * lr * grad


BROKEN = [("adam", 0.0, adam_without_bias_correction), ("sgd_momentum", 0.9, momentum_without_factor),
          ("rmsprop", 0.0, rmsprop_eps_inside_sqrt), ("adagrad", 0.0, adagrad_with_a_running_mean),
          ("sgd", 0.0, sgd_with_doubled_lr)]


@pytest.mark.parametrize("optimizer,momentum,broken", BROKEN, ids=[b[2].__name__ for b in BROKEN])
def test_a_wrong_hand_written_step_fails_the_same_check(monkeypatch, optimizer, momentum, broken):
    monkeypatch.setitem(HAND_WRITTEN, optimizer, broken)
    result = compare_optimizer(config(optimizer, momentum), K)
    assert not result.table["within_tol"].any(), result.table
    assert (result.table["rel_error"] > 1e-10).all()


def test_rmsprop_with_eps_inside_the_root_differs_only_where_eps_matters(monkeypatch):
    """eps inside vs outside the root is a real difference: a check at 1e-10 sees it, a loose one would not."""
    monkeypatch.setitem(HAND_WRITTEN, "rmsprop", rmsprop_eps_inside_sqrt)
    result = compare_optimizer(config("rmsprop"), K)
    assert (result.table["rel_error"] < 1e-2).all()
    assert not result.table["within_tol"].any()


# ---------------------------------------------------------------- k, float32, texts
@pytest.mark.parametrize("k", [0, -1, K_MAX + 1, 2.5, "20", True, None])
def test_k_out_of_range_is_refused_by_name(k):
    with pytest.raises(ValueError, match=r"^k="):
        compare_optimizer(config("sgd"), k)


def test_the_time_limit_stops_both_runs_at_the_same_step():
    big = default_config("optim").with_(n=1024, d_in=2048, hidden=1024, steps=1)
    result = compare_optimizer(big, K_MAX, time_limit_s=0.3)
    assert result.time_limited_at is not None and result.k == result.time_limited_at < K_MAX
    assert len(result.torch_losses) == len(result.manual_losses) == result.k
    check_k(1, default_config("optim"))
    check_k(K_MAX, big)   # how many steps fit in time is the page's business (lib.serve.limits), not a refusal


@pytest.mark.parametrize("optimizer,momentum", CASES)
def test_float32_agrees_within_its_tolerance(optimizer, momentum):
    result = compare_optimizer(config(optimizer, momentum, dtype="float32"), K)
    assert result.torch_params["0.weight"].dtype == torch.float32
    assert (result.table["rel_error"] < 1e-5).all(), result.table
    assert result.table["within_tol"].all()


def test_a_diverging_run_stops_both_sides_and_says_so():
    result = compare_optimizer(config("sgd", lr=10.0), 60)
    assert result.diverged_at is not None and result.k == result.diverged_at < 60
    assert result.notes and "stopped being finite at step" in str(result.notes[0])


def test_every_optimizer_has_a_text_and_a_step():
    assert set(HAND_WRITTEN) == set(OPTIMIZERS)
    for texts in TEXTS.values():
        assert all(f"rule.{name}" in texts and f"optimizer.{name}" in texts for name in OPTIMIZERS)
