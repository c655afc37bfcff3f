"""What a training step costs on this server: its multiply-adds, its elementwise work and its per-step overhead
at the speed the server measured (lib.serve.limits.calibrate). The one model both the stages' sliders
(lib.serve.limits) and a network built from menus (lib.explore.own_network) plan their runs with."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Speed:
    """What this server measured: multiply-adds per second by dtype, and seconds per step of a tiny run."""
    macs_per_s: dict[str, float]          # {"float32": ..., "float64": ...}
    step_overhead_s: dict[str, float]     # by stage: a step's time at N = D_IN = H = D_OUT = 1
    init_s_per_param: float               # drawing and converting one weight (a run's fixed cost)
    element_s: float = 0.0                # a step's elementwise work per entry of an (N, H) activation (ReLU, its
                                          # mask, the copies), and per weight for an optimizer's update


# an optimizer's update touches every weight a few times (Adam: moments, square root, division); in units of
# element_s (bench/caps.py: Adam at H=1024 costs about two activation entries per weight)
UPDATE_ELEMENTS = 2.0


def step_seconds(speed: Speed, n: int, matmuls: list[tuple[int, int]], activations: int, weights: int, dtype: str,
                 overhead_s: float = 0.0) -> float:
    """Seconds of one training step: each (a, b) in `matmuls` is an (N, a) @ (a, b) product of the forward,
    ~3 passes with the backward; `activations` entries per sample and an update of each of `weights` at the
    elementwise cost; plus the step's Python and dispatch `overhead_s`."""
    macs = 3.0 * n * sum(a * b for a, b in matmuls)
    elements = n * activations + UPDATE_ELEMENTS * weights
    return macs / speed.macs_per_s[dtype] + elements * speed.element_s + overhead_s


def init_seconds(speed: Speed, weights: int) -> float:
    """A run's fixed cost: drawing and converting its `weights`."""
    return speed.init_s_per_param * weights


def steps_within(budget_s: float, fixed_s: float, per_step_s: float, cap: int) -> int:
    """The most steps (1 to `cap`) of `per_step_s` each that fit `budget_s` after `fixed_s`; at least 1."""
    return max(1, min(cap, math.floor((budget_s - fixed_s) / per_step_s)))
