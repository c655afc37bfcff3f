"""Plotly figures for "inside the model" on the MNIST page: weight and filter mosaics on a diverging scale
centred on 0, feature maps, saliency maps, the hidden units' answers, and the epoch-by-epoch panel.
Each mosaic is one heatmap trace (tiles separated by empty cells), so even 32×16 filters draw fast."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import torch

from lib.text.i18n import t
from lib.digits.mnist_inside import DigitInside, EpochPanel


def tile(images: torch.Tensor, columns: int, row_gap: int = 1) -> torch.Tensor:
    """(K, h, w) images into one (rows·(h+row_gap) − row_gap, columns·(w+1) − 1) array, row-major, NaN between
    tiles (row_gap empty rows between rows of tiles, room for their titles)."""
    k, h, w = images.shape
    rows = max(1, math.ceil(k / columns))
    out = torch.full((rows * (h + row_gap) - row_gap, columns * (w + 1) - 1), math.nan)
    for i, image in enumerate(images.float()):
        r, c = divmod(i, columns)
        out[r * (h + row_gap):r * (h + row_gap) + h, c * (w + 1):c * (w + 1) + w] = image
    return out


def mosaic(images: torch.Tensor, columns: int, title: str, colors: str = "diverging", titles: list[str] | None = None,
           height: int | None = None) -> go.Figure:
    """Images side by side. colors: "diverging" (red > 0 > blue, centred on 0 with the same range both ways),
    "positive" (0 dark to the largest value bright) or "digit" (MNIST's [0, 1], white ink on black)."""
    k, h, w = images.shape
    row_gap = max(1, round(0.4 * h)) if titles else 1
    z = tile(images, columns, row_gap)
    if colors == "diverging":
        bound = max(images.abs().max().item(), 1e-12)
        scale = dict(colorscale="RdBu_r", zmid=0, zmin=-bound, zmax=bound)
    elif colors == "positive":
        scale = dict(colorscale="Viridis", zmin=0, zmax=max(images.max().item(), 1e-12))
    else:
        scale = dict(colorscale="gray", zmin=0, zmax=1, showscale=False)
    rows = max(1, math.ceil(k / columns))
    # one list of plain dicts: add_annotation validates each call and costs ~5 ms apiece
    annotations = [dict(x=(i % columns) * (w + 1) + (w - 1) / 2, y=(i // columns) * (h + row_gap) - 1, text=text,
                        showarrow=False, yanchor="bottom", font=dict(size=10)) for i, text in enumerate(titles or [])]
    # a float32 array travels as binary (typed arrays); a nested list costs ~0.4 s for 32 weight images
    fig = go.Figure(go.Heatmap(z=z.numpy(), hoverongaps=False, **scale), layout=dict(annotations=annotations))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(title=title, height=height or min(900, 60 + rows * (110 if titles else 90)),
                      margin=dict(l=0, r=0, t=50, b=0))
    return fig


def weight_images(inside: DigitInside, top: int, lang: str = "en") -> go.Figure:
    """The first `top` hidden units in the digit's order: row j of w1 as a 28×28 image, titled with h_j."""
    mlp = inside.mlp
    units = mlp.order[:top]
    titles = [t("inside_plot.unit", lang, unit=j, value=mlp.hidden[j].item()) for j in units]
    return mosaic(mlp.weight_images[units], 8, t("inside_plot.weights_title", lang, shown=len(units),
                                                  hidden=len(mlp.order)), titles=titles)


def hidden_bar(inside: DigitInside, lang: str = "en") -> go.Figure:
    """Every hidden unit's ReLU output for the digit, in the same order as the weight images."""
    mlp = inside.mlp
    fig = go.Figure(go.Bar(x=list(range(len(mlp.order))), y=[mlp.hidden[j].item() for j in mlp.order],
                           customdata=mlp.order,
                           hovertemplate=t("inside_plot.hidden_hover", lang) + "<extra></extra>"))
    fig.update_layout(title=t("inside_plot.hidden_title", lang), xaxis_title=t("inside_plot.rank", lang),
                      yaxis_title=t("inside_plot.activation", lang), height=300, margin=dict(t=50))
    return fig


def conv_filters(weights: torch.Tensor, layer: int, lang: str = "en") -> go.Figure:
    """conv1: its 5×5 kernels, 8 a row; conv2: one row per output channel, one column per input channel."""
    c_out, c_in, k, _ = weights.shape
    images = weights.reshape(c_out * c_in, k, k)
    return mosaic(images, 8 if c_in == 1 else c_in,
                  t("inside_plot.filters_title", lang, layer=layer + 1, c_out=c_out, c_in=c_in, k=k),
                  height=None if c_in == 1 else 40 + c_out * 28)


def feature_maps(maps: torch.Tensor, layer: int, lang: str = "en") -> go.Figure:
    """(C, H, W) ReLU outputs of one conv layer for the digit."""
    c, h, w = maps.shape
    return mosaic(maps, 8, t("inside_plot.maps_title", lang, layer=layer + 1, c=c, h=h, w=w), colors="positive",
                  titles=[str(i) for i in range(c)])


def saliency_maps(inside: DigitInside, lang: str = "en") -> go.Figure:
    """d score / d pixel for the two most likely classes, on one diverging scale, the digit's outline over them."""
    s = inside.saliency
    titles = [t("inside_plot.saliency_of", lang, digit=c, probability=p) for c, p in zip(s.classes, s.probabilities)]
    fig = mosaic(s.gradients, 2, t("inside_plot.saliency_title", lang), titles=titles, height=380)
    outline = tile(torch.stack([inside.digit, inside.digit]), 2)
    fig.add_trace(go.Contour(z=outline.numpy(), contours=dict(start=0.5, end=0.5, coloring="none"),
                             line=dict(color="black", width=1), showscale=False, hoverinfo="skip"))
    return fig


def panel_matrix(panel: EpochPanel, lang: str = "en") -> go.Figure:
    """Rows: epochs (0 = before training); columns: the panel's digits; each cell the answer and its confidence,
    green when right, red when wrong, paler when unsure."""
    signed = [[c if p == y else -c for p, c, y in zip(pred, conf, panel.labels)]
              for pred, conf in zip(panel.predicted, panel.confidence)]
    text = [[f"{p}<br>{c:.0%}" for p, c in zip(pred, conf)] for pred, conf in zip(panel.predicted, panel.confidence)]
    columns = [t("inside_plot.panel_digit", lang, i=i, label=y) for i, y in enumerate(panel.labels)]
    rows = [t("inside_plot.panel_epoch", lang, epoch=e) if e else t("inside_plot.panel_before", lang)
            for e in panel.epochs]
    fig = go.Figure(go.Heatmap(z=signed, x=columns, y=rows, text=text, texttemplate="%{text}", zmin=-1, zmax=1,
                               colorscale=[[0, "#d7301f"], [0.5, "#ffffff"], [1, "#1a9850"]], showscale=False,
                               hoverinfo="skip"))
    fig.update_layout(title=t("inside_plot.panel_title", lang, n=len(panel.indices)), yaxis_autorange="reversed",
                      xaxis_type="category", yaxis_type="category", height=120 + 45 * len(rows),
                      margin=dict(t=50))
    return fig


def panel_digits(digits: torch.Tensor, labels: list[int]) -> go.Figure:
    """The panel's digits in [0, 1], in the matrix's column order, each titled with its label."""
    fig = mosaic(digits, len(labels), "", colors="digit", titles=[str(y) for y in labels], height=100)
    fig.update_layout(margin=dict(t=10))
    return fig
