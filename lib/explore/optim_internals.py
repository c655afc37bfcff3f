"""Each optimizer's update step written by hand in raw tensors, trained beside torch.optim's on the optim stage."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import pandas as pd
import torch

from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import TOLERANCE, loss_at, rel_error
from lib.text.messages import Message, Refusal
from lib.tutorial.optimizers import OPTIMIZERS, make_optimizer
from lib.tutorial.stages import run_stage

K_MAX = 300   # steps compared at most; the page's slider also follows lib.serve.limits at bigger sizes

# torch.optim's defaults, which make_optimizer leaves as they are
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
RMSPROP_ALPHA = 0.99
RMSPROP_EPS = 1e-8
ADAGRAD_EPS = 1e-10

COLUMNS = ["parameter", "shape", "torch_norm", "manual_norm", "max_abs_diff", "rel_error", "within_tol"]
STATE_COLUMNS = ["parameter", "state", *COLUMNS[1:]]
ALL = "all parameters"   # the key of the update size of all parameters together


# ---------------------------------------------------------------- the hand-written steps
# Every step has the same signature: update `p` in place from its gradient, keeping what the optimizer
# remembers between steps in `state` (a dict per parameter, empty before the first step).
def sgd(p, grad, state, lr, momentum):
    p -= lr * grad


def sgd_momentum(p, grad, state, lr, momentum):
    if momentum == 0:                     # torch keeps no buffer then: the step is plain SGD
        p -= lr * grad
        return
    if "momentum_buffer" not in state:
        state["momentum_buffer"] = grad.clone()          # first step: buf = grad
    else:
        state["momentum_buffer"] = momentum * state["momentum_buffer"] + grad
    p -= lr * state["momentum_buffer"]


def adam(p, grad, state, lr, momentum, betas=ADAM_BETAS, eps=ADAM_EPS):
    beta1, beta2 = betas
    if not state:
        state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
    state["step"] += 1
    t = state["step"]
    m = state["exp_avg"] = beta1 * state["exp_avg"] + (1 - beta1) * grad              # mean of the gradient
    v = state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1 - beta2) * grad * grad  # mean of its square
    m_hat = m / (1 - beta1 ** t)          # bias correction: m and v start at 0
    v_hat = v / (1 - beta2 ** t)         # torch divides √v by √(1 − β₂ᵗ) instead: the same number
    p -= lr * m_hat / (v_hat.sqrt() + eps)


def rmsprop(p, grad, state, lr, momentum, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS):
    if not state:
        state["square_avg"] = torch.zeros_like(p)
        if momentum > 0:
            state["momentum_buffer"] = torch.zeros_like(p)
    v = state["square_avg"] = alpha * state["square_avg"] + (1 - alpha) * grad * grad
    avg = v.sqrt() + eps                  # eps outside the square root
    if momentum > 0:
        state["momentum_buffer"] = momentum * state["momentum_buffer"] + grad / avg
        p -= lr * state["momentum_buffer"]
    else:
        p -= lr * grad / avg


def adagrad(p, grad, state, lr, momentum, eps=ADAGRAD_EPS):
    if not state:
        state["sum"] = torch.zeros_like(p)
    state["sum"] = state["sum"] + grad * grad                    # every squared gradient so far
    p -= lr * grad / (state["sum"].sqrt() + eps)


# looked up at every step, so a test can put a broken variant in
HAND_WRITTEN = {"sgd": sgd, "sgd_momentum": sgd_momentum, "adam": adam, "rmsprop": rmsprop, "adagrad": adagrad}
assert tuple(HAND_WRITTEN) == tuple(OPTIMIZERS)


# ---------------------------------------------------------------- side by side
@dataclass
class OptimizerComparison:
    optimizer: str
    k: int                                              # steps taken by each side (fewer if diverged)
    table: pd.DataFrame                                 # parameters after the steps, one row per parameter
    state_table: pd.DataFrame                           # optimizer state after the steps, one row per tensor
    torch_state: dict[str, dict[str, torch.Tensor]]     # parameter name -> state name -> tensor
    manual_state: dict[str, dict[str, torch.Tensor]]
    torch_update_sizes: dict[str, list[float]]          # ALL or parameter name -> ‖Δθ‖ of each step
    manual_update_sizes: dict[str, list[float]]
    torch_losses: list[float]                           # loss before each step
    manual_losses: list[float]
    torch_params: dict[str, torch.Tensor]
    manual_params: dict[str, torch.Tensor]
    diverged_at: int | None = None                      # step whose loss was not finite; both stopped there
    notes: list[Message] = field(default_factory=list)
    time_limited_at: int | None = None                  # the step the server's time limit stopped both before

    @property
    def state_names(self) -> list[str]:
        return sorted({name for states in self.torch_state.values() for name in states})


def check_k(k, config: TrainConfig) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= K_MAX:
        raise Refusal("refusal.int_range", name="k", value=repr(k), low=1, high=K_MAX)


def compare_optimizer(config: TrainConfig, k: int, time_limit_s: float | None = None) -> OptimizerComparison:
    """Train the optim stage's model for k steps with torch.optim and with the hand-written step, side by side.

    Both start from the stage's own initial weights, x and y (run_stage with stop_at=0), and each computes
    its gradient by autograd on its own copy of the parameters every step.
    """
    check_k(k, config)
    start = run_stage("optim", config, stop_at=0)
    x, y = start.x, start.y
    torch_params = {name: p.clone().requires_grad_(True) for name, p in start.params.items()}
    manual_params = {name: p.clone().requires_grad_(True) for name, p in start.params.items()}
    optimizer = make_optimizer(torch_params.values(), config)
    manual_state = {name: {} for name in manual_params}
    step_fn = HAND_WRITTEN[config.optimizer]
    sizes = {"torch": _empty_sizes(torch_params), "manual": _empty_sizes(manual_params)}
    losses = {"torch": [], "manual": []}
    diverged_at = time_limited_at = None
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s

    for t in range(k):
        if deadline is not None and time.perf_counter() > deadline:
            time_limited_at = t
            break
        torch_loss = loss_at("optim", config, torch_params, x, y)
        manual_loss = loss_at("optim", config, manual_params, x, y)
        if not (math.isfinite(torch_loss.item()) and math.isfinite(manual_loss.item())):
            diverged_at = t
            break
        losses["torch"].append(torch_loss.item())
        losses["manual"].append(manual_loss.item())

        before = {name: p.detach().clone() for name, p in torch_params.items()}
        optimizer.zero_grad()
        torch_loss.backward()
        optimizer.step()
        _record_sizes(sizes["torch"], before, torch_params)

        before = {name: p.detach().clone() for name, p in manual_params.items()}
        grads = torch.autograd.grad(manual_loss, list(manual_params.values()))
        with torch.no_grad():
            for (name, p), grad in zip(manual_params.items(), grads):
                step_fn(p, grad, manual_state[name], config.lr, config.momentum)
        _record_sizes(sizes["manual"], before, manual_params)

    torch_state = {name: {key: value.detach().clone() for key, value in optimizer.state[p].items()
                          if key != "step" and torch.is_tensor(value)}
                   for name, p in torch_params.items()}
    manual_state = {name: {key: value.clone() for key, value in state.items() if torch.is_tensor(value)}
                    for name, state in manual_state.items()}
    tol = TOLERANCE[config.dtype]
    table = pd.DataFrame([optimizer_row({"parameter": name}, torch_params[name].detach(),
                                        manual_params[name].detach(), tol)
                          for name in torch_params], columns=COLUMNS)
    state_rows = [optimizer_row({"parameter": name, "state": key}, torch_state[name].get(key),
                                manual_state[name].get(key), tol)
                  for name in torch_params
                  for key in sorted(set(torch_state[name]) | set(manual_state[name]))]
    notes = []
    if diverged_at is not None:
        notes.append(Message("optim.diverged_note", step=diverged_at))
    return OptimizerComparison(
        optimizer=config.optimizer, k=len(losses["torch"]), table=table,
        state_table=pd.DataFrame(state_rows, columns=STATE_COLUMNS),
        torch_state=torch_state, manual_state=manual_state,
        torch_update_sizes=sizes["torch"], manual_update_sizes=sizes["manual"],
        torch_losses=losses["torch"], manual_losses=losses["manual"],
        torch_params={name: p.detach() for name, p in torch_params.items()},
        manual_params={name: p.detach() for name, p in manual_params.items()},
        diverged_at=diverged_at, notes=notes, time_limited_at=time_limited_at)


def _empty_sizes(params) -> dict[str, list[float]]:
    return {ALL: [], **{name: [] for name in params}}


def _record_sizes(sizes, before, params) -> None:
    squares = 0.0
    for name, p in params.items():
        size = (p.detach() - before[name]).double().norm().item()
        sizes[name].append(size)
        squares += size ** 2
    sizes[ALL].append(math.sqrt(squares))


def optimizer_row(labels: dict, torch_value, manual_value, tol) -> dict:
    """torch vs hand-written; a tensor missing on one side is a failed row."""
    present = torch_value if torch_value is not None else manual_value
    shape = "×".join(map(str, present.shape))
    if torch_value is None or manual_value is None:
        t_norm = torch_value.double().norm().item() if torch_value is not None else math.nan
        m_norm = manual_value.double().norm().item() if manual_value is not None else math.nan
        return {**labels, "shape": shape, "torch_norm": t_norm, "manual_norm": m_norm,
                "max_abs_diff": math.nan, "rel_error": math.nan, "within_tol": False}
    t, m = torch_value.double(), manual_value.double()
    rel = rel_error(m, t)
    return {**labels, "shape": shape, "torch_norm": t.norm().item(), "manual_norm": m.norm().item(),
            "max_abs_diff": (m - t).abs().max().item() if t.numel() else 0.0,
            "rel_error": rel, "within_tol": bool(rel <= tol)}
