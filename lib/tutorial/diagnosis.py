"""Whether a run stalled (kept most of its loss without diverging) and why, from its losses and config alone; and
what besides lr made a run diverge.

A page shows it as it shows a divergence (ui.results.stall_message): a code of locales/*/links.toml and its values.
The thresholds are measured on the tutorial's network (tests/test_link_values.py): its own runs end below 1e-5 of
their first loss; stage 5 with Adam at lr 1e-1 jumps to ~450x its first loss at step 1, then stays at ~0.95 of it.
Stage 7 (DynamicNet, SGD with momentum 0.9) does not stall at a large lr: it diverges, from lr 7e-4 on (5e-4 trains),
where plain SGD still trains at 2e-3: momentum is the reason its divergence message gives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lib.tutorial.config import TrainConfig

MIN_STEPS = 20         # fewer steps say nothing about a trend
KEPT = 0.5             # a stalled run ends with at least half its first loss
TAIL = 0.25            # the part of the run looked at: its last quarter
TAIL_PROGRESS = 0.1    # ... where the loss fell by less than a tenth
JUMP = 10.0            # a loss above 10x the first, before the tail: the first updates overshot
# optimizers whose first update moves each weight by about lr (RMSprop: about 10 lr) whatever its gradient's size
SIZE_FREE = ("adam", "adagrad", "rmsprop")
# SGD's momentum from which a divergence names it: its steps build up to 1/(1 - momentum) = 2x lr's and more
MOMENTUM_CAUSE = 0.5
# stage 7 at the tutorial's settings (seed 0), measured (tests/test_link_values.py): with momentum 0.9 it diverges
# from this lr on, and with momentum 0 (plain SGD) it still trains at PLAIN_SGD_TRAINS. 6e-4 is the edge: on a CPU with
# AVX-512 it trains with one torch thread (as the workers run) and diverges at step 62 with two; 7e-4 diverges at
# step 40 with either, on both machines measured
MOMENTUM_DIVERGES = 7e-4
PLAIN_SGD_TRAINS = 2e-3


@dataclass(frozen=True)
class Stall:
    code: str               # "stall.jumped_size_free", "stall.jumped", "stall.slow" or "stall.flat"
    tail_start: int         # the first step of the part looked at
    before: float           # the loss there
    after: float            # the last loss
    kept: float             # last / first loss
    peak_step: int | None   # a jump: the step of the highest loss before the tail, else None
    peak_ratio: float | None   # its loss / the first loss


def diagnose_stall(losses, config: TrainConfig, uses_optimizer: bool = True, diverged: bool = False
                   ) -> Stall | None:
    """A stall, or None: the run did not diverge, ended with at least KEPT of its first loss, and in its last TAIL
    of steps the loss never got TAIL_PROGRESS below where that part began.

    Why: an earlier loss above JUMP times the first means the updates overshot ("stall.jumped_size_free" for
    Adam, Adagrad, RMSprop, whose first step is about lr per weight; "stall.jumped" otherwise); else a loss still
    falling at the end is an lr too small for the steps ("stall.slow"); else "stall.flat". `uses_optimizer`: False
    for the stages that update by hand (plain gradient descent, whatever config.optimizer says).
    """
    losses = list(losses)
    if diverged or len(losses) < MIN_STEPS or not all(math.isfinite(loss) for loss in losses):
        return None
    first, last = losses[0], losses[-1]
    if first <= 0 or last < KEPT * first:
        return None
    start = int(len(losses) * (1 - TAIL))
    before = losses[start]
    if min(losses[start:]) < (1 - TAIL_PROGRESS) * before:
        return None
    peak_step = max(range(1, start), key=lambda step: losses[step])
    peak_ratio = losses[peak_step] / first
    if peak_ratio > JUMP:
        size_free = uses_optimizer and config.optimizer in SIZE_FREE
        code = "stall.jumped_size_free" if size_free else "stall.jumped"
    else:
        peak_step = peak_ratio = None
        code = "stall.slow" if last < before else "stall.flat"
    return Stall(code, start, before, last, last / first, peak_step, peak_ratio)


def divergence_cause(config: TrainConfig, uses_optimizer: bool = True) -> str | None:
    """What besides the lr made a run diverge, as a code of locales/*/links.toml: "divergence.momentum" for SGD with
    a momentum of MOMENTUM_CAUSE or more (its steps build up while the gradient keeps its direction); else None.
    `uses_optimizer`: False for the stages that update by hand."""
    if uses_optimizer and config.optimizer == "sgd_momentum" and config.momentum >= MOMENTUM_CAUSE:
        return "divergence.momentum"
    return None
