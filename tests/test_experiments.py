"""lib.explore.experiments and lib.figures.experiment_plots: the lr sweep, held-out loss on random data, the tutorial's sin(x) fit."""
import math

import pytest
import torch

from lib.tutorial.config import default_config
from lib.figures.experiment_plots import held_out_figure, lr_sweep_figure, polynomial_text, sine_fit_figure
from lib.explore.experiments import (SWEEP_MAX_RUNS, assemble_held_out, best_lr, checkpoints, fit_sine, held_out_plan,
                                     held_out_set, lr_grid, sine_stable_lr, sweep_summary)
from lib.serve import jobs
from lib.tutorial.stages import run_stage

SMALL = dict(n=16, d_in=20, hidden=10, d_out=3, steps=100, dtype="float64")


def lr_sweep(stage, cfg, lrs, progress=lambda message: None):
    """What pages/experiments.py's sweep tab asks the workers for: one training run per lr, everything else as in
    cfg (jobs.train_stage), here one after another."""
    return [(lr, jobs.train_stage(stage, cfg.with_(lr=lr), progress=progress, time_limit_s=None)) for lr in lrs]


def held_out_curve(stage, cfg):
    """What pages/experiments.py's noise tab assembles: the full run, then the held-out loss at each checkpoint of
    its plan (jobs.held_out_point, a run of its own each)."""
    full = jobs.train_stage(stage, cfg, progress=lambda message: None, time_limit_s=None)
    plan = held_out_plan(full)
    points = [jobs.held_out_point(stage, cfg, k, progress=None, time_limit_s=None) for k in plan]
    return assemble_held_out(cfg, full, list(zip(plan, points)))


# ---------------------------------------------------------------- the grid
@pytest.mark.parametrize("low, high, per_decade, count", [(1e-6, 1e-2, 2, 9), (1e-8, 1e-1, 4, 29), (2e-8, 1e-1, 4, 28),
                                                          (1e-4, 1e-4, 3, 1), (1e-5, 2e-5, 1, 2)])
def test_lr_grid_is_log_spaced_and_includes_its_ends(low, high, per_decade, count):
    grid = lr_grid(low, high, per_decade)
    assert len(grid) == count
    assert grid[0] == low and grid[-1] == high
    logs = [math.log10(v) for v in grid]
    gaps = [b - a for a, b in zip(logs, logs[1:])]
    for gap in gaps:
        assert gap == pytest.approx(gaps[0], rel=1e-9)
        assert 0 < gap <= 1 / per_decade + 1e-12


@pytest.mark.parametrize("args", [(1e-2, 1e-4, 2), (0.0, 1e-2, 2), (1e-8, 1e-1, 5), (1e-6, 1e-2, 0), (1e-6, 100.0, 1)])
def test_lr_grid_refuses_bad_ranges(args):
    with pytest.raises(ValueError):
        lr_grid(*args)


def test_the_widest_page_grid_fits_the_run_cap():
    assert len(lr_grid(1e-8, 1e-1, 4)) <= SWEEP_MAX_RUNS


# ---------------------------------------------------------------- the sweep
def test_lr_sweep_draws_the_u_shape():
    cfg = default_config("tensors").with_(**SMALL)
    lrs = [1e-6, 1e-3, 1e-2]
    results = lr_sweep("tensors", cfg, lrs)
    for lr, result in results:   # each run is run_stage at config.with_(lr=lr)
        assert list(result.losses) == run_stage("tensors", cfg.with_(lr=lr)).losses
    summary = sweep_summary(results)
    first = results[0][1].losses[0]
    small, middle, large = summary.to_dict("records")
    assert small["final loss"] > 0.5 * first and pd_na(small["diverged_at"])       # too small: barely moves
    assert middle["final loss"] < 0.01 * first and pd_na(middle["diverged_at"])    # the bottom of the U
    assert large["diverged_at"] == 2                                                # too large: blows up
    assert large["best loss"] == first
    assert best_lr(summary) == 1e-3


def test_each_run_of_a_sweep_reports_its_every_step_at_its_own_lr():
    cfg = default_config("nn_module").with_(**{**SMALL, "steps": 5})
    sent = []
    results = lr_sweep("nn_module", cfg, [1e-4, 1e-3], progress=sent.append)
    assert [(lr, r.config.lr) for lr, r in results] == [(1e-4, 1e-4), (1e-3, 1e-3)]
    steps = [[] for _ in results]
    run = -1
    for kind, first, losses in sent:   # ("steps", first step, its losses and those after it)
        run += first == 0
        steps[run] += [first + i for i in range(len(losses))]
    assert steps == [list(range(5))] * 2


def test_best_lr_is_none_when_every_run_diverged():
    cfg = default_config("tensors").with_(**SMALL)
    assert best_lr(sweep_summary(lr_sweep("tensors", cfg, [1e-1, 1.0]))) is None


def pd_na(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "<NA>"


# ---------------------------------------------------------------- memorising noise
def test_checkpoints_are_sorted_unique_and_span_the_run():
    for steps in (0, 1, 3, 25, 500, 2000):
        points = checkpoints(steps)
        assert points[0] == 0 and points[-1] == steps
        assert points == sorted(set(points)) and len(points) <= 20


@pytest.mark.parametrize("stage", ["tensors", "dynamic_net"])
def test_held_out_evaluation_leaves_training_unchanged(stage):
    cfg = default_config(stage).with_(**{**SMALL, "steps": 30})
    plain = run_stage(stage, cfg)
    curve = held_out_curve(stage, cfg)
    assert curve.train_losses == plain.losses
    # the loss after k updates, re-evaluated, is the one training saw at step k (same parameters, same depth)
    for k, loss in zip(curve.steps, curve.train):
        if k < cfg.steps:
            assert loss == pytest.approx(plain.losses[k], rel=1e-12)
    x_test, y_test = held_out_set(cfg)
    assert x_test.shape == plain.x.shape and y_test.shape == plain.y.shape
    assert not torch.equal(x_test, plain.x)
    assert curve.zero_loss == pytest.approx(y_test.pow(2).sum().item())


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["tensors", "nn_module"])
def test_training_loss_falls_while_held_out_loss_does_not(stage):
    cfg = default_config(stage).with_(steps=200)   # the tutorial's sizes, fewer steps
    curve = held_out_curve(stage, cfg)
    assert curve.diverged_at is None
    assert curve.train[-1] < curve.train[0] / 100
    # nothing carries over from random y: held-out ends no better than half its start (stages 1-3 shrink their
    # huge randn outputs to ~0.54x; stages 4-7 rise) and never beats predicting 0
    assert curve.held_out[-1] > 0.4 * curve.held_out[0]
    assert curve.held_out[-1] > curve.zero_loss
    assert curve.held_out[-1] > 1000 * curve.train[-1]


def test_held_out_curve_stops_before_a_divergence():
    cfg = default_config("tensors").with_(**SMALL).with_(lr=1e-2)
    curve = held_out_curve("tensors", cfg)
    assert curve.diverged_at == 2
    assert curve.steps[-1] == 1
    assert all(math.isfinite(v) for v in curve.held_out + curve.train)


# ---------------------------------------------------------------- sin(x): the current tutorial
def tutorial_sine(seed=0):
    """pytorch.org's polynomial_tensor.py as written, seeded, returning every loss instead of printing some."""
    torch.manual_seed(seed)
    dtype = torch.float
    device = torch.device("cpu")

    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    a = torch.randn((), device=device, dtype=dtype)
    b = torch.randn((), device=device, dtype=dtype)
    c = torch.randn((), device=device, dtype=dtype)
    d = torch.randn((), device=device, dtype=dtype)

    learning_rate = 1e-6
    losses = []
    for t in range(2000):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum().item()
        losses.append(loss)

        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()

        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
    return losses, {"a": a.item(), "b": b.item(), "c": c.item(), "d": d.item()}


def test_fit_sine_is_the_tutorial_exactly():
    losses, coeffs = tutorial_sine()
    fit = fit_sine()
    assert fit.losses == losses
    assert fit.coefficients == coeffs
    assert fit.diverged_at is None
    # the tutorial's known behaviour: from ~1e5 down to ~10, y ≈ 0.06 + 0.84 x - 0.01 x^2 - 0.09 x^3
    assert 1e4 < fit.losses[0] < 1e7 and fit.losses[-1] < 20
    assert abs(coeffs["a"]) < 0.1 and coeffs["b"] == pytest.approx(0.85, abs=0.03)
    assert abs(coeffs["c"]) < 0.05 and coeffs["d"] == pytest.approx(-0.09, abs=0.01)
    fitted = [coeffs["a"] + coeffs["b"] * v + coeffs["c"] * v ** 2 + coeffs["d"] * v ** 3 for v in fit.x]
    assert fit.y_fit == pytest.approx(fitted, abs=1e-5)
    assert len(fit.x) == 2000 and fit.x[0] == pytest.approx(-math.pi) and fit.x[-1] == pytest.approx(math.pi)


def test_fit_sine_reports_every_step_and_other_seeds_differ():
    seen = []
    fit = fit_sine(steps=50, seed=3, on_step=lambda t, loss: seen.append((t, loss)))
    assert seen == list(enumerate(fit.losses)) and len(seen) == 50
    assert fit.losses[0] != fit_sine(steps=1, seed=0).losses[0]


def test_sine_stable_lr_separates_converging_from_diverging():
    limit = sine_stable_lr()
    assert 1e-6 < limit < 1e-5   # the tutorial's 1e-6 is safe, with little room to spare
    assert fit_sine(lr=0.9 * limit).diverged_at is None
    blown = fit_sine(lr=1.1 * limit)
    assert blown.diverged_at is not None
    sine_fit_figure(blown)   # a diverged fit still draws


# ---------------------------------------------------------------- figures
def test_sweep_figure_marks_diverged_runs_at_the_top():
    cfg = default_config("tensors").with_(**SMALL)
    results = lr_sweep("tensors", cfg, [1e-6, 1e-3, 1e-2, 1e-1])
    summary = sweep_summary(results)
    fig = lr_sweep_figure(summary, first_loss=results[0][1].losses[0])
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    crosses = next(t for t in fig.data if t.name == "diverged")
    assert list(crosses.x) == [1e-2, 1e-1]
    assert crosses.marker.symbol == "x" and crosses.marker.color == "#d62728"
    assert list(crosses.hovertext) == ["lr 1.00e-02: diverged at step 2", "lr 1.00e-01: diverged at step 1"]
    top = fig.layout.yaxis.range[1]
    finite = next(t for t in fig.data if t.name == "final loss")
    assert all(math.log10(y) > max(math.log10(v) for v in finite.y) for y in crosses.y)
    assert all(math.log10(y) < top for y in crosses.y)
    assert "diverged" not in [t.name for t in lr_sweep_figure(summary.iloc[:2]).data]


def test_held_out_figure_has_both_curves():
    curve = held_out_curve("nn_module", default_config("nn_module").with_(**{**SMALL, "steps": 20}))
    fig = held_out_figure(curve)
    assert [list(t.y) for t in fig.data][:2] == [curve.train, curve.held_out]
    assert list(fig.data[2].y) == [curve.zero_loss] * 2


def test_polynomial_text_writes_signs_once():
    assert polynomial_text({"a": 0.0586, "b": 0.837, "c": -0.0101, "d": -0.0906}) == \
        "y = 0.0586 + 0.837 x − 0.0101 x² − 0.0906 x³"
