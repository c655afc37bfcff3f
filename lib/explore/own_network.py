"""Your own network, built from menus: its config (data, never code), training on the tutorial's random data, and
its gradients written by hand (lib.tutorial.backward), by autograd and by finite differences, layer by layer."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial

import pandas as pd
import torch
from torch import nn
from torch.func import functional_call

from lib.tutorial.backward import (ACTIVATIONS, LEAKY_SLOPE, finite_differences, layers_of, mse_backward, network_forward,
                          network_grads)
from lib.tutorial.config import DTYPES, LR_CAP, SEED_CAP, SIZE_CAPS, STEPS_CAP, check_choice, check_int, check_training
from lib.tutorial.cost import Speed, init_seconds, step_seconds, steps_within
from lib.tutorial.gradients import COLUMNS, SMALL, TOLERANCE, GradientComparison, comparison_row, rel_error
from lib.text.messages import Message, Refusal
from lib.tutorial.stages import GROWTH_LIMIT, Recorder, RunSummary

STAGE = "own_network"   # the name its runs carry (RunSummary.stage)
DEPTH_CAP = 4           # hidden layers
# torch's module for each hand-written activation of lib.tutorial.backward (autograd trains and checks through these)
MODULES = {"relu": nn.ReLU, "leaky_relu": partial(nn.LeakyReLU, LEAKY_SLOPE), "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
CLASS_NAMES = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
REDUCTIONS = ("sum", "mean")
VANISHING_BELOW = 1e-2  # first layer's ‖W.grad‖ / last layer's under this: the page says the gradient vanished


@dataclass(frozen=True)
class NetworkConfig:
    widths: tuple[int, ...] = (100,)   # hidden layers' widths, first to last (1 to DEPTH_CAP of them)
    activation: str = "relu"           # after every hidden layer: a key of lib.tutorial.backward.ACTIVATIONS
    reduction: str = "sum"             # MSE summed (the tutorial) or averaged (nn.MSELoss()'s default)
    n: int = 64                        # batch size N
    d_in: int = 1000                   # input dimension D_IN
    d_out: int = 10                    # output dimension D_OUT
    lr: float = 1e-4                   # plain SGD, as the tutorial's nn stage updates by hand
    steps: int = 500
    seed: int = 0                      # torch.manual_seed before x, y and the weights are drawn
    dtype: str = "float32"

    def __post_init__(self):
        if not isinstance(self.widths, tuple):
            object.__setattr__(self, "widths", tuple(self.widths))
        check_int("layers", len(self.widths), 1, DEPTH_CAP)
        for k, width in enumerate(self.widths, start=1):
            check_int(f"width {k}", width, 1, SIZE_CAPS["hidden"])
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("reduction", self.reduction, REDUCTIONS)
        for name in ("n", "d_in", "d_out"):
            check_int(name, getattr(self, name), 1, SIZE_CAPS[name])
        check_int("steps", self.steps, 1, STEPS_CAP)
        check_int("seed", self.seed, 0, SEED_CAP)
        check_training(self.lr, 0.0, "sgd", LR_CAP)
        check_choice("dtype", self.dtype, DTYPES)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.d_in, *self.widths, self.d_out)

    @property
    def names(self) -> list[str]:
        """Parameter names in the forward's order: linear1.weight, linear1.bias, linear2.weight, ..."""
        return [f"linear{k}.{kind}" for k in range(1, len(self.sizes)) for kind in ("weight", "bias")]

    def with_(self, **changes) -> "NetworkConfig":
        return replace(self, **changes)


# the page's presets: the tutorial's network, and four hidden layers of 100 where Sigmoid's gradient vanishes
PRESETS = {"tutorial": NetworkConfig(), "sigmoid4": NetworkConfig(widths=(100,) * 4, activation="sigmoid"),
           "relu4": NetworkConfig(widths=(100,) * 4, activation="relu")}


def describe_network(cfg: NetworkConfig) -> str:
    """The network in one line of code names: Linear(1000, 100) → Sigmoid → ... → Linear(100, 10)."""
    act = CLASS_NAMES[cfg.activation]
    parts = [f"Linear({a}, {b})" for a, b in zip(cfg.sizes, cfg.sizes[1:])]
    return f" → {act} → ".join(parts) + f", MSELoss(reduction='{cfg.reduction}')"


def build_model(cfg: NetworkConfig) -> nn.Sequential:
    layers = OrderedDict()
    for k, (a, b) in enumerate(zip(cfg.sizes, cfg.sizes[1:]), start=1):
        layers[f"linear{k}"] = nn.Linear(a, b)
        if k < len(cfg.sizes) - 1:
            layers[f"act{k}"] = MODULES[cfg.activation]()
    return nn.Sequential(layers)


def train_network(cfg: NetworkConfig, on_step=None, stop_at: int | None = None,
                  time_limit_s: float | None = None) -> RunSummary:
    """Seed, draw x and y, build the network, train it with plain SGD: the tutorial's nn stage, any depth."""
    record = Recorder(on_step, stop_at, time_limit_s)
    torch.manual_seed(cfg.seed)
    dtype = DTYPES[cfg.dtype]
    x = torch.randn(cfg.n, cfg.d_in, dtype=dtype)    # (N, D_IN)
    y = torch.randn(cfg.n, cfg.d_out, dtype=dtype)   # (N, D_OUT)
    model = build_model(cfg).to(dtype)
    loss_fn = nn.MSELoss(reduction=cfg.reduction)
    start = time.perf_counter()
    for t in range(cfg.steps):   # stage 4's loop (lib.tutorial.stages.nn_module), as the tutorial writes it
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        if record(t, loss.item()):
            break
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= cfg.lr * param.grad
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    return RunSummary(stage=STAGE, config=cfg, losses=record.losses, diverged_at=record.diverged_at,
                      divergence_reason=record.divergence_reason, elapsed_s=time.perf_counter() - start,
                      params=params, x=x, y=y, stop_loss=record.stop_loss, time_limited_at=record.time_limited_at)


def network_loss(cfg: NetworkConfig, params: dict, x, y, module: nn.Module | None = None):
    """The loss through torch's own modules (autograd's side of the check)."""
    with torch.device("meta"):   # structure only: the weights are `params`, no random draw
        module = module or build_model(cfg)
    return nn.functional.mse_loss(functional_call(module, params, (x,)), y, reduction=cfg.reduction)


def autograd_grads(cfg: NetworkConfig, params: dict, x, y) -> dict:
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    return dict(zip(leaves, torch.autograd.grad(network_loss(cfg, leaves, x, y), list(leaves.values()))))


def manual_grads(cfg: NetworkConfig, params: dict, x, y) -> dict:
    """lib.tutorial.backward's hand-written backward, one layer kind at a time, from the loss back to linear1."""
    return network_grads(params, cfg.names, x, lambda y_pred: mse_backward(y_pred, y, cfg.reduction), cfg.activation)


def reached(cfg: NetworkConfig, step: int, time_limit_s: float | None) -> RunSummary:
    """The run stopped just before step `step`'s update: the parameters after `step` updates."""
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < cfg.steps:
        raise Refusal("refusal.int_range", name="step", value=repr(step), low=0, high=cfg.steps - 1)
    run = train_network(cfg, stop_at=step, time_limit_s=time_limit_s)
    if run.time_limited_at is not None and run.time_limited_at < step:
        raise TimeoutError(f"the server's time limit stopped the run after {run.time_limited_at} of {step} steps")
    if run.diverged_at is not None and run.diverged_at <= step:
        raise Refusal("refusal.step_diverged", step=step, diverged_at=run.diverged_at,
                      reason=Message(run.divergence_reason, loss=run.stop_loss, limit=GROWTH_LIMIT))
    return run


def network_gradients(cfg: NetworkConfig, step: int = 0, time_limit_s: float | None = None) -> GradientComparison:
    """Hand-written vs autograd gradients at step `step`, the stage pages' table; finite differences at step 0
    of a small float64 copy (every layer 3 wide)."""
    run = reached(cfg, step, time_limit_s)
    manual = manual_grads(cfg, run.params, run.x, run.y)
    auto = autograd_grads(cfg, run.params, run.x, run.y)
    fd_rel = finite_difference_check(cfg)
    tol = TOLERANCE[cfg.dtype]
    table = pd.DataFrame([comparison_row(name, manual[name], auto[name], tol, fd_rel[name]) for name in cfg.names],
                         columns=COLUMNS)
    _, _, pres = network_forward(run.x, layers_of(run.params, cfg.names))
    ties = int(sum((p == 0).sum().item() for p in pres)) if cfg.activation in ("relu", "leaky_relu") else 0
    notes = [Message("gradients.relu_ties", ties=ties)] if ties else []
    return GradientComparison(table=table, manual=manual, autograd=auto, step=step, notes=notes, relu_ties=ties)


def small_copy(cfg: NetworkConfig) -> NetworkConfig:
    return cfg.with_(widths=(SMALL["hidden"],) * len(cfg.widths), n=SMALL["n"], d_in=SMALL["d_in"],
                     d_out=SMALL["d_out"], dtype="float64", steps=1)


def finite_difference_check(cfg: NetworkConfig) -> dict[str, float]:
    """rel_error of autograd vs central differences per parameter, at step 0 of small_copy(cfg)."""
    small = small_copy(cfg)
    run = train_network(small, stop_at=0)
    params = {k: v.clone() for k, v in run.params.items()}
    auto = autograd_grads(small, params, run.x, run.y)
    with torch.device("meta"):
        module = build_model(small)
    numeric = finite_differences(lambda: network_loss(small, params, run.x, run.y, module), params)
    return {k: rel_error(auto[k].reshape(-1), numeric[k]) for k in auto}


def layer_norms(comparison: GradientComparison) -> list[float]:
    """‖hand-written grad W‖ of each Linear, first to last: where a gradient vanishes."""
    table = comparison.table
    return [float(v) for v in table.loc[table["parameter"].str.endswith(".weight"), "manual_norm"]]


# ---------------------------------------------------------------- how long a run takes (lib.tutorial.cost's model)
def _weights(cfg: NetworkConfig) -> int:
    return sum(a * b + b for a, b in zip(cfg.sizes, cfg.sizes[1:]))


def _step_s(speed: Speed, cfg: NetworkConfig) -> float:
    """One step: every Linear's multiply-adds, each hidden activation entry and weight update, and nn_module's
    per-step overhead per pair of Linear layers (it has two)."""
    pairs = list(zip(cfg.sizes, cfg.sizes[1:]))
    return step_seconds(speed, cfg.n, pairs, sum(cfg.widths), _weights(cfg), cfg.dtype,
                        speed.step_overhead_s["nn_module"] * len(pairs) / 2)


def run_seconds(speed: Speed, cfg: NetworkConfig, steps: int | None = None) -> float:
    """Estimated seconds of `steps` steps (the config's own by default)."""
    return init_seconds(speed, _weights(cfg)) + (cfg.steps if steps is None else steps) * _step_s(speed, cfg)


def max_steps(speed: Speed, budget_s: float, cfg: NetworkConfig, cap: int = STEPS_CAP) -> int:
    """The most steps (1 to `cap`) whose estimated run fits `budget_s`."""
    return steps_within(budget_s, init_seconds(speed, _weights(cfg)), _step_s(speed, cfg), cap)
