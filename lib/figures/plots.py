"""Plotly figure builders for the stage pages: loss curves, gradient heatmaps, weight sharing. No Streamlit here."""
from __future__ import annotations

import functools
import json
import math

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import torch
from plotly.subplots import make_subplots

from lib.text.i18n import t

# one colour per stage, in tutorial order, readable on a projector
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
# type sizes (px) and the loss chart's height per screen: "projector" is read from the back of a room, at least 18 px
# on a 1280x720 screen (issue 22); "screen" is what every chart had before
CHART_SIZES = {
    "screen": dict(font=15, title=None, axis=None, tick=None, height=420),
    "projector": dict(font=20, title=26, axis=22, tick=20, ticks=6, height=340, margin=dict(l=90, r=20, t=70, b=60)),
}
HEATMAP_MAX = 64    # a heatmap shows at most this many rows and columns (~5 px a cell on a third of a projector)
HEATMAP_SPACING = 0.14   # between the three gradient panels: room for a colour bar and its labels
COLORBAR_GAP = 0.005


def _layout(fig: go.Figure, title: str, height: int = 420) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=60, b=50),
                      font=dict(size=15), legend=dict(orientation="h", y=-0.2))
    return fig


def _loss_text(loss: float | None) -> str:
    return "?" if loss is None else f"{loss:.3g}" if math.isfinite(loss) else str(loss)


def step_axis(fig: go.Figure, last_step: int, **axis) -> None:
    """An axis of training steps: whole numbers only (no 0.5 steps on a short run)."""
    fig.update_xaxes(tickformat="d", dtick=1 if last_step <= 10 else None, rangemode="tozero", **axis)


class SpecFigure(go.Figure):
    """A figure from a spec written here, as cheap to build and to send as plotly allows.

    - No property-by-property validation: building the loss chart that way cost ~10x drawing it, twice per rerun
      for every student (bench/load.py). Titles are {"text": ...} dicts, as plotly.js wants them;
      tests/test_truth.py checks what the builders below produce.
    - The theme template (plotly.io.templates.default: Streamlit's own once streamlit is imported) is the same for
      every figure. A go.Figure copies it into itself, deep-copies it again in to_dict() and walks it for arrays
      to encode, ~1,300 objects per chart; this one keeps the template's JSON text once and parses it into what
      to_dict() returns. tests/test_plots_spec.py checks that to_dict() equals a go.Figure's.
    """

    def __init__(self, spec: dict):
        self._template_name = pio.templates.default
        super().__init__(dict(spec, layout=dict(spec.get("layout", {}), template={})), _validate=False)

    def to_dict(self) -> dict:
        result = super().to_dict()
        text = _template_text(self._template_name)
        if text is None:
            result["layout"].pop("template", None)
        else:
            result["layout"]["template"] = json.loads(text)
        return result


@functools.cache
def _template_text(name: str | None) -> str | None:
    """A registered template as JSON text (arrays already encoded, as to_dict() leaves them); None for none."""
    if name is None:
        return None
    template = go.Figure(layout=dict(template=pio.templates[name])).to_dict()["layout"]["template"]
    return json.dumps(template)


def unchecked(spec: dict) -> go.Figure:
    """The figure of a spec written here (see SpecFigure)."""
    return SpecFigure(spec)


def _values(values: list[float]) -> np.ndarray | list[float]:
    """A series for plotly: finite floats as a numpy array, which travels as one binary block (a list of 500 losses
    is 500 objects to copy and walk); a list when it holds inf or NaN, which then reach plotly.js as JSON nulls, as
    they always did."""
    array = np.asarray(values, dtype=float)
    return array if np.isfinite(array).all() else list(values)


def loss_curves(curves: list[tuple[str, list[float]]], log_y: bool = True, title: str | None = None,
                diverged: dict[str, int | tuple[int, float | None]] | None = None, lang: str = "en",
                size: str = "screen", height: int | None = None) -> go.Figure:
    """One line per (label, losses); where a run diverged, the loss that stopped it, at its step. Texts in `lang`,
    type and height for `size` (CHART_SIZES), unless `height` says otherwise."""
    return unchecked(loss_curves_spec(curves, log_y, title, diverged, lang, size, height))


def sized(layout: dict, size: str, height: int | None = None) -> dict:
    """`layout` with the type sizes and height of CHART_SIZES[size]: the title's, both axes' titles and ticks'."""
    sizes = CHART_SIZES[size]
    layout["height"] = height or sizes["height"]
    layout["font"] = dict(size=sizes["font"])
    if "margin" in sizes:
        layout["margin"] = dict(sizes["margin"])
    if sizes["title"]:
        layout["title"]["font"] = dict(size=sizes["title"])
        layout["legend"]["font"] = dict(size=sizes["font"])
        for axis in ("xaxis", "yaxis"):
            layout[axis]["title"]["font"] = dict(size=sizes["axis"])
            layout[axis]["tickfont"] = dict(size=sizes["tick"])
            layout[axis]["nticks"] = sizes["ticks"]   # fewer, larger labels
            if layout[axis].get("type") == "log":
                layout[axis]["minorloglabels"] = "none"   # a log axis's 2 and 5 overlap the powers of ten at 20 px
        for note in layout.get("annotations", []):
            note.setdefault("font", {})["size"] = sizes["font"]
    return layout


def loss_curves_spec(curves: list[tuple[str, list[float]]], log_y: bool = True, title: str | None = None,
                     diverged: dict[str, int | tuple[int, float | None]] | None = None, lang: str = "en",
                     size: str = "screen", height: int | None = None) -> dict:
    """loss_curves' spec (a dict for unchecked; lib.figures.replay_plots adds the replay's frames to it).

    `diverged` maps a label to (step, stop_loss), or to the step alone when the stopping loss is unknown. A finite
    stopping loss is a cross at (step, loss), joined to the last kept loss by a dotted line (log axis: it fits);
    an infinite or NaN one, or an unknown one, is a dashed line at that step with the value written at the top.
    """
    traces, shapes, annotations = [], [], []
    last_step = 0
    for i, (label, losses) in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        # the steps as a numpy range: plotly sends it as compact binary
        traces.append(dict(type="scatter", x=np.arange(len(losses)), y=_values(losses), name=label,
                           mode="lines+markers" if len(losses) < 3 else "lines",
                           line=dict(color=colour, width=3 if i == 0 else 2)))
        last_step = max(last_step, len(losses) - 1)
        if not diverged or label not in diverged:
            continue
        step, loss = diverged[label] if isinstance(diverged[label], tuple) else (diverged[label], None)
        last_step = max(last_step, step)
        text = t("plot.stopped_at", lang, step=step, loss=_loss_text(loss))
        if loss is not None and math.isfinite(loss):
            if losses:
                traces.append(dict(type="scatter", x=[len(losses) - 1, step], y=[losses[-1], loss], mode="lines",
                                   showlegend=False, hoverinfo="skip", line=dict(color=colour, width=2, dash="dot")))
            traces.append(dict(type="scatter", x=[step], y=[loss], mode="markers+text", showlegend=False,
                               meta="stop", marker=dict(symbol="x", size=16, color=colour), text=[text],
                               textposition="middle left", hovertext=text, hoverinfo="text"))
        else:
            shapes.append(dict(type="line", x0=step, x1=step, xref="x", y0=0, y1=1, yref="y domain",
                               line=dict(color=colour, width=2, dash="dash")))
            annotations.append(dict(x=step, y=1, yref="paper", text=text, showarrow=False, xanchor="right",
                                    yanchor="top", font=dict(color=colour)))
    xaxis = dict(title=dict(text=t("plot.step", lang)), tickformat="d", rangemode="tozero")
    if last_step <= 10:   # whole steps only: no 0.5 steps on a short run
        xaxis["dtick"] = 1
    yaxis = dict(title=dict(text=t("plot.loss_log" if log_y else "plot.loss", lang)),
                 type="log" if log_y else "linear", exponentformat="power")
    layout = dict(title=dict(text=t("plot.training_loss", lang) if title is None else title),
                  margin=dict(l=60, r=20, t=60, b=50), legend=dict(orientation="h", y=-0.2),
                  xaxis=xaxis, yaxis=yaxis, shapes=shapes, annotations=annotations)
    return dict(data=traces, layout=sized(layout, size, height))


def downsample(matrix: torch.Tensor, limit: int = HEATMAP_MAX, lang: str = "en") -> tuple[torch.Tensor, str]:
    """A readable view of a big matrix: the first `limit` rows and columns, and a note saying so."""
    m = matrix if matrix.dim() == 2 else matrix.reshape(1, -1)
    rows, cols = m.shape
    view = m[:limit, :limit]
    if (rows, cols) == tuple(view.shape):
        return view, t("plot.view_all", lang, rows=rows, cols=cols)
    return view, t("plot.view_part", lang, last_row=view.shape[0] - 1, rows=rows, last_col=view.shape[1] - 1, cols=cols)


def gradient_heatmaps(name: str, manual: torch.Tensor, autograd: torch.Tensor, lang: str = "en") -> go.Figure:
    """Hand-written gradient, autograd's (one colour scale for both), and their difference on its own scale."""
    m, note = downsample(manual.detach().double(), lang=lang)
    a, _ = downsample(autograd.detach().double())
    diff = m - a
    bound = max(m.abs().max().item(), a.abs().max().item()) or 1.0
    diff_max = diff.abs().max().item()
    # the three panels side by side, laid out as make_subplots(rows=1, cols=3) does, but built as one spec:
    # plotly validates a figure property by property, and this is the page's costliest figure (bench/app.py)
    width = (1 - 2 * HEATMAP_SPACING) / 3
    domains = [(i * (width + HEATMAP_SPACING), i * (width + HEATMAP_SPACING) + width) for i in range(3)]
    titles = (t("plot.hand_written", lang), "autograd", t("plot.difference", lang, diff_max=diff_max))
    # colour bars sit in the gaps to the right of panels 2 (shared by 1 and 2) and 3, never over a panel
    panels = ((m, bound, None), (a, bound, domains[1][1] + COLORBAR_GAP), (diff, diff_max or bound,
                                                                          domains[2][1] + COLORBAR_GAP))
    traces, layout = [], {}
    for i, ((data, zmax, bar_x), (x0, x1)) in enumerate(zip(panels, domains)):
        axis = "" if i == 0 else str(i + 1)
        # float32 numpy arrays travel as compact binary, about a quarter of a JSON list of floats
        traces.append(dict(type="heatmap", z=data.float().numpy(), zmin=-zmax, zmax=zmax, colorscale="RdBu",
                           zmid=0, showscale=bar_x is not None, xaxis=f"x{axis}", yaxis=f"y{axis}",
                           colorbar=dict(x=bar_x, xanchor="left", len=0.9, thickness=12, exponentformat="e")))
        layout[f"xaxis{axis}"] = dict(domain=[x0, x1], anchor=f"y{axis}")
        layout[f"yaxis{axis}"] = dict(domain=[0.0, 1.0], anchor=f"x{axis}", autorange="reversed")
    layout["annotations"] = [dict(text=text, x=(x0 + x1) / 2, y=1.0, xref="paper", yref="paper", xanchor="center",
                                  yanchor="bottom", showarrow=False, font=dict(size=16))
                             for text, (x0, x1) in zip(titles, domains)]
    return unchecked(dict(data=traces, layout=dict(
        layout, title=dict(text=t("plot.gradient_of", lang, name=name, note=note)), height=400,
        margin=dict(l=60, r=90, t=60, b=50),   # right: room for the last colour bar's labels
        font=dict(size=15), legend=dict(orientation="h", y=-0.2))))


def largest_entries(total: torch.Tensor, count: int = 3) -> list[tuple[int, ...]]:
    """The indices of the `count` entries of `total` with the largest magnitude, largest first."""
    flat = total.detach().reshape(-1).abs()
    order = torch.argsort(flat, descending=True, stable=True)[:count]
    return [tuple(int(i) for i in torch.unravel_index(k, total.shape)) for k in order]


def shared_layer_uses(terms: list[torch.Tensor], total_autograd: torch.Tensor, entries: int = 3,
                      lang: str = "en") -> go.Figure:
    """Per-use terms of the shared layer's gradient adding up, entry by entry: one waterfall per entry.

    Each waterfall steps through the uses' terms for one entry (their values add) and ends with a bar drawn from 0
    at autograd's value for that entry: where the steps end is where the bar should stand. Norms would not add.
    """
    picked = largest_entries(total_autograd, entries)
    names = [t("plot.entry", lang, index=", ".join(map(str, idx))) for idx in picked]
    fig = make_subplots(rows=1, cols=len(picked), subplot_titles=names, horizontal_spacing=0.08)
    labels = [t("plot.use_k", lang, k=k, depth=len(terms)) for k in range(1, len(terms) + 1)]
    for col, idx in enumerate(picked, 1):
        values = [term[idx].item() for term in terms]
        fig.add_trace(go.Waterfall(x=labels + [t("plot.autograd_total", lang)], y=values + [total_autograd[idx].item()],
                                   measure=["relative"] * len(values) + ["absolute"], showlegend=False,
                                   name=names[col - 1], texttemplate="%{y:.3g}", textposition="outside",
                                   connector=dict(line=dict(color="#888", dash="dot")),
                                   increasing=dict(marker=dict(color=PALETTE[0])),
                                   decreasing=dict(marker=dict(color=PALETTE[1])),
                                   totals=dict(marker=dict(color=PALETTE[3]))), 1, col)
    fig.update_yaxes(title=t("plot.gradient_entry", lang), row=1, col=1)
    return _layout(fig, t("plot.uses_title", lang), height=400)


def depth_histogram(depths: list[int], lang: str = "en") -> go.Figure:
    """How often the training loop ran middle_linear 0, 1, 2 or 3 times."""
    counts = [depths.count(d) for d in range(4)]
    fig = go.Figure(go.Bar(x=["0", "1", "2", "3"], y=counts, marker_color=PALETTE[4]))
    fig.update_xaxes(title=t("plot.depth_axis", lang))
    fig.update_yaxes(title=t("plot.training_steps", lang))
    return _layout(fig, t("plot.depth_title", lang, passes=len(depths), uses=sum(depths)), height=360)


def first_step_below(losses: list[float], fraction: float = 0.01) -> int | None:
    """The first step whose loss is at most `fraction` of the first loss, or None."""
    if not losses or not math.isfinite(losses[0]):
        return None
    target = losses[0] * fraction
    return next((t for t, loss in enumerate(losses) if loss <= target), None)
