"""One training step of stage 1's network on a tiny copy, every tensor kept, every entry written out as its sum.

Pure functions over a StepState: init, forward, backward, update (each returns a new state), and expand_entry,
which writes one entry of one tensor as a sum of products with the actual numbers. The arithmetic is the
tutorial's own (tests/reference.py: stage 1), in float32 like the tutorial.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import torch

from lib.tutorial.backward import linear_backward, mse_backward, relu_backward

SIZE_MAX = 8          # a matrix of at most 8×8 numbers still reads on a projector
SEED_MAX = 2**31 - 1
LR_RANGE = (1e-4, 1.0)
SPEED_RANGE = (0.2, 5.0)   # seconds between Play's steps
QUERY_VALUE_MAX = 32


@dataclass(frozen=True)
class StepSettings:
    n: int = 2             # samples, N
    d_in: int = 3          # input features, D_IN
    hidden: int = 4        # hidden units, H
    d_out: int = 2         # outputs, D_OUT
    seed: int = 0          # torch.manual_seed: the same seed gives the same x, y and initial weights
    lr: float = 0.01       # the tutorial's 1e-6 suits N=64, D_IN=1000; a tiny net needs a bigger step to move
    speed: float = 1.0     # seconds between steps while playing

    def __post_init__(self):
        for name in ("n", "d_in", "hidden", "d_out"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SIZE_MAX:
                raise ValueError(f"{name}={value!r} must be a whole number from 1 to {SIZE_MAX}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise ValueError(f"seed={self.seed!r} must be a whole number from 0 to {SEED_MAX}")
        for name, (low, high) in (("lr", LR_RANGE), ("speed", SPEED_RANGE)):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"{name}={value!r} must be a number from {low:g} to {high:g}")


# the URL's keys (prefixed: the stage pages read n, d_in, ... from links of their own) and their fields
QUERY_KEYS = {"sm_n": ("n", int), "sm_d_in": ("d_in", int), "sm_hidden": ("hidden", int),
              "sm_d_out": ("d_out", int), "sm_seed": ("seed", int), "sm_lr": ("lr", float),
              "sm_speed": ("speed", float)}


def settings_from_query(query: dict[str, str], defaults: StepSettings = StepSettings()
                        ) -> tuple[StepSettings, list[str]]:
    """The allowed keys of `query` over `defaults`; a bad value is dropped with a message naming it."""
    settings, problems = defaults, []
    for key, (name, kind) in QUERY_KEYS.items():
        if key not in query:
            continue
        text = str(query[key])[:QUERY_VALUE_MAX + 1]
        try:
            settings = replace(settings, **{name: kind(text)})
        except ValueError as err:
            shown = text if len(text) <= QUERY_VALUE_MAX else text[:QUERY_VALUE_MAX] + "…"
            problems.append(f"{key}={shown}: {err}; using {getattr(settings, name)}")
    return settings, problems


def settings_to_query(settings: StepSettings) -> dict[str, str]:
    return {key: str(getattr(settings, name)) for key, (name, _) in QUERY_KEYS.items()}


# the phase that produces each tensor; the phases run init, then forward, backward, update over and over
PRODUCED_BY = {"x": "init", "y": "init", "w1": "init", "w2": "init",
               "h": "forward", "h_relu": "forward", "y_pred": "forward", "loss": "forward",
               "grad_y_pred": "backward", "grad_w2": "backward", "grad_h_relu": "backward", "grad_h": "backward",
               "grad_w1": "backward"}
FORWARD = ("h", "h_relu", "y_pred", "loss")
BACKWARD = ("grad_y_pred", "grad_w2", "grad_h_relu", "grad_h", "grad_w1")
# autograd's value of each hand-written gradient: .grad of the weights, retain_grad() of the intermediates
AUTOGRAD_OF = {"grad_y_pred": "y_pred", "grad_w2": "w2", "grad_h_relu": "h_relu", "grad_h": "h", "grad_w1": "w1"}


@dataclass(frozen=True)
class StepState:
    settings: StepSettings
    tensors: dict[str, torch.Tensor]                 # by the tutorial's names
    autograd: dict[str, torch.Tensor] = field(default_factory=dict)   # autograd's gradients, by the same names
    phase: str = "init"                              # the last phase that ran
    step: int = 0                                    # updates done
    losses: tuple[float, ...] = ()                   # the loss of every forward pass since Reset

    def with_(self, **changes) -> "StepState":
        return replace(self, **changes)


def init(settings: StepSettings) -> StepState:
    """x, y, w1, w2 drawn as the tutorial draws them after torch.manual_seed(seed) (its own generator here)."""
    gen = torch.Generator().manual_seed(settings.seed)
    N, D_IN, H, D_OUT = settings.n, settings.d_in, settings.hidden, settings.d_out
    x = torch.randn(N, D_IN, generator=gen)          # (N, D_IN)
    y = torch.randn(N, D_OUT, generator=gen)         # (N, D_OUT)
    w1 = torch.randn(D_IN, H, generator=gen)         # (D_IN, H)
    w2 = torch.randn(H, D_OUT, generator=gen)        # (H, D_OUT)
    return StepState(settings=settings, tensors={"x": x, "y": y, "w1": w1, "w2": w2})


def next_phase(state: StepState) -> str:
    return {"init": "forward", "forward": "backward", "backward": "update", "update": "forward"}[state.phase]


def _check(state: StepState, phase: str) -> None:
    if next_phase(state) != phase:
        raise ValueError(f"{phase} cannot follow {state.phase}: the order is forward, backward, update")


def forward(state: StepState) -> StepState:
    _check(state, "forward")
    t = state.tensors
    h = t["x"].mm(t["w1"])                           # (N, H)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(t["w2"])                      # (N, D_OUT)
    loss = (y_pred - t["y"]).pow(2).sum()
    kept = {k: v for k, v in t.items() if PRODUCED_BY.get(k) == "init"}   # the last step's gradients go
    return state.with_(tensors={**kept, "h": h, "h_relu": h_relu, "y_pred": y_pred, "loss": loss},
                       autograd={}, phase="forward", losses=state.losses + (loss.item(),))


def backward(state: StepState) -> StepState:
    """The tutorial's hand-written backward, and autograd's on copies of the same numbers beside it."""
    _check(state, "backward")
    t = state.tensors
    grad_y_pred = mse_backward(t["y_pred"], t["y"])                              # (N, D_OUT)
    grad_h_relu, grad_w2, _ = linear_backward(grad_y_pred, t["h_relu"], t["w2"])   # (N, H), (H, D_OUT)
    grad_h = relu_backward(grad_h_relu, t["h"])                                  # (N, H)
    _, grad_w1, _ = linear_backward(grad_h, t["x"], t["w1"])                     # (D_IN, H)
    grads = {"grad_y_pred": grad_y_pred, "grad_w2": grad_w2, "grad_h_relu": grad_h_relu, "grad_h": grad_h,
             "grad_w1": grad_w1}
    return state.with_(tensors={**t, **grads}, autograd=autograd_gradients(state), phase="backward")


def autograd_gradients(state: StepState) -> dict[str, torch.Tensor]:
    t = state.tensors
    w1 = t["w1"].clone().requires_grad_(True)
    w2 = t["w2"].clone().requires_grad_(True)
    h = t["x"].mm(w1)
    h_relu = h.clamp(min=0)
    y_pred = h_relu.mm(w2)
    for inner in (h, h_relu, y_pred):
        inner.retain_grad()
    (y_pred - t["y"]).pow(2).sum().backward()
    found = {"y_pred": y_pred.grad, "w2": w2.grad, "h_relu": h_relu.grad, "h": h.grad, "w1": w1.grad}
    return {name: found[of].detach() for name, of in AUTOGRAD_OF.items()}


def update(state: StepState, lr: float | None = None) -> StepState:
    """w -= lr * grad_w, as the tutorial; the weights before stay as w1_before/w2_before for the write-out."""
    _check(state, "update")
    lr = state.settings.lr if lr is None else lr
    t = state.tensors
    w1, w2 = t["w1"].clone(), t["w2"].clone()
    w1 -= lr * t["grad_w1"]
    w2 -= lr * t["grad_w2"]
    return state.with_(tensors={**t, "w1_before": t["w1"], "w2_before": t["w2"], "w1": w1, "w2": w2,
                                "lr": torch.tensor(lr, dtype=torch.float64)}, phase="update", step=state.step + 1)


def whole_step(state: StepState) -> StepState:
    """Play's tick: the phases left of this step, then the next step's forward, backward and update."""
    state = {"init": forward, "update": forward}.get(state.phase, lambda s: s)(state)
    if state.phase == "forward":
        state = backward(state)
    return update(state)


def produced_by(state: StepState, name: str) -> str:
    if name in ("w1", "w2") and state.phase == "update":
        return "update"
    return PRODUCED_BY[name]


# ---------------------------------------------------------------- one entry, written out
SHOWN = tuple(PRODUCED_BY)   # the tensors a reader can expand


def _num(v: float) -> str:
    text = f"{v:.3f}".replace("-", "−")
    return f"({text})" if v < 0 else text


def expand_entry(state: StepState, name: str, i: int = 0, j: int = 0) -> tuple[str, list[tuple[float, ...]], float]:
    """`name[i, j]` as a sum of products of the numbers it came from: (the text, the terms, the entry).

    Every entry is Σ over `terms` of the product of each term's factors (a term of one factor is that number).
    """
    t = state.tensors
    if name not in t:
        raise ValueError(f"{name} has not been computed yet (it comes from the {PRODUCED_BY.get(name)} phase)")
    if name == "loss":
        i = j = 0
    elif not (0 <= i < t[name].shape[0] and 0 <= j < t[name].shape[1]):
        raise ValueError(f"{name}[{i},{j}] is outside its shape {tuple(t[name].shape)}")
    at = (lambda key, a, b: t[key][a, b].item())
    entry = t[name].item() if name == "loss" else at(name, i, j)
    n_rows, hidden, d_out, d_in = t["x"].shape[0], t["w1"].shape[1], t["w2"].shape[1], t["x"].shape[1]
    numeric = None   # the sums' numbers are written out below
    # after an update, this step's forward and backward values came from the weights before it
    w1, w2 = ("w1_before", "w2_before") if state.phase == "update" else ("w1", "w2")
    if name in ("x", "y") or (name in ("w1", "w2") and state.phase != "update"):
        terms = [(entry,)]
        symbolic, numeric = f"torch.randn, seed {state.settings.seed}", _num(entry)
    elif name in ("w1", "w2"):
        lr = t["lr"].item()
        grad, before = f"grad_{name}", f"{name}_before"
        terms = [(at(before, i, j),), (-lr, at(grad, i, j))]
        symbolic = f"{before}[{i},{j}] − lr·{grad}[{i},{j}]"
        numeric = f"{_num(terms[0][0])} − {lr:g}·{_num(terms[1][1])}"
    elif name == "h":
        terms = [(at("x", i, k), at(w1, k, j)) for k in range(d_in)]
        symbolic = f"Σ_k x[{i},k]·{w1}[k,{j}]"
    elif name == "h_relu":
        h = at("h", i, j)
        terms = [(h,)] if h > 0 else []
        symbolic, numeric = f"max(h[{i},{j}], 0)", f"max({_num(h)}, 0)"
    elif name == "y_pred":
        terms = [(at("h_relu", i, k), at(w2, k, j)) for k in range(hidden)]
        symbolic = f"Σ_k h_relu[{i},k]·{w2}[k,{j}]"
    elif name == "loss":
        diffs = [at("y_pred", a, b) - at("y", a, b) for a in range(n_rows) for b in range(d_out)]
        terms = [(d, d) for d in diffs]
        symbolic = "Σ_n,j (y_pred[n,j] − y[n,j])²"
        numeric = " + ".join(f"{_num(d)}²" for d in diffs)
    elif name == "grad_y_pred":
        diff = at("y_pred", i, j) - at("y", i, j)
        terms = [(2.0, diff)]
        symbolic = f"2·(y_pred[{i},{j}] − y[{i},{j}])"
        numeric = f"2·({_num(at('y_pred', i, j))} − {_num(at('y', i, j))})"
    elif name == "grad_w2":
        terms = [(at("h_relu", n, i), at("grad_y_pred", n, j)) for n in range(n_rows)]
        symbolic = f"Σ_n h_relu[n,{i}]·grad_y_pred[n,{j}]"
    elif name == "grad_h_relu":
        terms = [(at("grad_y_pred", i, k), at(w2, j, k)) for k in range(d_out)]
        symbolic = f"Σ_k grad_y_pred[{i},k]·{w2}[{j},k]"
    elif name == "grad_h":
        h = at("h", i, j)
        terms = [] if h < 0 else [(at("grad_h_relu", i, j),)]
        symbolic = f"grad_h_relu[{i},{j}] if h[{i},{j}] ≥ 0 else 0"
        numeric = f"{_num(at('grad_h_relu', i, j))} (h = {_num(h)} ≥ 0)" if h >= 0 else f"0 (h = {_num(h)} < 0)"
    elif name == "grad_w1":
        terms = [(at("x", n, i), at("grad_h", n, j)) for n in range(n_rows)]
        symbolic = f"Σ_n x[n,{i}]·grad_h[n,{j}]"
    else:
        raise ValueError(f"{name} is not one of {', '.join(SHOWN)}")
    if numeric is None:
        numeric = " + ".join("·".join(_num(f) for f in term) for term in terms)
    value = sum(math.prod(term) for term in terms)
    where = "loss" if name == "loss" else f"{name}[{i},{j}]"
    if len(terms) == 1 and len(terms[0]) == 1 and name in ("x", "y", "w1", "w2"):
        return f"{where} = {numeric}  ({symbolic})", terms, value
    return f"{where} = {symbolic} = {numeric} = {_num(value).strip('()')}", terms, value
