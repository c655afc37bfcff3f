"""Plotly figures for the MNIST page: curves, confusion matrix, per-class accuracy, digit grids, probabilities.
They take lib.digits.mnist_training results and tensors and return go.Figure; no Streamlit here."""
from __future__ import annotations

import math

import plotly.express as px
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from lib.text.i18n import t
from lib.digits.mnist_data import CLASSES
from lib.digits.mnist_training import MnistResult

DIGITS = [str(d) for d in range(CLASSES)]


def loss_curves(result: MnistResult, lang: str = "en") -> go.Figure:
    """Every batch's training loss, and the held-out loss after each epoch, against epochs."""
    steps = len(result.batch_losses)
    per_epoch = steps / max(len(result.history), 1) if result.history else max(steps, 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[(i + 1) / per_epoch for i in range(steps)], y=result.batch_losses,
                             mode="lines", name=t("mnist_plot.train_loss", lang), line=dict(width=1)))
    fig.add_trace(go.Scatter(x=[h["epoch"] for h in result.history], y=[h["test_loss"] for h in result.history],
                             mode="lines+markers", name=t("mnist_plot.test_loss", lang)))
    fig.update_layout(title=t("mnist_plot.loss_title", lang), xaxis_title=t("mnist_plot.epoch", lang),
                      yaxis_title=t("plot.loss", lang), yaxis_type="log",
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=50))
    return fig


def percent_ticks(values: list[float]) -> dict:
    """A tick step for fractions shown as percentages, and just enough decimals that no two labels read the same."""
    span = max(values) - min(values) if values else 0.0
    if span <= 0:
        return dict(tickformat=".1%")
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9))   # step in percent: 0.2% -> 1 decimal
    return dict(tickformat=f".{decimals}%", dtick=step)


def accuracy_curve(result: MnistResult, lang: str = "en") -> go.Figure:
    accuracies = [h["test_accuracy"] for h in result.history]
    fig = go.Figure(go.Scatter(x=[h["epoch"] for h in result.history], y=accuracies, mode="lines+markers",
                               name=t("mnist_plot.accuracy_name", lang)))
    fig.update_layout(title=t("mnist_plot.accuracy_title", lang), xaxis_title=t("mnist_plot.epoch", lang),
                      yaxis_title=t("mnist_plot.accuracy", lang), xaxis_dtick=1, xaxis_tickformat="d",
                      margin=dict(t=50))
    fig.update_yaxes(**percent_ticks(accuracies))
    return fig


def confusion_heatmap(confusion: torch.Tensor, lang: str = "en") -> go.Figure:
    """(10, 10) counts, rows true digit, columns predicted digit."""
    fig = go.Figure(go.Heatmap(z=confusion.tolist(), x=DIGITS, y=DIGITS, colorscale="Blues",
                               text=confusion.tolist(), texttemplate="%{text}",
                               hovertemplate=t("mnist_plot.confusion_hover", lang) + "<extra></extra>"))
    fig.update_layout(title=t("mnist_plot.confusion_title", lang), xaxis_title=t("mnist_plot.predicted", lang),
                      yaxis_title=t("mnist_plot.true", lang),
                      yaxis_autorange="reversed", xaxis_type="category", yaxis_type="category", margin=dict(t=50))
    return fig


def per_class_bar(per_class: torch.Tensor, lang: str = "en") -> go.Figure:
    values = [None if math.isnan(v) else v for v in per_class.tolist()]
    fig = go.Figure(go.Bar(x=DIGITS, y=values, text=[f"{v:.1%}" if v is not None else "–" for v in values],
                           textposition="outside"))
    fig.update_layout(title=t("mnist_plot.per_class_title", lang), xaxis_title=t("mnist_plot.true_digit", lang),
                      yaxis_title=t("mnist_plot.accuracy", lang),
                      yaxis_tickformat=".0%", yaxis_range=[0, 1.08], xaxis_type="category", margin=dict(t=50))
    return fig


def digit_grid(images: torch.Tensor, titles: list[str], columns: int = 8, title: str | None = None) -> go.Figure:
    """(K, 28, 28) digits in [0, 1] (white ink on black, as MNIST stores them) in a grid, one title each, under the
    grid's own `title` when given (the chart's name for a screen reader)."""
    if len(images) != len(titles):
        raise ValueError(f"{len(images)} images but {len(titles)} titles")
    rows = max(1, math.ceil(len(images) / columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.01,
                        vertical_spacing=0.08 / rows + 0.02)
    for k, image in enumerate(images):
        fig.add_trace(go.Heatmap(z=image.flip(0).tolist(), colorscale="gray", zmin=0, zmax=1, showscale=False,
                                 hoverinfo="skip"), row=k // columns + 1, col=k % columns + 1)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, scaleanchor="x", constrain="domain")
    for k in range(1, rows * columns):
        fig.update_yaxes(scaleanchor=f"x{k + 1}", row=k // columns + 1, col=k % columns + 1)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=110 * rows + 40 + (40 if title else 0), margin=dict(l=0, r=0, t=70 if title else 30, b=0))
    if title:
        fig.update_layout(title=dict(text=title, font=dict(size=15)))
    return fig


def digit_image(digit: torch.Tensor, title: str | None = None, lang: str = "en") -> go.Figure:
    title = t("mnist_plot.model_sees", lang) if title is None else title
    fig = px.imshow(digit.tolist(), color_continuous_scale="gray", zmin=0, zmax=1)
    fig.update_layout(title=title, coloraxis_showscale=False, margin=dict(t=40, l=0, r=0, b=0), height=300)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def probability_bar(probabilities: torch.Tensor, lang: str = "en") -> go.Figure:
    values = probabilities.tolist()
    best = max(range(CLASSES), key=values.__getitem__)
    fig = go.Figure(go.Bar(x=DIGITS, y=values, text=[f"{v:.1%}" for v in values], textposition="outside",
                           marker_color=["crimson" if d == best else "steelblue" for d in range(CLASSES)]))
    fig.update_layout(title=t("mnist_plot.probabilities_title", lang, best=best), xaxis_title=t("mnist_plot.digit", lang),
                      yaxis_title=t("mnist_plot.probability", lang),
                      yaxis_tickformat=".0%", yaxis_range=[0, 1.1], xaxis_type="category", height=300,
                      margin=dict(t=40))
    return fig
