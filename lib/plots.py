"""Plotly figure builders for the stage pages: loss curves, gradient heatmaps, weight sharing. No Streamlit here."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

# one colour per stage, in tutorial order, readable on a projector
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
HEATMAP_MAX = 100   # a heatmap shows at most this many rows and columns


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=60, b=50),
                      font=dict(size=15), legend=dict(orientation="h", y=-0.2), template="plotly_white")
    return fig


def loss_curves(curves: list[tuple[str, list[float]]], log_y: bool = True, title: str = "Training loss",
                diverged: dict[str, int] | None = None) -> go.Figure:
    """One line per (label, losses); a cross marks where a run diverged."""
    fig = go.Figure()
    for i, (label, losses) in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=list(range(len(losses))), y=losses, mode="lines", name=label,
                                 line=dict(color=colour, width=3 if i == 0 else 2)))
        if diverged and label in diverged and losses:
            fig.add_trace(go.Scatter(x=[len(losses) - 1], y=[losses[-1]], mode="markers", showlegend=False,
                                     marker=dict(symbol="x", size=16, color=colour),
                                     hovertext=f"diverged at step {diverged[label]}"))
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="loss (log scale)" if log_y else "loss", type="log" if log_y else "linear",
                     exponentformat="power")
    return _layout(fig, title)


def downsample(matrix: torch.Tensor, limit: int = HEATMAP_MAX) -> tuple[torch.Tensor, str]:
    """A readable view of a big matrix: the first `limit` rows and columns, and a note saying so."""
    m = matrix if matrix.dim() == 2 else matrix.reshape(1, -1)
    rows, cols = m.shape
    view = m[:limit, :limit]
    if (rows, cols) == tuple(view.shape):
        return view, f"all {rows}×{cols}"
    return view, f"rows 0–{view.shape[0] - 1} of {rows}, columns 0–{view.shape[1] - 1} of {cols}"


def gradient_heatmaps(name: str, manual: torch.Tensor, autograd: torch.Tensor) -> go.Figure:
    """Hand-written gradient, autograd's (one colour scale for both), and their difference on its own scale."""
    m, note = downsample(manual.detach().double())
    a, _ = downsample(autograd.detach().double())
    diff = m - a
    bound = max(m.abs().max().item(), a.abs().max().item()) or 1.0
    diff_max = diff.abs().max().item()
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09,
                        subplot_titles=("hand-written", "autograd", f"hand-written − autograd (max |Δ| {diff_max:.1e})"))
    panels = ((m, bound, None), (a, bound, 0.615), (diff, diff_max or bound, 1.0))
    for col, (data, zmax, bar_x) in enumerate(panels, 1):
        # float32 numpy arrays travel as compact binary, about a quarter of a JSON list of floats
        fig.add_trace(go.Heatmap(z=data.float().numpy(), zmin=-zmax, zmax=zmax, colorscale="RdBu", zmid=0,
                                 showscale=bar_x is not None,
                                 colorbar=dict(x=bar_x, len=0.9, thickness=12, exponentformat="e")), 1, col)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"gradient of {name} ({note})", height=400)


def shared_layer_uses(names: list[str], norms: list[float], total_autograd: float) -> go.Figure:
    """Bars: the norm of each use's contribution to the shared layer's gradient, and autograd's total."""
    fig = go.Figure(go.Bar(x=names + ["autograd's .grad (total)"], y=norms + [total_autograd],
                           marker_color=[PALETTE[0]] * len(names) + [PALETTE[3]]))
    fig.update_yaxes(title="gradient norm")
    return _layout(fig, "middle_linear.weight: one gradient term per use", height=360)


def depth_histogram(depths: list[int]) -> go.Figure:
    """How often the training loop ran middle_linear 0, 1, 2 or 3 times."""
    counts = [depths.count(d) for d in range(4)]
    fig = go.Figure(go.Bar(x=["0", "1", "2", "3"], y=counts, marker_color=PALETTE[4]))
    fig.update_xaxes(title="times middle_linear ran in one forward pass")
    fig.update_yaxes(title="training steps")
    return _layout(fig, f"Control flow: {len(depths)} forward passes, {sum(depths)} uses of the shared layer",
                   height=360)


def first_step_below(losses: list[float], fraction: float = 0.01) -> int | None:
    """The first step whose loss is at most `fraction` of the first loss, or None."""
    if not losses or not math.isfinite(losses[0]):
        return None
    target = losses[0] * fraction
    return next((t for t, loss in enumerate(losses) if loss <= target), None)
