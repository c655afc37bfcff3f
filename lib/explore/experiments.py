"""Experiments across runs: a learning-rate sweep, held-out loss on random data, and the tutorial's sin(x) fit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import torch

from lib.tutorial.config import LR_CAP, TrainConfig, check_int
from lib.tutorial.gradients import forward
from lib.text.messages import Refusal
from lib.tutorial.stages import Recorder, RunSummary, drawn_depth, run_stage

SWEEP_MAX_RUNS = 30       # one sweep trains at most this many times; each run is capped by TrainConfig
HELD_OUT_CHECKPOINTS = 20  # held-out loss is measured after this many (log-spaced) numbers of steps


# ---------------------------------------------------------------- learning-rate sweep
def lr_grid(low: float, high: float, per_decade: int) -> list[float]:
    """Log-spaced learning rates from `low` to `high`, both included, about `per_decade` per factor of 10."""
    if not (0 < low <= high <= LR_CAP) or not (math.isfinite(low) and math.isfinite(high)):
        raise Refusal("refusal.lr_span", low=repr(low), high=repr(high), cap=LR_CAP)
    if isinstance(per_decade, bool) or not isinstance(per_decade, int) or per_decade < 1:
        raise Refusal("refusal.at_least", name="per_decade", value=repr(per_decade), low=1)
    decades = math.log10(high / low)
    intervals = math.ceil(round(decades * per_decade, 9))
    if intervals + 1 > SWEEP_MAX_RUNS:
        raise Refusal("refusal.sweep_too_many", runs=intervals + 1, max_runs=SWEEP_MAX_RUNS)
    if intervals == 0:
        return [float(low)]
    step = decades / intervals
    return [float(low)] + [low * 10 ** (i * step) for i in range(1, intervals)] + [float(high)]


def sweep_summary(results: list[tuple[float, RunSummary]]) -> pd.DataFrame:
    """One row per run of a sweep (a training run per lr of lr_grid, everything else the same; the page runs them
    side by side in the workers): lr, the final and the lowest loss reached, the step it diverged at (or <NA>) and the loss
    that stopped it there (NaN when it did not diverge)."""
    return pd.DataFrame({
        "lr": [lr for lr, _ in results],
        "final loss": [r.final_loss for _, r in results],
        "best loss": [min(r.losses) if r.losses else math.nan for _, r in results],
        "diverged_at": pd.array([r.diverged_at for _, r in results], dtype="Int64"),
        "stop_loss": [math.nan if r.stop_loss is None else r.stop_loss for _, r in results],
    })


def best_lr(summary: pd.DataFrame) -> float | None:
    """The lr whose run ended lowest among those that did not diverge; None if every run diverged."""
    kept = summary[summary["diverged_at"].isna().to_numpy() & summary["final loss"].map(math.isfinite).to_numpy(bool)]
    return None if kept.empty else float(kept.loc[kept["final loss"].idxmin(), "lr"])


# ---------------------------------------------------------------- memorising noise
@dataclass
class HeldOutCurve:
    steps: list[int]            # checkpoints: numbers of updates done, from 0 to the run's last recorded step
    train: list[float]          # loss on the training (x, y) at each checkpoint: the run's own loss there
    held_out: list[float]       # loss on a second random (x_test, y_test) of the same size at each checkpoint
    train_losses: list[float]   # the training run's own loss at every step, exactly as run_stage gives it
    diverged_at: int | None
    zero_loss: float            # held-out loss of predicting 0 everywhere: sum(y_test ** 2)


def checkpoints(steps: int, count: int = HELD_OUT_CHECKPOINTS) -> list[int]:
    """About `count` whole numbers from 0 to `steps`, log-spaced (dense early, where the loss moves most)."""
    points = {0, steps}
    for i in range(count - 1):
        points.add(round(math.expm1(math.log1p(steps) * i / (count - 2))) if count > 2 else 0)
    return sorted(p for p in points if 0 <= p <= steps)


def held_out_set(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_test, y_test), shaped like the training data, from a generator of their own (seed + 1).

    A separate torch.Generator leaves the global one alone, so training draws exactly what it would without it.
    """
    gen = torch.Generator().manual_seed(config.seed + 1)
    x_test = torch.randn(config.n, config.d_in, generator=gen, dtype=config.torch_dtype)   # (N, D_IN)
    y_test = torch.randn(config.n, config.d_out, generator=gen, dtype=config.torch_dtype)  # (N, D_OUT)
    return x_test, y_test


def _loss(stage: str, config: TrainConfig, params: dict, x: torch.Tensor, y: torch.Tensor, step: int) -> float:
    # DynamicNet's forward at `step` runs middle_linear as many times as training's forward at that step did
    depth = drawn_depth(config.seed, step) if stage == "dynamic_net" else 0
    with torch.no_grad():
        return (forward(stage, config, params, x, depth=depth) - y).pow(2).sum().item()


def held_out_loss(stage: str, config: TrainConfig, k: int, time_limit_s: float | None = None) -> float:
    """The loss on the held-out data at the parameters reached after k updates (run_stage with stop_at=k).

    A run of its own, so the checkpoints of one curve can run side by side in the workers.
    """
    run = run_stage(stage, config, stop_at=k, time_limit_s=time_limit_s)
    if run.time_limited_at is not None and run.time_limited_at < k:
        raise TimeoutError(f"the server's time limit stopped the run after {run.time_limited_at} of {k} steps")
    x_test, y_test = held_out_set(config)
    return _loss(stage, config, run.params, x_test, y_test, k)


def held_out_plan(full) -> list[int]:
    """The checkpoints of a curve whose full run is `full`: up to its last recorded step (finite parameters)."""
    last = len(full.losses) - 1
    return checkpoints(last) if last >= 0 else []


def assemble_held_out(config: TrainConfig, full, points: list[tuple[int, float]]) -> HeldOutCurve:
    """The curve from its full run and its checkpoints' (k, held-out loss).

    The training loss at checkpoint k is the full run's own loss at step k (computed at those same parameters,
    before step k's update), so the last checkpoint shows the stage page's final loss exactly.
    """
    _, y_test = held_out_set(config)
    return HeldOutCurve(steps=[k for k, _ in points], train=[full.losses[k] for k, _ in points],
                        held_out=[loss for _, loss in points], train_losses=list(full.losses),
                        diverged_at=full.diverged_at, zero_loss=y_test.pow(2).sum().item())


# ---------------------------------------------------------------- the current tutorial: sin(x) by a cubic
SINE_POINTS = 2000   # torch.linspace(-math.pi, math.pi, 2000)


@dataclass
class SineFit:
    losses: list[float]              # summed squared error at every step
    coefficients: dict[str, float]   # a, b, c, d of y = a + b x + c x^2 + d x^3
    x: list[float]                   # the 2000 points in [-pi, pi]
    y_fit: list[float]               # the polynomial at x after training
    diverged_at: int | None
    divergence_reason: str | None   # a message code (lib.tutorial.stages.Recorder)
    stop_loss: float | None = None  # the loss that stopped the fit
    time_limited_at: int | None = None  # the step the server's time limit stopped the fit before


def fit_sine(steps: int = 2000, lr: float = 1e-6, seed: int = 0,
             on_step: Callable[[int, float], None] | None = None, time_limit_s: float | None = None) -> SineFit:
    """pytorch.org's current first example: fit sin(x) with a cubic, raw tensors and hand-written gradients."""
    check_int("steps", steps, 1, 20000)
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= LR_CAP):
        raise Refusal("refusal.lr_range", name="lr", value=repr(lr), high=LR_CAP)
    record = Recorder(on_step, time_limit_s=time_limit_s)
    dtype = torch.float
    torch.manual_seed(seed)   # the tutorial draws from torch's global generator: one fit at a time per process

    x = torch.linspace(-math.pi, math.pi, SINE_POINTS, dtype=dtype)   # (2000,)
    y = torch.sin(x)

    a = torch.randn((), dtype=dtype)
    b = torch.randn((), dtype=dtype)
    c = torch.randn((), dtype=dtype)
    d = torch.randn((), dtype=dtype)

    learning_rate = lr
    for t in range(steps):
        # Forward pass: compute predicted y
        y_pred = a + b * x + c * x ** 2 + d * x ** 3

        loss = (y_pred - y).pow(2).sum().item()
        if record(t, loss):
            break

        # Backprop to compute gradients of a, b, c, d with respect to loss
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a = grad_y_pred.sum()
        grad_b = (grad_y_pred * x).sum()
        grad_c = (grad_y_pred * x ** 2).sum()
        grad_d = (grad_y_pred * x ** 3).sum()

        # Update weights using gradient descent
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d

    y_fit = a + b * x + c * x ** 2 + d * x ** 3
    return SineFit(losses=record.losses, coefficients={"a": a.item(), "b": b.item(), "c": c.item(), "d": d.item()},
                   x=x.tolist(), y_fit=y_fit.tolist(), diverged_at=record.diverged_at,
                   divergence_reason=record.divergence_reason, stop_loss=record.stop_loss,
                   time_limited_at=record.time_limited_at)


def sine_stable_lr() -> float:
    """The largest lr at which gradient descent on the sin(x) fit does not blow up: 2 / the loss's top curvature."""
    x = torch.linspace(-math.pi, math.pi, SINE_POINTS, dtype=torch.float64)
    features = torch.stack([torch.ones_like(x), x, x ** 2, x ** 3], dim=1)   # (2000, 4)
    hessian = 2 * features.t().mm(features)                                  # (4, 4), constant for a quadratic loss
    return 2 / torch.linalg.eigvalsh(hessian).max().item()
