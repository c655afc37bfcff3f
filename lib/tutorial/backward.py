"""One hand-written backward per layer kind, each beside its forward and written the way stage 1 writes its
own; a network of them; and central finite differences, the check that needs no backward at all."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

FD_EPS = 1e-6        # float64 central differences: truncation ~eps², rounding ~1e-16 / eps


# ---------------------------------------------------------------- Linear: y = x @ w (+ b)
def linear(x, w, b=None):
    y = x.mm(w)                     # (N, D_OUT)
    return y if b is None else y + b


def linear_backward(grad_y, x, w):
    """grad_x, grad_w, grad_b from grad_y = dL/dy. An nn.Linear keeps W as (D_OUT, D_IN) and computes
    x @ W.t() + b: pass W.t() as w and take grad_w.t() as its gradient."""
    grad_x = grad_y.mm(w.t())       # (N, D_IN)
    grad_w = x.t().mm(grad_y)       # (D_IN, D_OUT)
    grad_b = grad_y.sum(0)          # (D_OUT,): b was added to every row
    return grad_x, grad_w, grad_b


# ---------------------------------------------------------------- activations: forward(h), backward(grad_out, h)
def relu(h):
    return h.clamp(min=0)


def relu_backward(grad_h_relu, h):
    """The tutorial's rule, MyReLU's too: where h < 0 no gradient passes; at h == 0 it does (torch's does not)."""
    grad_h = grad_h_relu.clone()    # (N, H)
    grad_h[h < 0] = 0
    return grad_h


LEAKY_SLOPE = 0.01   # torch.nn.LeakyReLU's default negative_slope


def leaky_relu(h):
    return torch.where(h < 0, LEAKY_SLOPE * h, h)


def leaky_relu_backward(grad_out, h):
    grad_h = grad_out.clone()       # (N, H)
    grad_h[h < 0] *= LEAKY_SLOPE
    return grad_h


def tanh(h):
    return h.tanh()


def tanh_backward(grad_out, h):
    return grad_out * (1 - h.tanh() ** 2)            # tanh' = 1 - tanh²


def sigmoid(h):
    return h.sigmoid()


def sigmoid_backward(grad_out, h):
    s = h.sigmoid()
    return grad_out * s * (1 - s)                    # σ' = σ (1 - σ)


# name -> (forward, backward); the keys are torch.nn's class names in lower case
ACTIVATIONS = {"relu": (relu, relu_backward), "leaky_relu": (leaky_relu, leaky_relu_backward),
               "tanh": (tanh, tanh_backward), "sigmoid": (sigmoid, sigmoid_backward)}


# ---------------------------------------------------------------- losses: forward(pred, target), backward -> dL/dpred
def mse(y_pred, y, reduction="sum"):
    """The tutorial's loss, (y_pred - y).pow(2).sum(); reduction="mean" is nn.MSELoss's default."""
    loss = (y_pred - y).pow(2).sum()
    return loss if reduction == "sum" else loss / y.numel()


def mse_backward(y_pred, y, reduction="sum"):
    grad_y_pred = 2.0 * (y_pred - y)                 # (N, D_OUT)
    return grad_y_pred if reduction == "sum" else grad_y_pred / y.numel()


def softmax(logits):
    exp = (logits - logits.max(1, keepdim=True).values).exp()   # shifted by the row's max: exp cannot overflow
    return exp / exp.sum(1, keepdim=True)            # (N, C)


def cross_entropy(logits, labels, reduction="mean"):
    """-log softmax(logits)[label], as F.cross_entropy (whose default reduction is "mean")."""
    log_probs = logits - logits.logsumexp(1, keepdim=True)        # (N, C)
    loss = -log_probs.gather(1, labels[:, None]).sum()
    return loss / len(labels) if reduction == "mean" else loss


def cross_entropy_backward(logits, labels, reduction="mean"):
    # d(-log softmax(logits)[label]) / d logits = softmax - onehot
    grad_logits = softmax(logits) - F.one_hot(labels, logits.shape[1]).to(logits.dtype)   # (N, C)
    return grad_logits / len(labels) if reduction == "mean" else grad_logits


# ---------------------------------------------------------------- a network of them
def network_forward(x, layers, activation: str = "relu"):
    """y_pred of Linear, activation, Linear, ..., activation, Linear; and what its backward needs: the input
    each Linear saw and each hidden pre-activation. `layers` holds nn.Linear's (W, b): W is (D_OUT, D_IN)."""
    act, _ = ACTIVATIONS[activation]
    inputs, pres = [x], []
    for w, b in layers[:-1]:
        pres.append(linear(inputs[-1], w.t(), b))    # (N, H)
        inputs.append(act(pres[-1]))
    w_out, b_out = layers[-1]
    return linear(inputs[-1], w_out.t(), b_out), inputs, pres    # y_pred: (N, D_OUT)


def network_backward(x, layers, loss_backward: Callable, activation: str = "relu") -> list[tuple]:
    """(grad_W, grad_b) of each of network_forward's layers, one layer at a time, from the last to the first.

    `loss_backward(y_pred)` gives dL/dy_pred. A layer that appears twice (stage 7's shared middle_linear) gets
    one term per use; its gradient is their sum.
    """
    _, act_backward = ACTIVATIONS[activation]
    y_pred, inputs, pres = network_forward(x, layers, activation)
    grad = loss_backward(y_pred)                     # dL/dy_pred, (N, D_OUT)
    grads = []
    for k in reversed(range(len(layers))):
        if k < len(pres):
            grad = act_backward(grad, pres[k])       # through the activation after layer k
        grad, grad_w, grad_b = linear_backward(grad, inputs[k], layers[k][0].t())
        grads.insert(0, (grad_w.t(), grad_b))
    return grads


def layers_of(params: dict, names) -> list[tuple]:
    """[(W, b), ...] of the parameters named weight, bias, weight, bias, ... in the forward's order."""
    return [(params[w], params[b]) for w, b in zip(names[::2], names[1::2])]


def network_grads(params: dict, names, x, loss_backward: Callable, activation: str = "relu") -> dict:
    """network_backward's gradients by parameter name (each layer used once)."""
    grads = network_backward(x, layers_of(params, names), loss_backward, activation)
    return dict(zip(names, (g for grad_w_b in grads for g in grad_w_b)))


# ---------------------------------------------------------------- finite differences
def finite_differences(loss: Callable[[], torch.Tensor], params: dict, picks: dict | None = None,
                       eps: float = FD_EPS) -> dict:
    """Central differences (L(p + eps) - L(p - eps)) / 2 eps at chosen entries of each parameter.

    `loss()` reads `params`, which are nudged in place and put back. `picks[name]` lists flat indices into that
    parameter (every entry when `picks` is None); the result holds one difference per index, in that order.
    """
    out = {}
    with torch.no_grad():
        for name, p in params.items():
            flat = p.view(-1)
            indices = range(flat.numel()) if picks is None else picks[name]
            numeric = []
            for i in indices:
                orig = flat[i].item()
                flat[i] = orig + eps
                up = loss().item()
                flat[i] = orig - eps
                down = loss().item()
                flat[i] = orig
                numeric.append((up - down) / (2 * eps))
            out[name] = torch.tensor(numeric, dtype=torch.float64)
    return out
