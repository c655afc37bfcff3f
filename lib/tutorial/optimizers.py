"""The optimizer list, in one place, and the factory that builds a torch.optim optimizer from a config."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch


@dataclass(frozen=True)
class OptimizerSpec:
    uses_momentum: bool     # whether config.momentum reaches the optimizer; its name on screen is "optimizer.<key>"


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec(uses_momentum=False),
    "sgd_momentum": OptimizerSpec(uses_momentum=True),
    "adam": OptimizerSpec(uses_momentum=False),
    "rmsprop": OptimizerSpec(uses_momentum=True),
    "adagrad": OptimizerSpec(uses_momentum=False),
}


def make_optimizer(params: Iterable[torch.nn.Parameter], config, fused: bool = False) -> torch.optim.Optimizer:
    """Build the optimizer that `config.optimizer` names, with `config.lr` (and momentum where it applies).

    `fused=True` asks for torch's one-kernel update where it has one (SGD, Adam, Adagrad; not RMSprop): the same
    rule, ~3x cheaper per step for a few small tensors (bench/mnist.py). The tutorial's stages keep the default.
    """
    name, lr = config.optimizer, config.lr
    kernel = {"fused": True} if fused else {}
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, **kernel)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, **kernel)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, **kernel)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, **kernel)
    raise ValueError(f"optimizer={name!r} is not one of {sorted(OPTIMIZERS)}")
