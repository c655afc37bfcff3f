"""Plotly figure builders for weights and gradients over time (lib.tutorial.histograms). No Streamlit here."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lib.tutorial.histograms import Histogram, ParameterHistory
from lib.text.i18n import t
from lib.figures.plots import PALETTE, _layout


def _bars(fig: go.Figure, hist: Histogram, row: int, col: int, colour: str, name: str) -> None:
    centres = [(low + high) / 2 for low, high in zip(hist.edges, hist.edges[1:])]
    widths = [high - low for low, high in zip(hist.edges, hist.edges[1:])]
    fig.add_trace(go.Bar(x=centres, y=hist.counts, width=widths, marker_color=colour, name=name, showlegend=False,
                         hovertemplate="%{x:.3g}: %{y}<extra></extra>"), row, col)


def parameter_histograms(history: ParameterHistory, name: str, label: str, lang: str = "en") -> go.Figure:
    """One row per step: the histogram of `name`'s entries (left) and of its gradient's (right). Each column
    shares its x axis, so a gradient that grows over training spreads wider row by row."""
    steps = history.steps
    titles = []
    for i, step in enumerate(steps):
        depth = (t("plot.hist_depth", lang, depth=history.depths[i]) if history.depths else "")
        titles += [t("plot.hist_weight_at", lang, step=step, depth=depth),
                   t("plot.hist_grad_at", lang, step=step, depth=depth)]
    fig = make_subplots(rows=len(steps), cols=2, shared_xaxes="columns", vertical_spacing=0.35 / max(len(steps), 1),
                        horizontal_spacing=0.08, subplot_titles=titles)
    for row, _ in enumerate(steps, 1):
        _bars(fig, history.weights[name][row - 1], row, 1, PALETTE[0], label)
        _bars(fig, history.gradients[name][row - 1], row, 2, PALETTE[3], label)
    fig.update_xaxes(exponentformat="e", showticklabels=True)
    fig.update_xaxes(title=t("plot.hist_value", lang, name=label), row=len(steps), col=1)
    fig.update_xaxes(title=t("plot.hist_grad_value", lang, name=label), row=len(steps), col=2)
    fig.update_yaxes(title=t("plot.hist_count", lang), col=1)
    fig.update_layout(bargap=0)
    fig.update_annotations(font_size=13)
    return _layout(fig, t("plot.hist_title", lang, name=label), height=150 + 140 * len(steps))
