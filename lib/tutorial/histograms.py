"""Weights and gradients over time (W&B's `watch` view): a histogram of every parameter and of its gradient at a
few steps of a stage's run, with the stage's own seed, so the numbers are those of the run the page shows."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import manual_raw
from lib.tutorial.graph import stage_loss
from lib.text.messages import Refusal
from lib.tutorial.stages import drawn_depth, run_stage

BINS = 30          # bins per histogram
STEPS_SHOWN = 5    # steps a page shows, spread over the run


@dataclass
class Histogram:
    counts: list[int]        # entries per bin
    edges: list[float]       # len(counts) + 1 bin edges, from the finite entries' min to max
    nonfinite: int = 0       # inf or NaN entries, in no bin
    low: float = 0.0         # the smallest finite entry
    high: float = 0.0        # the largest finite entry

    @property
    def size(self) -> int:
        return sum(self.counts) + self.nonfinite

    @property
    def largest_abs(self) -> float:
        return max(abs(self.low), abs(self.high))


@dataclass
class ParameterHistory:
    stage: str
    config: TrainConfig
    steps: list[int]                                  # the steps reached, in order
    weights: dict[str, list[Histogram]]               # parameter -> one histogram per step (its value at the step)
    gradients: dict[str, list[Histogram]]             # parameter -> one histogram per step (the step's gradient)
    depths: list[int] = field(default_factory=list)   # dynamic_net: middle_linear's uses at each step
    time_limited_at: int | None = None                # the first chosen step the time limit left out


def spread_steps(ran: int, count: int = STEPS_SHOWN) -> list[int]:
    """`count` steps spread evenly over a run of `ran` steps, its first and last included."""
    if ran < 1:
        return []
    if ran <= count:
        return list(range(ran))
    return sorted({round(i * (ran - 1) / (count - 1)) for i in range(count)})


def histogram(tensor: torch.Tensor, bins: int = BINS) -> Histogram:
    """Counts over `bins` equal bins from the tensor's smallest to its largest finite entry."""
    values = tensor.detach().double().flatten()
    finite = values[torch.isfinite(values)]
    nonfinite = values.numel() - finite.numel()
    if finite.numel() == 0:
        return Histogram(counts=[0] * bins, edges=[0.0] * (bins + 1), nonfinite=nonfinite)
    low, high = finite.min().item(), finite.max().item()
    if low == high:   # one value: one bin around it
        low, high = low - 0.5, high + 0.5
    counts = torch.histc(finite, bins=bins, min=low, max=high)
    edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)
    return Histogram(counts=[int(c) for c in counts.tolist()], edges=edges.tolist(), nonfinite=nonfinite,
                     low=finite.min().item(), high=finite.max().item())


def step_gradients(stage: str, config: TrainConfig, params: dict, x, y, depth: int, broken_relu: bool) -> dict:
    """The gradient the stage computes at `params`: stage 1's hand-written backward, else autograd's through
    the stage's own loss (MyReLU, broken or not; nn modules; DynamicNet at `depth`)."""
    if stage == "tensors":
        return manual_raw(params, x, y)
    leaves = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
    loss = stage_loss(stage, config, leaves, x, y, depth, broken_relu)
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return {name: torch.zeros_like(leaves[name]) if g is None else g for name, g in zip(leaves, grads)}


def parameter_history(stage: str, config: TrainConfig, steps: list[int], broken_relu: bool = False,
                      time_limit_s: float | None = None) -> ParameterHistory:
    """Histograms of every parameter and its gradient at each of `steps` (parameters after that many updates).

    Each step replays the run from its seed (run_stage with stop_at), so a step's numbers are exactly the run's.
    The time limit ends it early; the steps done so far are kept.
    """
    def replay(step: int, left: float | None):
        run = run_stage(stage, config, broken_relu=broken_relu, stop_at=step, time_limit_s=left)
        depth = drawn_depth(config.seed, step) if stage == "dynamic_net" else None
        return run, lambda: step_gradients(stage, config, run.params, run.x, run.y, depth or 0, broken_relu), depth
    return replayed_history(stage, config, steps, replay, time_limit_s)


def replayed_history(stage: str, config, steps: list[int], replay, time_limit_s: float | None) -> ParameterHistory:
    """The histograms at `steps`; `replay(step, seconds_left)` gives the run stopped at `step`, a function that
    computes its gradients, and the depth it used (dynamic_net; else None)."""
    if not steps or any(isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < config.steps for s in steps):
        raise Refusal("refusal.int_range", name="step", value=repr(steps), low=0, high=config.steps - 1)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    history = ParameterHistory(stage=stage, config=config, steps=[], weights={}, gradients={})
    for step in sorted(set(steps)):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0:
            history.time_limited_at = step
            break
        run, gradients, depth = replay(step, left)
        if run.time_limited_at is not None and run.time_limited_at < step:
            history.time_limited_at = step
            break
        if run.diverged_at is not None and run.diverged_at < step:
            break   # the run stopped before this step: nothing to show there
        grads = gradients()
        history.steps.append(step)
        if depth is not None:
            history.depths.append(depth)
        for name, value in run.params.items():
            history.weights.setdefault(name, []).append(histogram(value))
            history.gradients.setdefault(name, []).append(histogram(grads[name]))
    return history
