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


def make_optimizer(params: Iterable[torch.nn.Parameter], config) -> torch.optim.Optimizer:
    """Build the optimizer that `config.optimizer` names, with `config.lr` (and momentum where it applies)."""
    name, lr = config.optimizer, config.lr
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr)
    raise ValueError(f"optimizer={name!r} is not one of {sorted(OPTIMIZERS)}")
