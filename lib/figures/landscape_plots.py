"""Plotly figure builder for the loss landscape (lib.explore.landscape): a contour with every optimizer's path. No
Streamlit here."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from lib.text.i18n import t
from lib.explore.landscape import Landscape
from lib.figures.plots import PALETTE, _layout


def landscape_contour(landscape: Landscape, labels: dict[str, str], lang: str = "en") -> go.Figure:
    """log10 of the loss over the slice, the centre marked, and each optimizer's path (start ○, end ×) on it;
    `labels` names the optimizers in the reader's language."""
    z = [[math.log10(v) if v > 0 and math.isfinite(v) else None for v in row] for row in landscape.losses]
    hover = [[f"{v:.4g}" for v in row] for row in landscape.losses]
    fig = go.Figure(go.Contour(x=landscape.coords, y=landscape.coords, z=z, customdata=hover, colorscale="Viridis",
                               ncontours=25, colorbar=dict(title=t("plot.landscape_log_loss", lang), thickness=12),
                               hovertemplate="α %{x:.3g}, β %{y:.3g}: %{customdata}<extra></extra>"))
    for colour, (name, points) in zip(PALETTE[1:], landscape.paths.items()):
        if not points:
            continue
        alphas, betas = zip(*points)
        losses = [f"{v:.4g}" for v in landscape.path_losses[name]]
        fig.add_trace(go.Scatter(x=alphas, y=betas, mode="lines+markers", name=labels[name], customdata=losses,
                                 line=dict(color=colour, width=2), marker=dict(size=4),
                                 hovertemplate=f"{labels[name]}<br>α %{{x:.3g}}, β %{{y:.3g}}<br>"
                                               f"{t('plot.landscape_path_loss', lang)} %{{customdata}}<extra></extra>"))
        fig.add_trace(go.Scatter(x=[alphas[0], alphas[-1]], y=[betas[0], betas[-1]], mode="markers",
                                 showlegend=False, hoverinfo="skip",
                                 marker=dict(color=colour, size=[10, 12], symbol=["circle-open", "x"])))
    fig.add_trace(go.Scatter(x=[0.0], y=[0.0], mode="markers", name=t("plot.landscape_centre", lang),
                             marker=dict(color="white", size=12, symbol="star", line=dict(color="black", width=1))))
    span = landscape.coords[-1]
    fig.update_xaxes(title=t("plot.landscape_alpha", lang), range=[-span, span], exponentformat="e", constrain="domain")
    fig.update_yaxes(title=t("plot.landscape_beta", lang), range=[-span, span], exponentformat="e",
                     scaleanchor="x", scaleratio=1)
    return _layout(fig, t("plot.landscape_title", lang, optimizer=labels[landscape.optimizer], k=landscape.k),
                   height=620)
