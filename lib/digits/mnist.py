"""MNIST for the dashboard: load the digits once into tensors, the tutorial's TwoLayerNet and a small CNN,
the pytorch/examples training loop on in-memory batches, evaluation helpers, and the hand-written softmax +
cross-entropy backward checked against autograd."""
from __future__ import annotations

import gzip
import io
import math
import os
import socket
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.func import functional_call
from torchvision.datasets import MNIST
from torchvision.datasets.mnist import read_image_file, read_label_file

from lib.tutorial.backward import cross_entropy_backward, finite_differences, network_grads
from lib.tutorial.config import SEED_CAP, check_choice, check_int, check_training
from lib.tutorial.gradients import COLUMNS, TOLERANCE, comparison_row, rel_error
from lib.text.messages import CodedError, Message
from lib.tutorial.optimizers import make_optimizer
from lib.tutorial.stages import TwoLayerNet

# ---------------------------------------------------------------- data
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO_ROOT / "data"      # ignored by git; MNIST_ROOT overrides it on the server
ROOT_ENV = "MNIST_ROOT"
DOWNLOAD_ENV = "MNIST_DOWNLOAD"        # "0" never tries the network (tests, air-gapped servers)

FILES = {                              # torchvision's names, in <root>/MNIST/raw/, each plain or .gz
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MEAN, STD = 0.1307, 0.3081             # pytorch/examples mnist/main.py's Normalize((0.1307,), (0.3081,))
SIDE, PIXELS, CLASSES = 28, 28 * 28, 10
OFFLINE_TRAIN_FRACTION = 0.8           # 10,000 test digits -> 8,000 training / 2,000 held out
SPLIT_SEED = 0                         # fixed: every server and every test sees the same offline split
PROBE_TIMEOUT_S = 3.0                  # how long a download may wait for the network before falling back


class MnistDataError(CodedError, RuntimeError):
    """The MNIST files are missing, truncated or not MNIST; the message names the folder and the files."""


@dataclass(frozen=True)
class MnistData:
    source: str                        # "full" (60k/10k) or "offline-subset" (the real test set, split)
    train_images: torch.Tensor         # (N_TRAIN, 1, 28, 28) float32, normalised with MEAN and STD
    train_labels: torch.Tensor         # (N_TRAIN,) int64 digits 0-9
    test_images: torch.Tensor          # (N_TEST, 1, 28, 28) float32, normalised
    test_labels: torch.Tensor          # (N_TEST,) int64
    root: str                          # the folder it was read from
    notes: tuple[Message, ...] = ()    # e.g. why a download was not tried or failed

    @property
    def description(self) -> Message:
        """What this data is ("mnist.data.<source>"), for the page to render."""
        return Message(f"mnist.data.{self.source}", n_train=len(self.train_labels), n_test=len(self.test_labels))


def data_root() -> Path:
    """Where the data lives: a server-side setting (MNIST_ROOT), never something a visitor types."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def expected_files_message(raw: Path) -> Message:
    return Message("mnist_data.expected", names=", ".join(FILES.values()), raw=str(raw), env=ROOT_ENV)


def load_mnist(root: str | Path | None = None, download: bool | None = None) -> MnistData:
    """Read MNIST from <root>/MNIST/raw/ (root=None reads MNIST_ROOT) into normalised tensors.

    All four files: the full set. Test pair only: a download is tried when the folder is writable and the
    network answers within PROBE_TIMEOUT_S; otherwise the 10,000 real test digits are split by SPLIT_SEED.
    `download=None` reads MNIST_DOWNLOAD (default on).
    """
    root = Path(root) if root is not None else data_root()
    raw = root / "MNIST" / "raw"
    if download is None:
        download = os.environ.get(DOWNLOAD_ENV, "1") != "0"
    notes = []
    found = {key: _find(raw, name) for key, name in FILES.items()}
    if not all(found.values()) and download:
        note = _try_download(root, raw)
        if note:
            notes.append(note)
        found = {key: _find(raw, name) for key, name in FILES.items()}
    if all(found.values()):
        tensors = {key: _read(path, key, raw) for key, path in found.items()}
        _check_pair(tensors["train_images"], tensors["train_labels"], found["train_images"], raw)
        _check_pair(tensors["test_images"], tensors["test_labels"], found["test_images"], raw)
        return MnistData("full", _normalise(tensors["train_images"]), tensors["train_labels"],
                         _normalise(tensors["test_images"]), tensors["test_labels"], str(root), tuple(notes))
    if not (found["test_images"] and found["test_labels"]):
        missing = ", ".join(name for key, name in FILES.items() if not found[key])
        if notes:
            raise MnistDataError("mnist_data.missing_tried", raw=str(raw), missing=missing, tried=notes[0],
                                 expected=expected_files_message(raw))
        raise MnistDataError("mnist_data.missing", raw=str(raw), missing=missing, expected=expected_files_message(raw))
    images = _read(found["test_images"], "test_images", raw)
    labels = _read(found["test_labels"], "test_labels", raw)
    _check_pair(images, labels, found["test_images"], raw)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_train = round(OFFLINE_TRAIN_FRACTION * len(labels))
    train, test = order[:n_train], order[n_train:]
    return MnistData("offline-subset", _normalise(images[train]), labels[train],
                     _normalise(images[test]), labels[test], str(root), tuple(notes))


def _find(raw: Path, name: str) -> Path | None:
    for path in (raw / name, raw / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _read(path: Path, key: str, raw: Path) -> torch.Tensor:
    """One IDX file through torchvision's reader; a .gz is unpacked into a temporary folder, never beside it."""
    reader = read_image_file if key.endswith("images") else read_label_file
    try:
        if path.suffix != ".gz":
            return reader(str(path))
        with tempfile.TemporaryDirectory(prefix="mnist-") as tmp:
            plain = Path(tmp) / path.stem
            plain.write_bytes(gzip.decompress(path.read_bytes()))
            return reader(str(plain))
    # a truncated gzip raises EOFError/BadGzipFile; a truncated or foreign IDX file an assert or a bad view
    except (AssertionError, EOFError, OSError, RuntimeError, TypeError, ValueError, KeyError) as err:
        raise MnistDataError("mnist_data.corrupt", path=str(path), error=_plain(f"{type(err).__name__}: {err}"),
                             expected=expected_files_message(raw)) from err


def _check_pair(images: torch.Tensor, labels: torch.Tensor, image_path: Path, raw: Path) -> None:
    problem = None
    if images.dim() != 3 or tuple(images.shape[1:]) != (SIDE, SIDE):
        problem = Message("mnist_data.shape", shape=str(tuple(images.shape)))
    elif len(images) != len(labels):
        problem = Message("mnist_data.count", images=len(images), labels=len(labels))
    elif len(labels) < 2:
        problem = Message("mnist_data.few", digits=len(labels))
    elif labels.min() < 0 or labels.max() >= CLASSES:
        problem = Message("mnist_data.label_range")
    if problem:
        raise MnistDataError("mnist_data.not_paired", path=str(image_path), problem=problem,
                             expected=expected_files_message(raw))


def _normalise(images: torch.Tensor) -> torch.Tensor:
    return ((images.float() / 255.0 - MEAN) / STD).unsqueeze(1)   # (N, 28, 28) uint8 -> (N, 1, 28, 28)


def _try_download(root: Path, raw: Path) -> Message | None:
    """torchvision's download, but only where it can work: a writable folder and a network that answers fast."""
    if not _writable(raw):
        return Message("mnist_data.read_only", root=str(root))
    host = urlparse(MNIST.mirrors[0]).hostname
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
    except OSError as err:
        return Message("mnist_data.no_network", host=host, error=_plain(err))
    try:
        MNIST(str(root), train=True, download=True)
    except (RuntimeError, OSError) as err:
        return Message("mnist_data.download_failed", error=_plain(err))
    return None


def _plain(err) -> str:
    """An exception's own text, shown inside a code span (so without backticks)."""
    return str(err).replace("`", "'")


def _writable(path: Path) -> bool:
    """The nearest existing folder on the way to `path` is writable by its mode bits too (root ignores them)."""
    while not path.exists():
        path = path.parent
    return bool(path.stat().st_mode & 0o222) and os.access(path, os.W_OK)


def denormalise(images: torch.Tensor) -> torch.Tensor:
    """Normalised (..., 28, 28) back to [0, 1] for display."""
    return (images * STD + MEAN).clamp(0, 1)


# ---------------------------------------------------------------- models
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


# ---------------------------------------------------------------- training
@dataclass(frozen=True)
class Progress:
    step: int                          # batches done so far, 1-based
    total_steps: int
    epoch: int                         # 1-based
    epochs: int
    loss: float                        # the last batch's training loss
    test_accuracy: float | None = None  # set once per epoch, after the held-out evaluation


@dataclass
class MnistResult:
    config: MnistConfig
    source: str
    history: list[dict]                # per epoch: epoch, train_loss, test_loss, test_accuracy, elapsed_s
    batch_losses: list[float]          # every batch's training loss, in order
    batch_lrs: list[float]             # the learning rate each of those batches was trained with
    model: torch.nn.Module
    elapsed_s: float
    diverged_at: int | None = None     # batch where the loss became NaN/inf, if it did
    divergence_reason: str | None = None   # a message code, rendered with stop_loss (locales/*.toml)
    stop_loss: float | None = None
    time_limited_at: int | None = None     # batch before which the server's time limit stopped training

    @property
    def final_accuracy(self) -> float:
        return self.history[-1]["test_accuracy"] if self.history else math.nan

    @property
    def history_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.history, columns=["epoch", "train_loss", "test_loss", "test_accuracy", "elapsed_s"])


def train_mnist(data: MnistData, config: MnistConfig, on_progress: Callable[[Progress], None] | None = None,
                time_limit_s: float | None = None,
                on_epoch: Callable[[float, torch.nn.Module], None] | None = None) -> MnistResult:
    """pytorch/examples mnist/main.py's loop, but batches are slices of a torch.randperm of in-memory tensors.

    Past `time_limit_s` it stops between batches; an epoch cut short is evaluated and kept as a partial row.
    `on_epoch(epoch, model)` is called after each epoch's evaluation (e.g. to record a panel of predictions).
    """
    model = build_model(config)
    optimizer = make_optimizer(model.parameters(), config, fused=True)
    generator = torch.Generator().manual_seed(config.seed)   # ours alone: other sessions cannot shift it
    images, labels = data.train_images, data.train_labels
    n = len(labels)
    steps_per_epoch = math.ceil(n / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    schedule = make_schedule(optimizer, config, total_steps)
    history, batch_losses, batch_lrs = [], [], []
    diverged_at = reason = stop_loss = time_limited_at = None
    start = time.perf_counter()
    deadline = None if time_limit_s is None else start + time_limit_s
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        epoch_losses = []
        for i in range(0, n, config.batch_size):
            if deadline is not None and time.perf_counter() > deadline:
                time_limited_at = len(batch_losses)
                break
            batch = order[i:i + config.batch_size]
            x, target = images[batch], labels[batch]    # (B, 1, 28, 28), (B,)
            optimizer.zero_grad()
            output = model(x)                           # (B, 10) logits
            loss = F.cross_entropy(output, target)
            loss.backward()
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            if schedule is not None:
                schedule.step()                         # the next batch's lr
            value = loss.item()
            if not math.isfinite(value):
                diverged_at, reason, stop_loss = len(batch_losses), "diverged.not_finite", value
                break
            batch_losses.append(value)
            batch_lrs.append(lr)
            epoch_losses.append(value)
            if on_progress is not None:
                on_progress(Progress(len(batch_losses), total_steps, epoch, config.epochs, value))
        if diverged_at is not None or not epoch_losses:
            break
        test_loss, test_accuracy = evaluate(model, data.test_images, data.test_labels)
        # an epoch the time limit cut short counts as the fraction of it that ran (e.g. 2.4)
        done = epoch - 1 + len(epoch_losses) / steps_per_epoch if time_limited_at is not None else epoch
        history.append({"epoch": round(done, 2), "train_loss": sum(epoch_losses) / len(epoch_losses),
                        "test_loss": test_loss, "test_accuracy": test_accuracy,
                        "elapsed_s": time.perf_counter() - start})
        if on_progress is not None:
            on_progress(Progress(len(batch_losses), total_steps, epoch, config.epochs, batch_losses[-1], test_accuracy))
        if on_epoch is not None:
            on_epoch(history[-1]["epoch"], model)
        if time_limited_at is not None:
            break
    return MnistResult(config=config, source=data.source, history=history, batch_losses=batch_losses,
                       batch_lrs=batch_lrs, model=model, elapsed_s=time.perf_counter() - start,
                       diverged_at=diverged_at, divergence_reason=reason, stop_loss=stop_loss,
                       time_limited_at=time_limited_at)


@dataclass
class TrainedMnist:
    """A training run as it travels back from a worker: the model as its weights, the evaluation beside it."""
    result: MnistResult                # with model=None: the weights are in `state`
    state: dict[str, torch.Tensor]
    report: "MnistReport"
    gradients: pd.DataFrame | None     # hand-written vs autograd table (the MLP only)
    panel: object = None               # lib.digits.mnist_inside.EpochPanel: held-out digits predicted after each epoch

    @classmethod
    def from_result(cls, result: MnistResult, report: "MnistReport", gradients, panel=None) -> "TrainedMnist":
        state = {k: v.detach().clone() for k, v in result.model.state_dict().items()}
        return cls(replace(result, model=None), state, report, gradients, panel)

    def model(self) -> torch.nn.Module:
        """The trained model, rebuilt here from its weights, in eval mode."""
        return self.rebuild(self.result.config, self.state)

    @staticmethod
    def rebuild(cfg: MnistConfig, state: dict[str, torch.Tensor]) -> torch.nn.Module:
        with torch.device("meta"):   # structure only; load_state_dict(assign=True) brings the weights
            model = MnistMLP(cfg.hidden) if cfg.model == "mlp" else MnistCNN(cfg.hidden)
        model.load_state_dict(state, assign=True)
        return model.eval()


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 500) -> tuple[float, float]:
    """Mean cross-entropy and accuracy, under model.eval() and torch.no_grad().

    Batches of 500: the CNN's activations then stay in cache (2000 at once took 1.6x as long, bench/mnist.py).
    """
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(labels), batch_size):
            output = model(images[i:i + batch_size])
            target = labels[i:i + batch_size]
            total_loss += F.cross_entropy(output, target, reduction="sum").item()
            correct += (output.argmax(1) == target).sum().item()
    return total_loss / len(labels), correct / len(labels)


# ---------------------------------------------------------------- what the model gets right and wrong
def predict(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """(N, 10) softmax probabilities."""
    model.eval()
    with torch.no_grad():
        return torch.cat([F.softmax(model(images[i:i + batch_size]), dim=1)
                          for i in range(0, len(images), batch_size)])


def confusion_matrix(labels: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    return torch.bincount(labels * CLASSES + predicted, minlength=CLASSES * CLASSES).view(CLASSES, CLASSES)


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """(10,) fraction of each true digit predicted right; NaN for a digit with no examples."""
    totals = confusion.sum(1).double()
    return confusion.diag().double() / totals.where(totals > 0, torch.tensor(math.nan, dtype=torch.float64))


@dataclass(frozen=True)
class Mistake:
    index: int                         # into the held-out tensors
    true: int
    predicted: int
    confidence: float                  # probability given to the wrong answer


def misclassified(probabilities: torch.Tensor, labels: torch.Tensor, limit: int = 24) -> list[Mistake]:
    """The held-out digits the model gets wrong, most confident mistakes first."""
    confidence, predicted = probabilities.max(1)
    wrong = (predicted != labels).nonzero().flatten()
    wrong = wrong[confidence[wrong].argsort(descending=True)][:limit]
    return [Mistake(int(i), int(labels[i]), int(predicted[i]), float(confidence[i])) for i in wrong]


@dataclass
class MnistReport:
    probabilities: torch.Tensor        # (N_TEST, 10)
    predicted: torch.Tensor            # (N_TEST,)
    confusion: torch.Tensor            # (10, 10)
    per_class: torch.Tensor            # (10,)
    mistakes: list[Mistake]
    accuracy: float


def report(model: torch.nn.Module, data: MnistData, limit: int = 24) -> MnistReport:
    probabilities = predict(model, data.test_images)
    predicted = probabilities.argmax(1)
    confusion = confusion_matrix(data.test_labels, predicted)
    return MnistReport(probabilities, predicted, confusion, per_class_accuracy(confusion),
                       misclassified(probabilities, data.test_labels, limit),
                       (predicted == data.test_labels).double().mean().item())


# ---------------------------------------------------------------- hand-written vs autograd (MLP)
MLP_NAMES = ("linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias")
FD_SAMPLES = 6                         # coordinates per parameter checked by central differences


def manual_mlp_grads(params: dict, x: torch.Tensor, labels: torch.Tensor, broken: bool = False) -> dict:
    """Backward of mean cross-entropy(softmax) through TwoLayerNet by hand, one layer at a time (lib.tutorial.backward);
    `broken` forgets the / N."""
    reduction = "sum" if broken else "mean"
    return network_grads(params, MLP_NAMES, x, lambda logits: cross_entropy_backward(logits, labels, reduction))


def _mlp_loss(module: torch.nn.Module, params: dict, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(functional_call(module, params, (x,)), labels)


def autograd_mlp_grads(module: torch.nn.Module, params: dict, x: torch.Tensor, labels: torch.Tensor) -> dict:
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    grads = torch.autograd.grad(_mlp_loss(module, leaves, x, labels), list(leaves.values()))
    return dict(zip(leaves, grads))


def mlp_gradient_table(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                       dtype: str = "float64", broken: bool = False) -> pd.DataFrame:
    """lib.tutorial.gradients' table for one batch of digits: hand-written vs autograd at the model's parameters, and
    autograd vs central differences on FD_SAMPLES coordinates of each parameter (float64)."""
    if not isinstance(model, MnistMLP):
        raise ValueError("the hand-written backward covers the MLP (TwoLayerNet) only")
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    params = {k: v.detach().to(torch_dtype) for k, v in model.named_parameters()}
    x = images.flatten(1).to(torch_dtype)     # (N, 784)
    manual = manual_mlp_grads(params, x, labels, broken)
    auto = autograd_mlp_grads(model, params, x, labels)
    fd = _sampled_fd_rel_error(model, params, x, labels)
    table = pd.DataFrame([comparison_row(k, manual[k], auto[k], TOLERANCE[dtype], fd[k]) for k in MLP_NAMES],
                         columns=COLUMNS)
    # here finite differences are taken on sampled coordinates at these weights, not at step 0 of a small copy
    return table.rename(columns={"fd_rel_error_step0": "fd_rel_error"})


def _sampled_fd_rel_error(module, params, x, labels) -> dict:
    params = {k: v.double().clone() for k, v in params.items()}
    x = x.double()
    auto = autograd_mlp_grads(module, params, x, labels)
    gen = torch.Generator().manual_seed(0)
    picks = {name: torch.randperm(p.numel(), generator=gen)[:FD_SAMPLES].tolist() for name, p in params.items()}
    numeric = finite_differences(lambda: _mlp_loss(module, params, x, labels), params, picks)
    return {name: rel_error(auto[name].reshape(-1)[picks[name]], numeric[name]) for name in params}


# ---------------------------------------------------------------- "try your own digit"
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096        # decoded size; far below PIL's own bomb limit
MAX_DECODE_BYTES = 22 * 2**20          # what PIL may hold for a decoded PNG (JPEGs are decoded already shrunk);
# with the decoder's own buffers a picture at this limit adds 26-28 MB (tests/test_mnist.py keeps it under 30)
WORK_SIDE = 512                        # longest side the picture is shrunk to before any conversion
DIGIT_BOX = 20                         # MNIST fits each digit in a 20x20 box inside the 28x28 frame
# bytes per pixel PIL holds at once while decoding a PNG and shrinking it: RGB is stored in 4 bytes, reduce
# premultiplies alpha in a copy, and modes it cannot average are first converted to L (RGBA if transparent)
_DECODE_COST = {"L": 1, "RGB": 4, "RGBA": 8, "LA": 8, "1": 2, "P": 2, "I;16": 3, "I;16B": 3, "I": 5}


class UploadError(ValueError):
    """An upload that is not a usable PNG/JPEG digit: a message code and its values, for the page to render."""

    def __init__(self, code: str, **values):
        super().__init__(code, values)
        self.code, self.values = code, values

    def __str__(self) -> str:
        return f"{self.code} {self.values}" if self.values else self.code


def digit_from_upload(raw: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> torch.Tensor:
    """A PNG/JPEG as MNIST sees digits: (28, 28) float in [0, 1], light ink on black with the paper's own
    shade taken away, the digit cropped to its bounding box, scaled so its longer side is 20 pixels, and
    placed by its centre of mass.

    The picture is shrunk to at most WORK_SIDE pixels before anything else is made of it (JPEGs while
    decoding), so a large photo costs a few MB, not hundreds."""
    if len(raw) == 0:
        raise UploadError("upload.empty")
    if len(raw) > max_bytes:
        raise UploadError("upload.too_big", size=len(raw) / 2**20, limit=max_bytes / 2**20)
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG", "JPEG"]) as img:
            width, height = img.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise UploadError("upload.too_many_pixels", width=width, height=height,
                                  limit=MAX_UPLOAD_PIXELS)
            if img.format == "JPEG":
                img.draft("L", (WORK_SIDE, WORK_SIDE))   # the decoder itself scales by 1/2, 1/4 or 1/8
            elif width * height * _decode_cost(img) > MAX_DECODE_BYTES:
                side = math.isqrt(MAX_DECODE_BYTES // _decode_cost(img))
                raise UploadError("upload.too_large_to_decode", width=width, height=height, side=side)
            img.load()
            grey = _flatten_alpha(_shrink(img)).convert("L")
    except UploadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise UploadError("upload.not_an_image") from None
    except (OSError, SyntaxError, ValueError):
        raise UploadError("upload.undecodable") from None
    height, width = grey.height, grey.width
    pixels = torch.frombuffer(bytearray(grey.tobytes()), dtype=torch.uint8).view(height, width).float() / 255.0
    border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.median() > 0.5:                 # dark ink on light paper: MNIST is light ink on black
        pixels = 1.0 - pixels
    pixels = (pixels - _background(pixels)).clamp(min=0)   # grey or unevenly lit paper becomes black
    if pixels.max() < 0.1:
        raise UploadError("upload.no_digit")
    pixels = pixels / pixels.max()
    ink = pixels > 0.2
    rows, cols = ink.any(1).nonzero().flatten(), ink.any(0).nonzero().flatten()
    crop = pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = DIGIT_BOX / max(crop.shape)
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    small = F.interpolate(crop[None, None], size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0]
    # MNIST's own recipe: the box goes where its centre of mass lands on the frame's centre
    mass = small.sum()
    centre_row = (small.sum(1) * torch.arange(size[0])).sum() / mass
    centre_col = (small.sum(0) * torch.arange(size[1])).sum() / mass
    top = min(max(round(SIDE / 2 - 0.5 - centre_row.item()), 0), SIDE - size[0])
    left = min(max(round(SIDE / 2 - 0.5 - centre_col.item()), 0), SIDE - size[1])
    digit = torch.zeros(SIDE, SIDE)
    digit[top:top + size[0], left:left + size[1]] = small
    return digit.clamp(0, 1)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _decode_cost(img: Image.Image) -> int:
    return 9 if img.mode == "P" and _has_alpha(img) else _DECODE_COST.get(img.mode, 8)


def _shrink(img: Image.Image) -> Image.Image:
    """At most WORK_SIDE pixels on the longer side: Image.reduce averages whole blocks."""
    factor = math.ceil(max(img.size) / WORK_SIDE)
    if factor <= 1:
        return img
    if img.mode not in ("L", "RGB", "RGBA", "LA"):
        img = img.convert("RGBA" if _has_alpha(img) else "L")   # palette, 1-bit, 16-bit: what reduce averages
    return img.reduce(factor)


def _background(pixels: torch.Tensor) -> torch.Tensor:
    """The paper's shade under the digit (ink is light): a grey-scale opening, taken on a 64-pixel copy and
    smoothed, so a shadow or a lighting gradient across the sheet is subtracted with the paper's grey.

    The opening (minimum, then maximum, over a window a quarter of the picture wide) removes every light
    structure narrower than the window, which a pen stroke is; what remains is the slowly varying paper."""
    height, width = pixels.shape
    scale = 64 / max(height, width)
    coarse_size = (max(1, round(height * scale)), max(1, round(width * scale)))
    coarse = F.interpolate(pixels[None, None], size=coarse_size, mode="area")
    k = 17                                      # a quarter of the 64-pixel copy, odd so it has a centre
    padded = F.pad(coarse, (k // 2,) * 4, mode="replicate")
    opened = -F.max_pool2d(-padded, k, stride=1)                      # minimum: the strokes vanish
    opened = F.max_pool2d(F.pad(opened, (k // 2,) * 4, mode="replicate"), k, stride=1)   # maximum: paper back
    smooth = F.avg_pool2d(F.pad(opened, (k // 2,) * 4, mode="replicate"), k, stride=1)
    return F.interpolate(smooth, size=(height, width), mode="bilinear", align_corners=False)[0, 0]


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Transparent pixels become white paper, so a drawing exported with alpha reads as ink on paper."""
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba)
    return img


def predict_digit(model: torch.nn.Module, digit: torch.Tensor) -> torch.Tensor:
    """(10,) probabilities for one (28, 28) digit in [0, 1]."""
    x = ((digit - MEAN) / STD).view(1, 1, SIDE, SIDE)
    return predict(model, x)[0]
