"""Hand-written gradients for every stage, autograd's, finite differences, and the table that compares them."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch.func import functional_call

from lib.tutorial.backward import finite_differences, layers_of, linear, linear_backward, mse, mse_backward, \
    network_backward, network_forward, network_grads, relu, relu_backward
from lib.tutorial.config import TrainConfig
from lib.text.messages import Message, Refusal
from lib.tutorial.stages import GROWTH_LIMIT, STAGES, BrokenMyReLU, DynamicNet, MyReLU, TwoLayerNet, drawn_depth, run_stage

# rel_error bounds that count as "the same gradient": a few ulps of a long sum in each precision
TOLERANCE = {"float32": 1e-5, "float64": 1e-10}
# the small copy of the problem used for central finite differences (float64)
SMALL = dict(n=4, d_in=5, hidden=3, d_out=2, dtype="float64")

COLUMNS = ["parameter", "shape", "manual_norm", "autograd_norm", "max_abs_diff", "rel_error", "cosine",
           "within_tol", "fd_rel_error_step0"]



def use_name(parameter: str, k: int, uses: int) -> str:
    """The row id of the k-th use's gradient term of a shared `parameter` (stage 7), e.g. "... (use 1 of 3)";
    a page shows it through split_use, in the reader's language."""
    return f"{parameter} (use {k} of {uses})"


def split_use(name: str) -> tuple[str, int, int] | None:
    """(parameter, k, uses) of a use_name row id; None for a parameter's own name."""
    match = _USE_NAME.fullmatch(name)
    return (match[1], int(match[2]), int(match[3])) if match else None


_USE_NAME = re.compile(r"(.+) \(use (\d+) of (\d+)\)")


# ---------------------------------------------------------------- hand-written backward passes
def manual_raw(p, x, y):
    """Stages 1-3: the tutorial's own backward for y_pred = relu(x @ w1) @ w2, one layer at a time."""
    w1, w2 = p["w1"], p["w2"]
    h = linear(x, w1)                         # (N, H)
    h_relu = relu(h)
    y_pred = linear(h_relu, w2)               # (N, D_OUT)
    grad_y_pred = mse_backward(y_pred, y)
    grad_h_relu, grad_w2, _ = linear_backward(grad_y_pred, h_relu, w2)   # grad_w2: (H, D_OUT)
    grad_h = relu_backward(grad_h_relu, h)
    _, grad_w1, _ = linear_backward(grad_h, x, w1)                       # grad_w1: (D_IN, H)
    return {"w1": grad_w1, "w2": grad_w2}


def manual_linear(p, x, y, names):
    """Stages 4-6: Linear, ReLU, Linear with nn.Linear's weights and biases."""
    return network_grads(p, names, x, lambda y_pred: mse_backward(y_pred, y))


def manual_dynamic(p, x, y, depth):
    """Stage 7: backprop through `depth` uses of middle_linear; its gradient is the sum of one term per use."""
    grads = network_backward(x, _dynamic_layers(p, depth), lambda y_pred: mse_backward(y_pred, y))
    (grad_w_in, grad_b_in), uses, (grad_w_out, grad_b_out) = grads[0], grads[1:-1], grads[-1]
    out = {"input_linear.weight": grad_w_in, "input_linear.bias": grad_b_in,
           "middle_linear.weight": sum(gw for gw, _ in uses) if uses else torch.zeros_like(p["middle_linear.weight"]),
           "middle_linear.bias": sum(gb for _, gb in uses) if uses else torch.zeros_like(p["middle_linear.bias"]),
           "output_linear.weight": grad_w_out, "output_linear.bias": grad_b_out}
    per_use = {}
    for k, (gw, gb) in enumerate(uses, start=1):
        per_use[use_name("middle_linear.weight", k, depth)] = gw
        per_use[use_name("middle_linear.bias", k, depth)] = gb
    return out, per_use


def _dynamic_layers(p, depth):
    """DynamicNet's layers in the order one forward uses them: middle_linear `depth` times."""
    names = ["input_linear", *["middle_linear"] * depth, "output_linear"]
    return layers_of(p, [f"{name}.{kind}" for name in names for kind in ("weight", "bias")])


# ---------------------------------------------------------------- the stage's own forward, for autograd
class _FixedDepth:
    """Stands in for `random` so DynamicNet's forward takes a chosen number of middle layers."""

    def __init__(self, depth):
        self.depth = depth

    def randint(self, a, b):
        return self.depth


def _module(stage, cfg: TrainConfig, depth):
    with torch.device("meta"):   # structure only: no weights drawn, so no one else's random stream is touched
        if stage in ("nn_module", "optim"):
            return torch.nn.Sequential(torch.nn.Linear(cfg.d_in, cfg.hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(cfg.hidden, cfg.d_out))
        if stage == "custom_module":
            return TwoLayerNet(cfg.d_in, cfg.hidden, cfg.d_out)
        return DynamicNet(cfg.d_in, cfg.hidden, cfg.d_out, rng=_FixedDepth(depth))


def forward(stage, cfg, params, x, depth=0, broken_relu=False, module=None):
    """y_pred of `stage` at `params`, through the same code the stage trains with (MyReLU, nn modules).

    `module` reuses a structure from _module() across many calls (one caller at a time: functional_call
    swaps the parameters in and out).
    """
    if not STAGES[stage].has_bias:
        activation = (BrokenMyReLU if broken_relu else MyReLU).apply if stage == "custom_function" else relu
        return activation(x.mm(params["w1"])).mm(params["w2"])
    return functional_call(module or _module(stage, cfg, depth), params, (x,))


def loss_at(stage, cfg, params, x, y, depth=0, broken_relu=False, module=None):
    return mse(forward(stage, cfg, params, x, depth, broken_relu, module), y)


def autograd_grads(stage, cfg, params, x, y, depth=0, broken_relu=False):
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    loss = loss_at(stage, cfg, leaves, x, y, depth, broken_relu)
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return {k: (g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(leaves, grads)}


def autograd_per_use(params, x, y, depth):
    """Autograd's gradient for each use of middle_linear, by giving every use its own copy of the weights."""
    lin = torch.nn.functional.linear
    w_mid = [params["middle_linear.weight"].clone().requires_grad_(True) for _ in range(depth)]
    b_mid = [params["middle_linear.bias"].clone().requires_grad_(True) for _ in range(depth)]
    h = lin(x, params["input_linear.weight"], params["input_linear.bias"]).clamp(min=0)
    for k in range(depth):
        h = lin(h, w_mid[k], b_mid[k]).clamp(min=0)
    loss = (lin(h, params["output_linear.weight"], params["output_linear.bias"]) - y).pow(2).sum()
    grads = torch.autograd.grad(loss, w_mid + b_mid) if depth else ()
    out = {}
    for k in range(depth):
        out[use_name("middle_linear.weight", k + 1, depth)] = grads[k]
        out[use_name("middle_linear.bias", k + 1, depth)] = grads[depth + k]
    return out


def manual_grads(stage, params, x, y, depth=0):
    """Hand-written gradients by parameter name, and (stage 7) the shared layer's per-use terms."""
    if not STAGES[stage].has_bias:
        return manual_raw(params, x, y), {}
    if stage == "dynamic_net":
        return manual_dynamic(params, x, y, depth)
    return manual_linear(params, x, y, list(params)), {}


def relu_ties(stage, params, x, depth=0) -> int:
    """How many pre-activations are exactly 0, where ReLU's derivative is a convention.

    The tutorial's backward (`grad_h[h < 0] = 0`) passes the gradient at 0; PyTorch's clamp and ReLU pass
    none. In float32 an exact 0 does turn up now and then, and that entry then differs for a good reason.
    """
    if not STAGES[stage].has_bias:
        pre = [linear(x, params["w1"])]
    else:
        layers = _dynamic_layers(params, depth) if stage == "dynamic_net" else layers_of(params, list(params))
        _, _, pre = network_forward(x, layers)
    return int(sum((p == 0).sum().item() for p in pre))


# ---------------------------------------------------------------- comparison
def rel_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / max(||a||, ||b||); 0 when both are zero."""
    scale = max(a.norm().item(), b.norm().item())
    return 0.0 if scale == 0 else (a - b).norm().item() / scale


def comparison_row(name, manual, auto, tol, fd_rel):
    m, a = manual.double(), auto.double()
    denom = m.norm() * a.norm()
    cosine = (m.flatten() @ a.flatten() / denom).item() if denom > 0 else (1.0 if torch.equal(m, a) else 0.0)
    rel = rel_error(m, a)
    return {"parameter": name, "shape": "×".join(map(str, manual.shape)),
            "manual_norm": m.norm().item(), "autograd_norm": a.norm().item(),
            "max_abs_diff": (m - a).abs().max().item() if m.numel() else 0.0,
            "rel_error": rel, "cosine": cosine, "within_tol": bool(rel <= tol), "fd_rel_error_step0": fd_rel}


@dataclass
class GradientComparison:
    table: pd.DataFrame
    manual: dict[str, torch.Tensor]          # hand-written, by parameter name (plus per-use names)
    autograd: dict[str, torch.Tensor]
    depth: int = 0                           # dynamic_net: how many times middle_linear ran at this step
    step: int = 0
    gradcheck_passed: bool | None = None     # custom_function: torch.autograd.gradcheck on the ReLU Function
    notes: list[Message] = field(default_factory=list)
    relu_ties: int = 0                       # pre-activations exactly 0 at this step (the first note says why it matters)


def gradient_comparison(stage: str, config: TrainConfig, step: int = 0, broken_relu: bool = False,
                        depth: int | None = None, time_limit_s: float | None = None) -> GradientComparison:
    """Hand-written vs autograd gradients at the parameters reached after `step` training steps."""
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < config.steps:
        raise Refusal("refusal.int_range", name="step", value=repr(step), low=0, high=config.steps - 1)
    run = run_stage(stage, config, broken_relu=broken_relu, stop_at=step, time_limit_s=time_limit_s)
    if run.time_limited_at is not None and run.time_limited_at < step:
        raise TimeoutError(f"the server's time limit stopped the run after {run.time_limited_at} of {step} steps")
    if run.diverged_at is not None and run.diverged_at <= step:
        raise Refusal("refusal.step_diverged", step=step, diverged_at=run.diverged_at,
                      reason=Message(run.divergence_reason, loss=run.stop_loss, limit=GROWTH_LIMIT))
    if stage == "dynamic_net" and depth is None:
        depth = drawn_depth(config.seed, step)   # the depth the forward of this step drew
    depth = depth or 0
    params, x, y = run.params, run.x, run.y

    manual, manual_uses = manual_grads(stage, params, x, y, depth)
    auto = autograd_grads(stage, config, params, x, y, depth, broken_relu)
    auto_uses = autograd_per_use(params, x, y, depth) if stage == "dynamic_net" else {}
    fd_rel = _finite_difference_check(stage, config, depth, broken_relu)

    tol = TOLERANCE[config.dtype]
    rows = []
    for name in params:                  # the model's own order
        rows.append(comparison_row(name, manual[name], auto[name], tol, fd_rel[name]))
        if name.startswith("middle_linear"):
            kind = name.split(".")[1]
            rows += [comparison_row(u, manual_uses[u], auto_uses[u], tol, math.nan)
                     for u in manual_uses if u.split(" ")[0].endswith(kind)]
    table = pd.DataFrame(rows, columns=COLUMNS)
    gradcheck_passed = _gradcheck_relu(broken_relu) if stage == "custom_function" else None
    notes = []
    ties = relu_ties(stage, params, x, depth)
    if ties:
        notes.append(Message("gradients.relu_ties", ties=ties))
    return GradientComparison(table=table, manual={**manual, **manual_uses}, autograd={**auto, **auto_uses},
                              depth=depth, step=step, gradcheck_passed=gradcheck_passed, notes=notes,
                              relu_ties=ties)


def _finite_difference_check(stage, config, depth, broken_relu):
    """rel_error of autograd vs central differences, per parameter, on a float64 copy of the problem at SMALL size."""
    small = config.with_(steps=1, **SMALL)
    run = run_stage(stage, small, broken_relu=broken_relu, stop_at=0)
    params = {k: v.clone() for k, v in run.params.items()}
    auto = autograd_grads(stage, small, params, run.x, run.y, depth, broken_relu)
    module = _module(stage, small, depth) if STAGES[stage].has_bias else None
    numeric = finite_differences(lambda: loss_at(stage, small, params, run.x, run.y, depth, broken_relu, module),
                                 params)
    return {k: rel_error(auto[k].reshape(-1), numeric[k]) for k in auto}


def _gradcheck_relu(broken_relu: bool) -> bool:
    fn = (BrokenMyReLU if broken_relu else MyReLU).apply
    gen = torch.Generator().manual_seed(0)
    inp = torch.randn(6, 4, dtype=torch.float64, generator=gen).requires_grad_(True)
    return torch.autograd.gradcheck(fn, (inp,), raise_exception=False)
