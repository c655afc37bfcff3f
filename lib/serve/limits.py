"""How long a run will take on this server, and so how many steps the sliders may offer.

Every run is stopped at the server's time limit (lib.serve.workers) whatever this says; this model only keeps the
controls honest: a value the sliders offer is one the server will finish. A step costs its multiply-adds at
the speed this server measured (`calibrate`, run once in a worker when the pool starts) plus the stage's own
Python and dispatch overhead per step, also measured here; bench/caps.py checks the estimate against real runs
at the corners (thin inputs with wide hidden layers included). The cost of a step is lib.tutorial.cost's, the
same model a network built from menus plans with.
"""
from __future__ import annotations

import random
import time

import torch

from lib.tutorial.cost import Speed, init_seconds, step_seconds, steps_within

# The sliders plan a run to take at most this share of the server's time limit: a class of 30 shares a few
# cores, so one student's run must leave room for the others (and for a busy machine's slower steps).
PLAN_SHARE = 0.2
CALIBRATION_STEPS = 40


def stage_macs(stage: str, n: int, d_in: int, hidden: int, d_out: int, uses: int = 0) -> float:
    """Multiply-adds of one training step: forward and backward are ~3 passes of every matmul.

    DynamicNet's `middle_linear` (H×H) counts once per use in that step's forward.
    """
    per_pass = n * (d_in * hidden + hidden * d_out)
    if stage == "dynamic_net":
        per_pass += uses * n * hidden * hidden
    return 3.0 * per_pass


def parameter_count(stage: str, d_in: int, hidden: int, d_out: int) -> int:
    count = d_in * hidden + hidden * d_out
    if stage == "dynamic_net":
        count += hidden * hidden
    return count


def depth_draws(seed: int, steps: int) -> list[int]:
    """The number of middle_linear uses DynamicNet draws at each step of a run seeded with `seed`."""
    rng = random.Random(seed)
    return [rng.randint(0, 3) for _ in range(steps)]


def _step_s(speed: Speed, stage: str, n: int, d_in: int, hidden: int, d_out: int, dtype: str) -> float:
    """One step of the stage, uses of DynamicNet's middle_linear aside: (N, D_IN) @ W1, (N, H) @ W2."""
    return step_seconds(speed, n, [(d_in, hidden), (hidden, d_out)], hidden,
                        parameter_count(stage, d_in, hidden, d_out), dtype, speed.step_overhead_s[stage])


def _use_s(speed: Speed, n: int, hidden: int, dtype: str) -> float:
    """One more use of DynamicNet's middle_linear in a forward: its (N, H) @ (H, H) and its activation."""
    return step_seconds(speed, n, [(hidden, hidden)], hidden, 0, dtype)


def run_seconds(speed: Speed, stage: str, n: int, d_in: int, hidden: int, d_out: int, steps: int,
                dtype: str = "float32", seed: int = 0) -> float:
    """Estimated wall-clock seconds of one run (`steps` steps) on this server."""
    fixed = init_seconds(speed, parameter_count(stage, d_in, hidden, d_out))
    uses = sum(depth_draws(seed, steps)) if stage == "dynamic_net" else 0
    return (fixed + steps * _step_s(speed, stage, n, d_in, hidden, d_out, dtype)
            + uses * _use_s(speed, n, hidden, dtype))


def max_steps(speed: Speed, budget_s: float, stage: str, n: int, d_in: int, hidden: int, d_out: int,
              dtype: str = "float32", seed: int = 0, cap: int = 2000) -> int:
    """The most steps (1 to `cap`) whose estimated run fits `budget_s`; at least 1."""
    fixed = init_seconds(speed, parameter_count(stage, d_in, hidden, d_out))
    per_step = _step_s(speed, stage, n, d_in, hidden, d_out, dtype)
    if stage != "dynamic_net":
        return steps_within(budget_s, fixed, per_step, cap)
    per_use = _use_s(speed, n, hidden, dtype)
    spent, steps = fixed, 0
    for uses in depth_draws(seed, cap):
        spent += per_step + uses * per_use
        if spent > budget_s:
            break
        steps += 1
    return max(1, steps)


# ---------------------------------------------------------------- measuring this server (runs in a worker)
def _rate(dtype: torch.dtype, n: int, k: int, m: int, repeats: int) -> float:
    a, b = torch.randn(n, k, dtype=dtype), torch.randn(k, m, dtype=dtype)
    a.mm(b)   # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        a.mm(b)
    return repeats * n * k * m / (time.perf_counter() - start)


def calibrate() -> Speed:
    """Measure this machine (about 0.3 s): matmul speed at the tutorial's shapes, each stage's tiny-run step."""
    from lib.tutorial.config import STAGE_NAMES, default_config
    from lib.tutorial.stages import run_stage
    rates = {}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        # the tutorial's own shapes (64×1000 @ 1000×100): small matmuls run below peak, so this is conservative
        rates[name] = max(_rate(dtype, 64, 1000, 100, 20) for _ in range(2))
    overhead = {}
    for stage in STAGE_NAMES:
        cfg = default_config(stage).with_(n=1, d_in=1, hidden=1, d_out=1, steps=CALIBRATION_STEPS, dtype="float64")
        best = min(run_stage(stage, cfg).elapsed_s for _ in range(2))
        overhead[stage] = best / CALIBRATION_STEPS
    start = time.perf_counter()
    layer = torch.nn.Linear(1000, 300).to(torch.float64)   # 300,300 weights drawn and converted
    init = (time.perf_counter() - start) / layer.weight.numel()
    # a thin input and a wide hidden layer: almost no matmul work, all elementwise (float64, the costlier)
    thin = default_config("tensors").with_(n=512, d_in=1, hidden=512, d_out=1, steps=10, dtype="float64")
    per_step = min(run_stage("tensors", thin).elapsed_s for _ in range(2)) / thin.steps
    matmuls = stage_macs("tensors", 512, 1, 512, 1) / rates["float64"] + overhead["tensors"]
    element = max(per_step - matmuls, 0.0) / (512 * 512)
    return Speed(macs_per_s=rates, step_overhead_s=overhead, init_s_per_param=init, element_s=element)
