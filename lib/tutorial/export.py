"""Exports: a stage as a runnable script (the tutorial's code the page shows), and loss curves as CSV."""
from __future__ import annotations

import pandas as pd

from lib.tutorial.config import TrainConfig
from lib.tutorial.tutorial_code import tutorial_code


def stage_script(stage: str, config: TrainConfig, broken_relu: bool = False, lang: str = "en") -> str:
    """The stage as a standalone script: exactly the tutorial's code that the stage page shows."""
    return tutorial_code(stage, config, broken_relu, lang)


def losses_csv(curves: dict[str, list[float]]) -> str:
    """Loss curves side by side, one column per run, one row per step."""
    frame = pd.DataFrame({label: pd.Series(losses, dtype="float64") for label, losses in curves.items()})
    frame.index.name = "step"
    return frame.to_csv()
