"""Plotly figure builders for the optimizer internals page: state heatmaps and update sizes. No Streamlit here."""
from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from lib.plots import PALETTE, _layout, downsample


def state_heatmaps(parameter: str, state: str, manual: torch.Tensor, torch_value: torch.Tensor) -> go.Figure:
    """The hand-written optimizer's state tensor beside torch.optim's, on one colour scale."""
    m, note = downsample(manual.detach().double())
    t, _ = downsample(torch_value.detach().double())
    diff_max = (m - t).abs().max().item() if m.numel() else 0.0
    low, high = min(m.min().item(), t.min().item()), max(m.max().item(), t.max().item())
    if low >= 0:   # squares and sums of squares: a one-sided scale shows their spread
        scale = dict(zmin=0, zmax=high or 1.0, colorscale="Viridis")
    else:
        bound = max(-low, high)
        scale = dict(zmin=-bound, zmax=bound, colorscale="RdBu", zmid=0)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("hand-written", "torch.optim"))
    for col, data in enumerate((m, t), 1):
        fig.add_trace(go.Heatmap(z=data.tolist(), showscale=col == 2, **scale,
                                 colorbar=dict(len=0.9, thickness=12, exponentformat="e")), 1, col)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"{state} of {parameter} ({note}; max |Δ| {diff_max:.1e})", height=400)


def update_size_curve(torch_sizes: list[float], manual_sizes: list[float], label: str) -> go.Figure:
    """‖Δθ‖ at every step for torch.optim and the hand-written step; the dashed line lies on the solid one."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(range(len(torch_sizes))), y=torch_sizes, mode="lines", name="torch.optim",
                             line=dict(color=PALETTE[0], width=4)))
    fig.add_trace(go.Scatter(x=list(range(len(manual_sizes))), y=manual_sizes, mode="lines", name="hand-written",
                             line=dict(color=PALETTE[1], width=2, dash="dash")))
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="‖Δθ‖ (log scale)", type="log", exponentformat="power")
    return _layout(fig, f"Size of each update step: {label}", height=380)
