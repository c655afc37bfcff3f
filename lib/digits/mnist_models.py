"""The MNIST models (the tutorial's TwoLayerNet on 784 pixels, a small CNN), their settings and the
learning-rate schedule."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lib.digits.mnist_data import CLASSES, PIXELS
from lib.tutorial.config import SEED_CAP, check_choice, check_int, check_training
from lib.tutorial.stages import TwoLayerNet


class MnistMLP(TwoLayerNet):
    """The tutorial's TwoLayerNet with D_IN = 784 pixels and D_OUT = 10 digits."""

    def __init__(self, hidden):
        super().__init__(PIXELS, hidden, CLASSES)

    def forward(self, x):
        return super().forward(x.flatten(1))      # (N, 1, 28, 28) -> (N, 784) -> (N, 10) logits


class MnistCNN(torch.nn.Module):
    """Two 5x5 convolutions, then `hidden` units and 10 logits: conv1 steps two pixels at a time (stride 2),
    conv2 is max-pooled (LeNet's shape, with the first pooling done by the stride).

    On a CPU conv1's maps are the costly ones: with 8 of them at stride 2 (12x12 each, no pooling) and the CNN's
    recipe (MODEL_DEFAULTS) the 3 epochs take about half the time that 16 at stride 1, pooled, took with Adam 1e-3
    in batches of 64; conv2's 32 maps keep 512 features for fc1 (bench/mnist.py, README)."""

    def __init__(self, hidden):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 5, stride=2)   # (N, 1, 28, 28) -> (N, 8, 12, 12)
        self.conv2 = torch.nn.Conv2d(8, 32, 5)            # -> (N, 32, 8, 8), pooled to 4x4
        self.fc1 = torch.nn.Linear(32 * 4 * 4, hidden)
        self.fc2 = torch.nn.Linear(hidden, CLASSES)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        # pool, then ReLU: the same numbers as ReLU then pool (both keep the largest), on a quarter of the pixels
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(self.fc1(x.flatten(1)))        # (N, 512) -> (N, hidden)
        return self.fc2(x)                        # (N, 10) logits


MODELS = ("mlp", "cnn")   # the tutorial's TwoLayerNet and a small CNN; their names on screen are "mnist.model.<key>"
SCHEDULES = ("constant", "one_cycle")   # how lr changes over the batches; on screen "mnist_schedule.<key>"
ONE_CYCLE_START = 25           # one cycle starts at lr / 25 (OneCycleLR's div_factor) ...
ONE_CYCLE_RISE = 0.25          # ... reaches lr after this fraction of the batches ...
ONE_CYCLE_END = 1e4            # ... and falls (a cosine) to lr / 25 / 1e4 at the last batch (final_div_factor)


# ---------------------------------------------------------------- config
# Ranges of what the form offers; how long a run may take is the server's time limit (lib.serve.workers), which stops
# training between batches and keeps what was learnt so far.
HIDDEN_CAP = 1024
BATCH_RANGE = (16, 1024)     # below 16 the per-step Python overhead dominates an epoch
EPOCHS_CAP = 20
LR_CAP = 1.0


@dataclass(frozen=True)
class MnistConfig:
    model: str = "mlp"           # "mlp" (TwoLayerNet) or "cnn"
    hidden: int = 100            # hidden units H (the tutorial's H = 100)
    optimizer: str = "adam"      # a key of lib.tutorial.optimizers.OPTIMIZERS
    lr: float = 1e-3             # learning rate; Adam's usual 1e-3 (cross-entropy is a mean, unlike the tutorial's sum)
    momentum: float = 0.9        # for the optimizers that take momentum (SGD with momentum, RMSprop)
    batch_size: int = 64         # pytorch/examples' batch size
    epochs: int = 3              # passes over the training digits
    seed: int = 1                # torch.manual_seed for the weights and the shuffling generator (pytorch/examples' 1)
    schedule: str = "constant"   # "constant": lr throughout; "one_cycle": lr is the peak of ONE_CYCLE_* (OneCycleLR)

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("hidden", self.hidden, 1, HIDDEN_CAP)
        check_int("batch_size", self.batch_size, *BATCH_RANGE)
        check_int("epochs", self.epochs, 1, EPOCHS_CAP)
        check_int("seed", self.seed, 0, SEED_CAP)
        check_training(self.lr, self.momentum, self.optimizer, LR_CAP)


# Each model's own starting settings (the form shows them when the model is chosen). The CNN's, batches of 128
# with the one-cycle schedule up to lr 1e-2, reached 97.95-98.25% held-out after 3 epochs on the offline subset
# (seeds 1-3); with a constant lr (1e-3 at batch 64, 3e-3 or 1e-2 at 128) the same CNN reached 96.2-97.6% (README).
MODEL_DEFAULTS = {
    "mlp": MnistConfig(model="mlp"),
    "cnn": MnistConfig(model="cnn", lr=1e-2, batch_size=128, schedule="one_cycle"),
}


def default_config(model: str) -> MnistConfig:
    check_choice("model", model, MODELS)
    return MODEL_DEFAULTS[model]


def build_model(config: MnistConfig) -> torch.nn.Module:
    """The chosen model, its weights drawn from torch.manual_seed(config.seed) (one run per worker process)."""
    torch.manual_seed(config.seed)
    if config.model == "mlp":
        return MnistMLP(config.hidden)
    # channels-last weights make the CPU's convolutions and max-pooling run channels-last (bench/mnist.py)
    return MnistCNN(config.hidden).to(memory_format=torch.channels_last)


def make_schedule(optimizer: torch.optim.Optimizer, config: MnistConfig,
                  total_steps: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    """config.schedule's learning-rate scheduler, stepped once per batch; None for a constant lr."""
    if config.schedule == "constant":
        return None
    # cycle_momentum=False: only the lr moves (the optimizer's momentum or Adam's betas stay as chosen)
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps,
                                               pct_start=ONE_CYCLE_RISE, div_factor=ONE_CYCLE_START,
                                               final_div_factor=ONE_CYCLE_END, cycle_momentum=False)
