"""The loss on a 2D slice through the optim stage's weights (Li et al. 2018, "Visualizing the Loss Landscape of
Neural Nets"), with each optimizer's path projected onto it.

The slice is centred on the weights the chosen optimizer reaches after k steps; its two directions are random,
filter-normalised: each row of a weight matrix (one neuron's incoming weights, a "filter") is scaled to that
row's norm in the centre, and biases get no direction (the paper's ignore="biasbn"), so they stay at the centre.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import loss_at
from lib.explore.optim_internals import check_k
from lib.tutorial.optimizers import OPTIMIZERS, make_optimizer
from lib.tutorial.stages import run_stage

GRID_DEFAULT = 21   # points per side
GRID_MAX = 41
SPAN = 1.0          # α and β run over [-SPAN, SPAN]: ±1 is a step as long as each filter itself


@dataclass
class Landscape:
    optimizer: str                               # whose final weights are the centre
    k: int
    coords: list[float]                          # α (and β) of the grid, 0.0 exactly in the middle
    losses: list[list[float]]                    # losses[j][i]: the loss at centre + α_i d1 + β_j d2 (nan: not reached)
    centre_loss: float
    paths: dict[str, list[tuple[float, float]]]  # optimizer -> (α, β) of its weights before each step and after the last
    path_losses: dict[str, list[float]]          # optimizer -> the true loss at those weights (off the plane)
    kept: dict[str, float] = field(default_factory=dict)   # optimizer -> share of its path's length the plane keeps
    time_limited: bool = False                   # the time limit cut a path or the grid short


def filter_normalised_direction(params: dict[str, torch.Tensor], generator: torch.Generator) -> dict:
    """A random direction shaped like `params`: each weight-matrix row as long as that row of `params`,
    biases 0."""
    direction = {}
    for name, p in params.items():
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        if p.dim() <= 1:
            direction[name] = torch.zeros_like(d)
        else:
            rows = p.double().norm(dim=1, keepdim=True)
            direction[name] = d * rows / d.norm(dim=1, keepdim=True).clamp_min(1e-30)
    return {name: d.to(params[name].dtype) for name, d in direction.items()}


def _dot(a: dict, b: dict) -> float:
    return sum((a[name].double() * b[name].double()).sum().item() for name in a)


class Plane:
    """Projection onto the plane centre + α d1 + β d2 (least squares: the directions need not be orthogonal)."""

    def __init__(self, centre: dict, d1: dict, d2: dict):
        self.centre, self.d1, self.d2 = centre, d1, d2
        gram = torch.tensor([[_dot(d1, d1), _dot(d1, d2)], [_dot(d2, d1), _dot(d2, d2)]], dtype=torch.float64)
        self.gram, self.inverse = gram, torch.linalg.inv(gram)

    def project(self, params: dict) -> tuple[float, float]:
        offset = {name: params[name].detach().double() - self.centre[name].double() for name in self.centre}
        alpha, beta = (self.inverse @ torch.tensor([_dot(offset, self.d1), _dot(offset, self.d2)],
                                                   dtype=torch.float64)).tolist()
        return alpha, beta

    def length(self, d_alpha: float, d_beta: float) -> float:
        """The length of the move (d_alpha, d_beta) on the plane, in weight space."""
        move = torch.tensor([d_alpha, d_beta], dtype=torch.float64)
        return math.sqrt((move @ self.gram @ move).item())

    def point(self, alpha: float, beta: float) -> dict:
        return {name: c + alpha * self.d1[name] + beta * self.d2[name] for name, c in self.centre.items()}


class Path:
    """An optimizer's weights seen step by step: their (α, β) on the plane, their loss, and how far they moved
    in weight space and on the plane."""

    def __init__(self, plane: Plane):
        self.plane, self.points, self.losses = plane, [], []
        self.walked = self.on_plane = 0.0
        self.previous = None

    def visit(self, params: dict, loss: float) -> None:
        now = {name: p.detach().double().clone() for name, p in params.items()}
        self.points.append(self.plane.project(now))
        self.losses.append(loss)
        if self.previous is not None:
            move = {name: now[name] - self.previous[name] for name in now}
            self.walked += math.sqrt(_dot(move, move))
            (a0, b0), (a1, b1) = self.points[-2:]
            self.on_plane += self.plane.length(a1 - a0, b1 - b0)
        self.previous = now


def optim_structure(config: TrainConfig) -> torch.nn.Module:
    """The optim stage's Linear-ReLU-Linear without weights (loss_at swaps them in), made once per path."""
    with torch.device("meta"):   # no weights drawn: nobody's random stream is touched
        return torch.nn.Sequential(torch.nn.Linear(config.d_in, config.hidden), torch.nn.ReLU(),
                                   torch.nn.Linear(config.hidden, config.d_out))


def train(config: TrainConfig, optimizer: str, k: int, start, deadline, visit=None):
    """k steps of `optimizer` on the optim stage from `start` (its run at step 0), as compare_optimizer takes them;
    `visit(params, loss)` sees the weights before each step and after the last. Returns the final weights and
    whether the time limit stopped it."""
    params = {name: p.clone().requires_grad_(True) for name, p in start.params.items()}
    opt = make_optimizer(params.values(), config.with_(optimizer=optimizer))
    module = optim_structure(config)
    for _ in range(k):
        if deadline is not None and time.perf_counter() > deadline:
            return params, True
        loss = loss_at("optim", config, params, start.x, start.y, module=module)
        if not math.isfinite(loss.item()):
            break
        if visit is not None:
            visit(params, loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    if visit is not None:
        with torch.no_grad():
            visit(params, loss_at("optim", config, params, start.x, start.y, module=module).item())
    return params, False


def loss_landscape(config: TrainConfig, k: int, grid: int = GRID_DEFAULT, span: float = SPAN,
                   time_limit_s: float | None = None) -> Landscape:
    """The loss on a grid × grid slice around config.optimizer's weights after k steps, and every optimizer's
    path (k steps from the optim stage's initial weights, same lr) projected onto it."""
    check_k(k, config)
    if isinstance(grid, bool) or not isinstance(grid, int) or not 3 <= grid <= GRID_MAX or grid % 2 == 0:
        raise ValueError(f"grid={grid!r}: an odd whole number from 3 to {GRID_MAX} (the centre is a grid point)")
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    start = run_stage("optim", config, stop_at=0)
    final, limited = train(config, config.optimizer, k, start, deadline)
    centre = {name: p.detach().clone() for name, p in final.items()}
    generator = torch.Generator().manual_seed(config.seed)
    plane = Plane(centre, filter_normalised_direction(centre, generator), filter_normalised_direction(centre, generator))

    paths, path_losses, kept = {}, {}, {}
    for name in OPTIMIZERS:
        path = Path(plane)
        _, cut = train(config, name, k, start, deadline, path.visit)
        limited |= cut
        paths[name], path_losses[name] = path.points, path.losses
        kept[name] = path.on_plane / path.walked if path.walked > 0 else math.nan

    coords = [span * (i - grid // 2) / (grid // 2) for i in range(grid)]
    losses = [[math.nan] * grid for _ in range(grid)]
    first = FirstLayer(plane, start.x)
    for j, beta in enumerate(coords):
        if deadline is not None and time.perf_counter() > deadline:
            limited = True
            break
        losses[j] = row_losses(plane, first, coords, beta, start.y)
    with torch.no_grad():
        centre_loss = loss_at("optim", config, centre, start.x, start.y).item()
    return Landscape(optimizer=config.optimizer, k=k, coords=coords, losses=losses, centre_loss=centre_loss,
                     paths=paths, path_losses=path_losses, kept=kept, time_limited=limited)


class FirstLayer:
    """x's products with the first layer's centre and directions, made once: at (α, β) the first layer's output is
    x W(α, β)ᵀ = x W_cᵀ + α x D1ᵀ + β x D2ᵀ, so a grid point costs no (N, D_IN) × (D_IN, H) product."""

    @torch.no_grad()
    def __init__(self, plane: Plane, x):
        weight, bias = list(plane.centre)[:2]   # Sequential's "0.weight", "0.bias"
        self.centre, self.d1, self.d2 = (x @ p[weight].t() for p in (plane.centre, plane.d1, plane.d2))  # (N, H)
        self.bias = bias


@torch.no_grad()
def row_losses(plane: Plane, first: FirstLayer, alphas: list[float], beta: float, y) -> list[float]:
    """The optim stage's loss (its Linear-ReLU-Linear, MSE summed) at (α, beta) for every α at once."""
    weight2, bias2 = list(plane.centre)[2:]
    a = torch.tensor(alphas, dtype=y.dtype).view(-1, 1, 1)
    b1 = plane.centre[first.bias] + a * plane.d1[first.bias] + beta * plane.d2[first.bias]
    h_relu = (first.centre + a * first.d1 + beta * first.d2 + b1).clamp(min=0)                  # (A, N, H)
    w2 = plane.centre[weight2] + a * plane.d1[weight2] + beta * plane.d2[weight2]              # (A, D_OUT, H)
    b2 = plane.centre[bias2] + a * plane.d1[bias2] + beta * plane.d2[bias2]
    y_pred = h_relu @ w2.transpose(1, 2) + b2                                                  # (A, N, D_OUT)
    return (y_pred - y).pow(2).sum(dim=(1, 2)).tolist()
