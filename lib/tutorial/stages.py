"""The tutorial's seven stages, each written the way the tutorial writes it, behind one `run_stage`."""
from __future__ import annotations

import contextlib
import math
import random
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import torch

from lib.tutorial.config import STAGE_NAMES, TrainConfig
from lib.tutorial.optimizers import make_optimizer

__all__ = ["STAGE_NAMES", "STAGES", "StageInfo", "RunSummary", "run_stage", "MyReLU", "BrokenMyReLU",
           "TwoLayerNet", "DynamicNet", "GROWTH_LIMIT"]

# A run stops when its loss is NaN/inf or has grown this many times over the first step's loss.
GROWTH_LIMIT = 1e6

class Recorder:
    """Keeps one loss per step, reports it, and says when training must stop.

    It stops on a NaN/inf loss or a blow-up (`divergence_reason` holds a message code, `stop_loss` the value that
    stopped it, never kept in `losses`), at `stop_at`, or once `time_limit_s` of wall-clock time has passed
    (`time_limited_at` holds the step that was not run).
    """

    def __init__(self, on_step: Callable[[int, float], None] | None, stop_at: int | None = None,
                 time_limit_s: float | None = None):
        self.losses: list[float] = []
        self.stop_at = stop_at
        self.diverged_at: int | None = None
        self.divergence_reason: str | None = None    # "diverged.not_finite" or "diverged.grew" (locales/*.toml)
        self.stop_loss: float | None = None
        self.time_limited_at: int | None = None
        self._deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
        self._on_step = on_step

    def __call__(self, t: int, loss: float) -> bool:
        if self.stop_at is not None and t >= self.stop_at:
            return True
        if not math.isfinite(loss):
            self.diverged_at, self.divergence_reason, self.stop_loss = t, "diverged.not_finite", loss
            return True
        if self.losses and loss > GROWTH_LIMIT * self.losses[0]:
            self.diverged_at, self.divergence_reason, self.stop_loss = t, "diverged.grew", loss
            return True
        if self._deadline is not None and time.perf_counter() > self._deadline:
            self.time_limited_at = t
            return True
        self.losses.append(loss)
        if self._on_step is not None:
            self._on_step(t, loss)
        return False


# ---------------------------------------------------------------- 1. tensors
def tensors(cfg: TrainConfig, record: Recorder, rng: random.Random) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    lr, dtype = cfg.lr, cfg.torch_dtype

    x = torch.randn(N, D_IN, dtype=dtype)    # (N, D_IN)
    y = torch.randn(N, D_OUT, dtype=dtype)   # (N, D_OUT)

    w1 = torch.randn(D_IN, H, dtype=dtype)   # (D_IN, H)
    w2 = torch.randn(H, D_OUT, dtype=dtype)  # (H, D_OUT)

    for t in range(cfg.steps):
        # Forward pass
        h = x.mm(w1)                 # (N, H)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)       # (N, D_OUT)

        loss = (y_pred - y).pow(2).sum().item()
        if record(t, loss):
            break

        # Backpropagation to compute gradients
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)

        # Update weights
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return dict(x=x, y=y, params={"w1": w1, "w2": w2})


# ---------------------------------------------------------------- 2. autograd
def autograd(cfg: TrainConfig, record: Recorder, rng: random.Random) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    lr, dtype = cfg.lr, cfg.torch_dtype

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    w1 = torch.randn(D_IN, H, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_OUT, dtype=dtype, requires_grad=True)

    for t in range(cfg.steps):
        # Forward pass
        y_pred = x.mm(w1).clamp(min=0).mm(w2)

        loss = (y_pred - y).pow(2).sum()
        if record(t, loss.item()):
            break

        # Backpropagation to compute gradients
        loss.backward()

        # Update weights (the write-up's `grad_w1` does not exist here: autograd put it in w1.grad)
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return dict(x=x, y=y, params={"w1": w1.detach(), "w2": w2.detach()})


# ---------------------------------------------------------------- 3. custom autograd Function
class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class BrokenMyReLU(torch.autograd.Function):
    """MyReLU with a classic mistake: the backward forgets the `input < 0` mask."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        grad_input = grad_output.clone()
        return grad_input


def custom_function(cfg: TrainConfig, record: Recorder, rng: random.Random, relu_fn=MyReLU) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    lr, dtype = cfg.lr, cfg.torch_dtype

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    w1 = torch.randn(D_IN, H, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_OUT, dtype=dtype, requires_grad=True)

    for t in range(cfg.steps):
        relu = relu_fn.apply   # MyReLU.apply, or BrokenMyReLU.apply when the page breaks it

        y_pred = relu(x.mm(w1)).mm(w2)

        loss = (y_pred - y).pow(2).sum()
        if record(t, loss.item()):
            break

        loss.backward()

        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return dict(x=x, y=y, params={"w1": w1.detach(), "w2": w2.detach()})


# ---------------------------------------------------------------- 4. nn.Sequential
def nn_module(cfg: TrainConfig, record: Recorder, rng: random.Random) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    lr, dtype = cfg.lr, cfg.torch_dtype
    loss_fn = torch.nn.MSELoss(reduction='sum')

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_OUT),
    ).to(dtype)

    for t in range(cfg.steps):
        # Forward pass
        y_pred = model(x)

        loss = loss_fn(y_pred, y)
        if record(t, loss.item()):
            break

        # Backward pass
        model.zero_grad()
        loss.backward()

        # Update weights
        with torch.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
    return dict(x=x, y=y, model=model)


# ---------------------------------------------------------------- 5. torch.optim
def optim(cfg: TrainConfig, record: Recorder, rng: random.Random) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    dtype = cfg.torch_dtype
    loss_fn = torch.nn.MSELoss(reduction='sum')

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = torch.nn.Sequential(
        torch.nn.Linear(D_IN, H),
        torch.nn.ReLU(),
        torch.nn.Linear(H, D_OUT),
    ).to(dtype)

    # the tutorial's torch.optim.Adam(model.parameters(), lr=lr), or the optimizer chosen in the sidebar
    optimizer = make_optimizer(model.parameters(), cfg)

    for t in range(cfg.steps):
        # Forward pass
        y_pred = model(x)

        loss = loss_fn(y_pred, y)
        if record(t, loss.item()):
            break

        # Zero the gradients that backward() accumulates, then backward pass
        optimizer.zero_grad()
        loss.backward()

        # Update weights
        optimizer.step()
    return dict(x=x, y=y, model=model)


# ---------------------------------------------------------------- 6. custom nn.Module
class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_IN, H, D_OUT):
        super().__init__()
        self.linear1 = torch.nn.Linear(D_IN, H)
        self.linear2 = torch.nn.Linear(H, D_OUT)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


def custom_module(cfg: TrainConfig, record: Recorder, rng: random.Random) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    dtype = cfg.torch_dtype

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = TwoLayerNet(D_IN, H, D_OUT).to(dtype)

    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = make_optimizer(model.parameters(), cfg)   # torch.optim.SGD(model.parameters(), lr=lr)

    for t in range(cfg.steps):
        y_pred = model(x)

        loss = criterion(y_pred, y)
        if record(t, loss.item()):
            break

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return dict(x=x, y=y, model=model)


# ---------------------------------------------------------------- 7. control flow + weight sharing
class DynamicNet(torch.nn.Module):
    def __init__(self, D_IN, H, D_OUT, rng=random):
        super().__init__()
        self.input_linear = torch.nn.Linear(D_IN, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_OUT)
        self.rng = rng            # `random` itself in the tutorial; a seeded random.Random per run here
        self.depths = []          # how many times middle_linear ran, one entry per forward

    def forward(self, x):
        h_relu = self.input_linear(x).clamp(min=0)
        depth = self.rng.randint(0, 3)
        self.depths.append(depth)
        for _ in range(depth):
            h_relu = self.middle_linear(h_relu).clamp(min=0)
        y_pred = self.output_linear(h_relu)
        return y_pred


def dynamic_net(cfg: TrainConfig, record: Recorder, rng: random.Random) -> dict:
    N, D_IN, H, D_OUT = cfg.n, cfg.d_in, cfg.hidden, cfg.d_out
    dtype = cfg.torch_dtype

    x = torch.randn(N, D_IN, dtype=dtype)
    y = torch.randn(N, D_OUT, dtype=dtype)

    model = DynamicNet(D_IN, H, D_OUT, rng=rng).to(dtype)

    criterion = torch.nn.MSELoss(reduction='sum')
    # torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    optimizer = make_optimizer(model.parameters(), cfg)

    for t in range(cfg.steps):
        y_pred = model(x)

        loss = criterion(y_pred, y)
        if record(t, loss.item()):
            break

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return dict(x=x, y=y, model=model, depths=model.depths)


# ---------------------------------------------------------------- the registry and the runner
@dataclass(frozen=True)
class StageInfo:
    name: str                 # its texts are "stage.<name>.title", ".short_title", ".whats_new" in locales/
    train: Callable
    uses_optimizer: bool      # False: the code updates the weights by hand, config.optimizer is unused
    has_bias: bool            # nn.Linear layers carry biases; the raw-tensor stages do not


STAGES: dict[str, StageInfo] = {s.name: s for s in (
    StageInfo("tensors", tensors, uses_optimizer=False, has_bias=False),
    StageInfo("autograd", autograd, uses_optimizer=False, has_bias=False),
    StageInfo("custom_function", custom_function, uses_optimizer=False, has_bias=False),
    StageInfo("nn_module", nn_module, uses_optimizer=False, has_bias=True),
    StageInfo("optim", optim, uses_optimizer=True, has_bias=True),
    StageInfo("custom_module", custom_module, uses_optimizer=True, has_bias=True),
    StageInfo("dynamic_net", dynamic_net, uses_optimizer=True, has_bias=True),
)}
assert tuple(STAGES) == STAGE_NAMES


@dataclass(frozen=True)
class RunSummary:
    """One training run: what a page shows and, straight from training, the tensors it ended with. Its summary()
    drops the tensors: light enough to cache for a class and keep in history."""
    stage: str
    config: TrainConfig
    losses: Sequence[float]                # one per completed step
    diverged_at: int | None                # step whose loss was NaN/inf or blew up; training stopped there
    divergence_reason: str | None
    elapsed_s: float                       # training time, not counting the wait for another session's run
    depths: Sequence[int] = ()             # dynamic_net: middle_linear uses, one per completed step
    broken_relu: bool = False
    stop_loss: float | None = None         # the loss that stopped training (diverged), never in `losses`
    time_limited_at: int | None = None     # the step the server's time limit stopped training before
    # the tensors take no part in == and hash (a summary, tensors dropped, still hashes)
    params: dict[str, torch.Tensor] = field(default_factory=dict, compare=False)   # final parameters by name
                                           # (w1, w2 or the module's state_dict names); {} in a summary
    x: torch.Tensor | None = field(default=None, compare=False)   # (N, D_IN) the random input; None in a summary
    y: torch.Tensor | None = field(default=None, compare=False)   # (N, D_OUT) the random target; None in a summary

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan

    def summary(self) -> RunSummary:
        """The run without its tensors."""
        return replace(self, losses=tuple(self.losses), depths=tuple(self.depths), params={}, x=None, y=None)


def drawn_depth(seed: int, step: int) -> int:
    """How many times DynamicNet's forward at `step` runs middle_linear, for a run seeded with `seed`."""
    rng = random.Random(seed)
    for _ in range(step):
        rng.randint(0, 3)
    return rng.randint(0, 3)


def run_stage(stage: str, config: TrainConfig, on_step: Callable[[int, float], None] | None = None,
              broken_relu: bool = False, stop_at: int | None = None, time_limit_s: float | None = None
              ) -> RunSummary:
    """Train `stage` with `config`: seed, draw x and y, then the weights, in the tutorial's order, on config.device.

    `broken_relu` trains custom_function with BrokenMyReLU; `stop_at` stops just before step `stop_at`'s
    update (after its forward pass), so the parameters are those reached after `stop_at` steps; `time_limit_s`
    stops training once that much wall-clock time has passed (result.time_limited_at says where).

    Like the tutorial, it seeds and draws from torch's process-wide generator: one run at a time per process.
    The app runs each in a worker process of its own (lib.serve.workers), so sessions never share a generator.
    """
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r} is not one of {', '.join(STAGE_NAMES)}")
    info = STAGES[stage]
    record = Recorder(on_step, stop_at, time_limit_s)
    train = info.train
    kwargs = {"relu_fn": BrokenMyReLU if broken_relu else MyReLU} if stage == "custom_function" else {}
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    rng = random.Random(config.seed)   # same sequence as the seeded `random` module, but ours alone
    start = time.perf_counter()
    # the tutorial's `device=device` for every tensor and layer the stage makes; on the CPU no context at all:
    # a device context intercepts every torch call, a cost the CPU runs need not pay
    on_device = contextlib.nullcontext() if config.device == "cpu" else torch.device(config.device)
    with on_device:
        out = train(config, record, rng, **kwargs)
    elapsed = time.perf_counter() - start
    if "model" in out:
        params = {name: p.detach().clone() for name, p in out["model"].named_parameters()}
    else:
        params = out["params"]
    # what comes back is on the CPU (a no-op there): gradient checks and pages never need the GPU
    params = {name: p.cpu() for name, p in params.items()}
    out["x"], out["y"] = out["x"].cpu(), out["y"].cpu()
    return RunSummary(stage=stage, config=config, losses=record.losses, diverged_at=record.diverged_at,
                      divergence_reason=record.divergence_reason, elapsed_s=elapsed, params=params,
                      x=out["x"], y=out["y"], depths=out.get("depths", [])[:len(record.losses)],
                      broken_relu=broken_relu, stop_loss=record.stop_loss, time_limited_at=record.time_limited_at)
