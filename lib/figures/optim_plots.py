"""Plotly figure builders for the optimizer internals page: state heatmaps and update sizes. No Streamlit here."""
from __future__ import annotations

import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from lib.text.i18n import t
from lib.figures.plots import PALETTE, _layout, downsample, step_axis


def state_heatmaps(parameter: str, state: str, manual: torch.Tensor, torch_value: torch.Tensor,
                   lang: str = "en") -> go.Figure:
    """The hand-written optimizer's state tensor beside torch.optim's, on one colour scale."""
    m, note = downsample(manual.detach().double(), lang=lang)
    o, _ = downsample(torch_value.detach().double())   # torch.optim's
    diff_max = (m - o).abs().max().item() if m.numel() else 0.0
    low, high = min(m.min().item(), o.min().item()), max(m.max().item(), o.max().item())
    if low >= 0:   # squares and sums of squares: a one-sided scale shows their spread
        scale = dict(zmin=0, zmax=high or 1.0, colorscale="Viridis")
    else:
        bound = max(-low, high)
        scale = dict(zmin=-bound, zmax=bound, colorscale="RdBu", zmid=0)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=(t("plot.hand_written", lang), "torch.optim"))
    for col, data in enumerate((m, o), 1):
        fig.add_trace(go.Heatmap(z=data.tolist(), showscale=col == 2, **scale,
                                 colorbar=dict(len=0.9, thickness=12, exponentformat="e")), 1, col)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, t("plot.state_title", lang, state=state, parameter=parameter, note=note, diff_max=diff_max),
                   height=400)


def update_size_curve(torch_sizes: list[float], manual_sizes: list[float], label: str,
                      lang: str = "en") -> go.Figure:
    """‖Δθ‖ at every step for torch.optim and the hand-written step; the dashed line lies on the solid one."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(range(len(torch_sizes))), y=torch_sizes, mode="lines", name="torch.optim",
                             line=dict(color=PALETTE[0], width=4)))
    fig.add_trace(go.Scatter(x=list(range(len(manual_sizes))), y=manual_sizes, mode="lines", name=t("plot.hand_written", lang),
                             line=dict(color=PALETTE[1], width=2, dash="dash")))
    step_axis(fig, len(torch_sizes) - 1, title=t("plot.step", lang))
    fig.update_yaxes(title=t("plot.update_size_axis", lang), type="log", exponentformat="power")
    return _layout(fig, t("plot.update_size_title", lang, label=label), height=380)
