"""Training an MNIST model: pytorch/examples' loop on in-memory batches, the run as it travels back from a
worker, and what the trained model gets right and wrong on the held-out digits."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import pandas as pd
import torch
import torch.nn.functional as F

from lib.digits.mnist_data import CLASSES, MnistData
from lib.digits.mnist_models import MnistCNN, MnistConfig, MnistMLP, build_model, make_schedule
from lib.tutorial.optimizers import make_optimizer


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
