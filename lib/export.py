"""Exports: a stage as a runnable script with the current settings filled in, and loss curves as CSV."""
from __future__ import annotations

import inspect

import pandas as pd

from lib import i18n
from lib.config import TrainConfig
from lib.optimizers import make_optimizer
from lib.stages import STAGES, BrokenMyReLU, DynamicNet, MyReLU, TwoLayerNet

_HEADER = '''"""{title}: exported from the "Learning PyTorch with Examples" dashboard.

Runs with plain PyTorch (`python {filename}`) and prints the loss every 100 steps, as the tutorial does;
with the same torch version it reproduces the dashboard's losses exactly.
"""
from __future__ import annotations

import json
import math
import random
import sys

import torch


class Config:
    """The settings this script was exported with."""
{fields}
    torch_dtype = torch.{dtype}


losses = []


def record(t, loss):
    """Keeps the loss; True (stop) once it is NaN/inf or has grown a million-fold, as the dashboard does."""
    if not math.isfinite(loss) or (losses and loss > 1e6 * losses[0]):
        print(f"diverged at step {{t}}: loss {{loss}}")
        return True
    losses.append(loss)
    if t % 100 == 99:
        print(t, loss)
    return False
'''

_FOOTER = '''

if __name__ == "__main__":
    cfg = Config()
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    {call}
    if "--json" in sys.argv:
        print(json.dumps(losses))
    else:
        print("final loss", losses[-1] if losses else float("nan"))
'''


def stage_script(stage: str, config: TrainConfig, broken_relu: bool = False) -> str:
    """The stage's own code (from lib, via inspect) with `config` filled in, as a standalone script."""
    info = STAGES[stage]
    fields = "\n".join(f"    {name} = {getattr(config, name)!r}" for name in
                       ("n", "d_in", "hidden", "d_out", "lr", "optimizer", "momentum", "steps", "seed", "dtype"))
    parts = [_HEADER.format(title=i18n.t(f"stage.{stage}.title"), filename=f"{stage}.py", fields=fields,
                            dtype=config.dtype)]
    if info.uses_optimizer:
        parts.append(inspect.getsource(make_optimizer).replace(
            'raise ValueError(f"optimizer={name!r} is not one of {sorted(OPTIMIZERS)}")',
            'raise ValueError(f"unknown optimizer {name!r}")'))
    relu = BrokenMyReLU if broken_relu else MyReLU
    extra = {"custom_function": [MyReLU] + ([BrokenMyReLU] if broken_relu else []),
             "custom_module": [TwoLayerNet], "dynamic_net": [DynamicNet]}
    parts += [inspect.getsource(obj) for obj in extra.get(stage, [])]
    parts.append(inspect.getsource(info.train))
    args = "cfg, record, random.Random(cfg.seed)"
    if stage == "custom_function":
        args += f", relu_fn={relu.__name__}"
    parts.append(_FOOTER.format(call=f"{info.train.__name__}({args})"))
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def losses_csv(curves: dict[str, list[float]]) -> str:
    """Loss curves side by side, one column per run, one row per step."""
    frame = pd.DataFrame({label: pd.Series(losses, dtype="float64") for label, losses in curves.items()})
    frame.index.name = "step"
    return frame.to_csv()
