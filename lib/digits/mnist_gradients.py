"""The MLP's softmax + cross-entropy backward written by hand, checked against autograd and central differences."""
from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import functional_call

from lib.digits.mnist_models import MnistMLP
from lib.tutorial.backward import cross_entropy_backward, finite_differences, network_grads
from lib.tutorial.gradients import COLUMNS, TOLERANCE, comparison_row, rel_error


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
