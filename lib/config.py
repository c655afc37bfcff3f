"""Hyperparameters of the tutorial's two-layer network, their validation, and each stage's own defaults."""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch

from lib.optimizers import OPTIMIZERS

# The tutorial's stages in its order; lib.stages holds their code and texts.
STAGE_NAMES = ("tensors", "autograd", "custom_function", "nn_module", "optim", "custom_module", "dynamic_net")

DTYPES = {"float32": torch.float32, "float64": torch.float64}

# Upper caps keep one run on a shared 2-core classroom server short (see bench/stages.py for timings):
# at every cap together a run would still be slow, so WORK_CAP bounds the product that sets the cost.
SIZE_CAPS = {"n": 4096, "d_in": 4096, "hidden": 2048, "d_out": 1024}
STEPS_CAP = 5000
SEED_CAP = 2**31 - 1
LR_CAP = 10.0
# multiply-adds of a whole run, about steps * n * (d_in*hidden + hidden*d_out) * 3 (forward + backward);
# 2e11 is roughly 2 s of float32 matmul on these 2 cores, and about 300x the tutorial's own run.
WORK_CAP = 2e11


@dataclass(frozen=True)
class TrainConfig:
    n: int = 64                  # batch size N: rows of random x and y
    d_in: int = 1000             # input dimension D_IN
    hidden: int = 100            # hidden dimension H
    d_out: int = 10              # output dimension D_OUT
    lr: float = 1e-6             # learning rate; the summed MSE makes the safe value shrink as N grows
    optimizer: str = "sgd"       # a key of lib.optimizers.OPTIMIZERS; the raw-tensor stages update by hand
    momentum: float = 0.0        # used by the optimizers that take momentum (SGD with momentum, RMSprop)
    steps: int = 500             # training steps (the tutorial's `for t in range(500)`)
    seed: int = 0                # torch.manual_seed and random.seed before anything is drawn
    dtype: str = "float32"       # "float32" (the tutorial) or "float64" (for exact gradient checks)

    def __post_init__(self):
        for name, cap in SIZE_CAPS.items():
            _check_int(name, getattr(self, name), 1, cap)
        _check_int("steps", self.steps, 1, STEPS_CAP)
        _check_int("seed", self.seed, 0, SEED_CAP)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) \
                or not 0 < self.lr <= LR_CAP:
            raise ValueError(f"lr={self.lr!r} is out of range: it must be a finite number with 0 < lr <= {LR_CAP}")
        if isinstance(self.momentum, bool) or not isinstance(self.momentum, (int, float)) \
                or not math.isfinite(self.momentum) or not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum!r} is out of range: it must be a number with 0 <= momentum < 1")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} is not allowed: choose one of {', '.join(OPTIMIZERS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r} is not allowed: choose one of {', '.join(DTYPES)}")
        work = self.steps * self.n * (self.d_in * self.hidden + self.hidden * self.d_out) * 3
        if work > WORK_CAP:
            raise ValueError(
                f"steps x n x (d_in x hidden + hidden x d_out) is too large for a shared server "
                f"({work:.2g} multiply-adds, cap {WORK_CAP:.0e}): lower steps, n, d_in or hidden")

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def with_(self, **changes) -> "TrainConfig":
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} is out of range: it must be a whole number with {low} <= {name} <= {high}")


# The tutorial's own settings: raw-tensor stages use lr 1e-6, nn stages 1e-4.
_STAGE_SETTINGS = {
    "tensors": dict(lr=1e-6),
    "autograd": dict(lr=1e-6),
    "custom_function": dict(lr=1e-6),
    "nn_module": dict(lr=1e-4),
    "optim": dict(lr=1e-4, optimizer="adam"),
    "custom_module": dict(lr=1e-4, optimizer="sgd"),
    "dynamic_net": dict(lr=1e-4, optimizer="sgd_momentum", momentum=0.9),
}


def default_config(stage: str) -> TrainConfig:
    """The tutorial's settings for `stage` (N=64, D_IN=1000, H=100, D_OUT=10, 500 steps, its lr and optimizer)."""
    if stage not in _STAGE_SETTINGS:
        raise ValueError(f"stage={stage!r} is not one of {', '.join(STAGE_NAMES)}")
    return TrainConfig(**_STAGE_SETTINGS[stage])


CONFIG_FIELDS = tuple(f.name for f in fields(TrainConfig))
