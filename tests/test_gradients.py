"""lib.tutorial.gradients: hand-written gradients against autograd and finite differences, and broken variants that must fail."""
import math

import pytest
import torch

import lib.tutorial.gradients
from lib.tutorial.config import STAGE_NAMES, default_config
from lib.tutorial.gradients import COLUMNS, autograd_grads, gradient_comparison, manual_grads, relu_ties
from lib.tutorial.stages import run_stage

SMALL_F64 = dict(n=8, d_in=10, hidden=6, d_out=3, steps=10, lr=1e-3, dtype="float64")
SMALL_F32 = dict(n=16, d_in=40, hidden=20, d_out=5, steps=10, lr=1e-4, dtype="float32")


def config(stage, sizes=SMALL_F64, **changes):
    return default_config(stage).with_(**{**sizes, **changes})


# (stage, depth): dynamic_net at every depth its forward can draw, the others once
STAGE_DEPTHS = [(stage, None) for stage in STAGE_NAMES if stage != "dynamic_net"] + \
    [("dynamic_net", depth) for depth in range(4)]


def expected_parameters(stage, cfg, depth):
    if stage in ("tensors", "autograd", "custom_function"):
        return ["w1", "w2"]
    if stage in ("nn_module", "optim"):
        return ["0.weight", "0.bias", "2.weight", "2.bias"]
    if stage == "custom_module":
        return ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
    uses = lambda kind: [f"middle_linear.{kind} (use {k} of {depth})" for k in range(1, depth + 1)]  # noqa: E731
    return ["input_linear.weight", "input_linear.bias", "middle_linear.weight", *uses("weight"),
            "middle_linear.bias", *uses("bias"), "output_linear.weight", "output_linear.bias"]


# ---------------------------------------------------------------- correct gradients agree
@pytest.mark.parametrize("step", [0, 5])
@pytest.mark.parametrize("stage,depth", STAGE_DEPTHS)
def test_hand_written_gradients_equal_autograd_in_float64(stage, depth, step):
    cfg = config(stage)
    table = gradient_comparison(stage, cfg, step=step, depth=depth).table

    assert list(table.columns) == COLUMNS
    assert list(table["parameter"]) == expected_parameters(stage, cfg, depth)
    assert (table["rel_error"] < 1e-10).all(), table[["parameter", "rel_error"]]
    assert table["within_tol"].all()
    assert (table["cosine"] > 1 - 1e-10).all()
    fd = table["fd_rel_error_step0"].dropna()
    assert len(fd) == len(expected_parameters(stage, cfg, 0))   # one finite-difference check per parameter
    assert (fd < 1e-6).all(), table[["parameter", "fd_rel_error_step0"]]
    unused = table["parameter"].str.startswith("middle_linear") & (depth == 0)
    assert (table.loc[unused, ["manual_norm", "autograd_norm"]] == 0).all().all()
    assert (table.loc[~unused, "manual_norm"] > 0).all(), "a zero gradient would compare equal to anything"


@pytest.mark.parametrize("step", [0, 5])
@pytest.mark.parametrize("stage,depth", STAGE_DEPTHS)
def test_hand_written_gradients_equal_autograd_in_float32(stage, depth, step):
    table = gradient_comparison(stage, config(stage, SMALL_F32), step=step, depth=depth).table
    assert (table["rel_error"] < 1e-5).all(), table[["parameter", "rel_error"]]
    assert table["within_tol"].all()


def test_gradients_at_a_later_step_are_those_of_the_trained_parameters():
    cfg = config("tensors")
    first, later = (gradient_comparison("tensors", cfg, step=s) for s in (0, 5))
    assert later.step == 5
    assert not torch.equal(first.manual["w1"], later.manual["w1"])
    assert later.table["manual_norm"].iloc[0] < first.table["manual_norm"].iloc[0]   # training shrinks it


# ---------------------------------------------------------------- broken variants must fail the same checks
def test_broken_my_relu_is_caught_on_w1_only():
    cfg = config("custom_function")
    broken = gradient_comparison("custom_function", cfg, broken_relu=True)
    correct = gradient_comparison("custom_function", cfg)
    rows = broken.table.set_index("parameter")

    assert not rows.loc["w1", "within_tol"]
    assert rows.loc["w1", "rel_error"] > 1e-3
    assert rows.loc["w1", "fd_rel_error_step0"] > 1e-3          # finite differences disagree with it too
    assert rows.loc["w2", "within_tol"]                      # w2's gradient never goes back through the ReLU
    assert rows.loc["w2", "rel_error"] < 1e-10
    assert broken.gradcheck_passed is False
    assert correct.gradcheck_passed is True
    assert correct.table["within_tol"].all()


def _manual_raw_without_relu_mask(p, x, y):
    w1, w2 = p["w1"], p["w2"]
    h_relu = x.mm(w1).clamp(min=0)
    grad_y_pred = 2.0 * (h_relu.mm(w2) - y)
    return {"w1": x.t().mm(grad_y_pred.mm(w2.t())), "w2": h_relu.t().mm(grad_y_pred)}


@pytest.mark.parametrize("stage", ["tensors", "autograd", "custom_function"])
def test_a_hand_written_backward_without_the_relu_mask_fails(stage, monkeypatch):
    monkeypatch.setattr(lib.tutorial.gradients, "manual_raw", _manual_raw_without_relu_mask)
    rows = gradient_comparison(stage, config(stage)).table.set_index("parameter")
    assert not rows.loc["w1", "within_tol"]
    assert rows.loc["w1", "rel_error"] > 1e-3
    assert rows.loc["w2", "within_tol"]


# ---------------------------------------------------------------- weight sharing in dynamic_net
def _per_use(comparison, kind):
    return [comparison.manual[name] for name in comparison.manual if name.startswith(f"middle_linear.{kind} (use")], \
        [comparison.autograd[name] for name in comparison.autograd if name.startswith(f"middle_linear.{kind} (use")]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_shared_layer_gradient_is_the_sum_of_its_uses(depth):
    comparison = gradient_comparison("dynamic_net", config("dynamic_net"), depth=depth)
    assert comparison.depth == depth
    for kind in ("weight", "bias"):
        manual_uses, autograd_uses = _per_use(comparison, kind)
        assert len(manual_uses) == len(autograd_uses) == depth
        total = comparison.manual[f"middle_linear.{kind}"]
        assert torch.allclose(sum(manual_uses), total, rtol=1e-12, atol=0)
        # autograd's total and its per-use copies are computed independently of each other
        assert torch.allclose(sum(autograd_uses), comparison.autograd[f"middle_linear.{kind}"], rtol=1e-10, atol=1e-12)
        if depth > 1:   # the uses really differ, so forgetting one would show
            assert not torch.allclose(manual_uses[-1], total, rtol=1e-3)


def test_a_shared_layer_gradient_from_its_last_use_only_fails(monkeypatch):
    manual_dynamic = lib.tutorial.gradients.manual_dynamic

    def last_use_only(p, x, y, depth):
        grads, per_use = manual_dynamic(p, x, y, depth)
        for kind in ("weight", "bias"):
            grads[f"middle_linear.{kind}"] = per_use[f"middle_linear.{kind} (use {depth} of {depth})"]
        return grads, per_use

    monkeypatch.setattr(lib.tutorial.gradients, "manual_dynamic", last_use_only)
    rows = gradient_comparison("dynamic_net", config("dynamic_net"), depth=3).table.set_index("parameter")
    assert not rows.loc["middle_linear.weight", "within_tol"]
    assert not rows.loc["middle_linear.bias", "within_tol"]
    assert rows.loc["input_linear.weight", "within_tol"]


def test_dynamic_net_compares_at_the_depth_its_step_drew():
    cfg = config("dynamic_net")
    trained = run_stage("dynamic_net", cfg).depths
    for step in (0, 3):
        assert gradient_comparison("dynamic_net", cfg, step=step).depth == trained[step]


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize("step", [-1, SMALL_F64["steps"], 100, 1.5, True, "0"])
def test_a_step_out_of_range_is_refused(step):
    with pytest.raises(ValueError, match=r"\bstep\b"):
        gradient_comparison("tensors", config("tensors"), step=step)


def test_fd_column_is_nan_only_on_per_use_rows():
    table = gradient_comparison("dynamic_net", config("dynamic_net"), depth=2).table
    per_use = table["parameter"].str.contains("(use", regex=False)
    assert table.loc[per_use, "fd_rel_error_step0"].map(math.isnan).all()
    assert not table.loc[~per_use, "fd_rel_error_step0"].map(math.isnan).any()


def test_relu_at_exactly_zero_is_a_convention_and_is_reported():
    """A hidden unit whose weights are all zero has h == 0 exactly: the tutorial's backward passes the
    gradient there and PyTorch's clamp does not, so the tables differ and relu_ties says why."""
    cfg = config("autograd")
    run = run_stage("autograd", cfg, stop_at=0)
    params = {k: v.clone() for k, v in run.params.items()}
    assert relu_ties("autograd", params, run.x) == 0
    params["w1"][:, 0] = 0.0                                  # hidden unit 0: h[:, 0] == 0 for every row
    assert relu_ties("autograd", params, run.x) == cfg.n
    manual, _ = manual_grads("autograd", params, run.x, run.y)
    auto = autograd_grads("autograd", cfg, params, run.x, run.y)
    assert torch.count_nonzero(auto["w1"][:, 0]) == 0
    assert torch.count_nonzero(manual["w1"][:, 0]) > 0
    assert torch.allclose(manual["w1"][:, 1:], auto["w1"][:, 1:], rtol=1e-10, atol=1e-12)
