"""Lesson presets: named setups a teacher can jump to, each a page plus URL settings."""
from __future__ import annotations

from dataclasses import dataclass



@dataclass(frozen=True)
class Preset:
    title: str
    page: str                   # a stage name (its page's url_path)
    settings: dict[str, str]    # URL query parameters, read like any shared link
    notice: str                 # what the class should look for


PRESETS = (
    Preset("lr too high: watch it diverge", "tensors", {"lr": "5e-06"},
           "Five times the tutorial's lr: the loss explodes within a few steps and training stops there."),
    Preset("Same lr, bigger batch", "tensors", {"n": "256", "steps": "200"},
           "The tutorial's lr, but N = 256: the loss is a sum over N rows, so the gradient is ~4× larger "
           "and the same lr now diverges."),
    Preset("float32 vs float64 gradients", "autograd", {"dtype": "float64"},
           "Hand-written and autograd gradients agree to ~1e-16 in float64; switch dtype back to float32 "
           "and the rel_error column rises to ~1e-7."),
    Preset("A wrong backward", "custom_function", {"broken": "1"},
           "MyReLU's backward forgets the mask: training still runs, but the w1 row turns red, and the "
           "finite differences show it is autograd's gradient that is wrong."),
    Preset("Adam vs SGD", "optim", {"optimizer": "sgd"},
           "The optim stage with plain SGD at lr 1e-4; then choose Adam in the sidebar and overlay the two "
           "runs."),
    Preset("Weight sharing", "dynamic_net", {"steps": "200"},
           "Pick a training step where middle_linear ran 3 times: three gradient terms add up to the one "
           "autograd stores."),
)

