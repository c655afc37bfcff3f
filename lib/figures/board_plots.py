"""The class board's charts, as cheap specs (lib.figures.plots.unchecked: the board redraws every few seconds): every
run's final loss against one setting (the class's own sweep), each student's latest curve as a thin line, and a
poll's answer counts. The board is a projector page: its type is the projector's (CHART_SIZES)."""
from __future__ import annotations

import math

import plotly.graph_objects as go

from lib.board.store import PostedRun
from lib.figures.plots import PALETTE, sized, unchecked
from lib.text.i18n import t

NUMERIC_LOG = ("lr",)        # settings drawn on a log axis by default


def _spec(title: str, x_title: str, y_title: str, size: str, height: int) -> dict:
    layout = {"title": {"text": title}, "legend": {"orientation": "h", "y": -0.25},
              "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}},
              "margin": {"l": 70, "r": 20, "t": 60, "b": 60}}
    return {"data": [], "layout": sized(layout, size, height)}


def final_against_setting(runs: list[PostedRun], setting: str, lang: str, metric: str = "loss",
                          size: str = "projector", height: int = 330) -> go.Figure:
    """One point per run: its final loss (or MNIST accuracy) against `setting`; diverged runs as red crosses at the
    chart's top."""
    has = [r for r in runs if setting in r.settings]
    finite = [r for r in has if r.value is not None and r.diverged_at is None]
    diverged = [r for r in has if r.value is None or r.diverged_at is not None]
    spec = _spec(t(f"board.chart.sweep_title_{metric}", lang, setting=setting), setting,
                 t(f"board.chart.final_{metric}", lang), size, height)
    if finite:
        spec["data"].append({"type": "scatter", "mode": "markers", "name": t("board.chart.finished", lang),
                             "x": [r.settings[setting] for r in finite], "y": [r.value for r in finite],
                             "text": [r.nickname for r in finite], "marker": {"size": 12, "color": PALETTE[0],
                                                                            "opacity": 0.75},
                             "hovertemplate": "%{text}: %{x} → %{y:.4g}<extra></extra>"})
    if diverged:
        top = max((r.value for r in finite), default=1.0) * (10 if finite and metric == "loss" else 1)
        spec["data"].append({"type": "scatter", "mode": "markers", "name": t("board.chart.diverged", lang),
                             "x": [r.settings[setting] for r in diverged], "y": [top] * len(diverged),
                             "text": [r.nickname for r in diverged],
                             "marker": {"size": 14, "symbol": "x", "color": PALETTE[3]},
                             "hovertemplate": "%{text}: %{x}<extra></extra>"})
    values = [r.settings[setting] for r in has]
    if setting in NUMERIC_LOG and values and all(isinstance(v, (int, float)) and v > 0 for v in values):
        spec["layout"]["xaxis"]["type"] = "log"
    if metric == "loss" and finite and all(r.value > 0 for r in finite):
        spec["layout"]["yaxis"]["type"] = "log"
    return unchecked(spec)


def latest_curves(runs: list[PostedRun], lang: str, metric: str = "loss", size: str = "projector",
                  height: int = 380) -> go.Figure:
    """Each student's latest run as one thin line, all in one trace (a gap between students), so a class of 30 is
    one series to build and send. Each point at its own step (a stored curve is thinned, lib.board.store.thin_curve):
    a 40-step run and a 500-step run share one axis; MNIST's points are epochs, from 1."""
    latest: dict[int, PostedRun] = {}
    for run in runs:
        if run.metric == metric:
            latest[run.student] = run
    first = 1 if metric == "accuracy" else 0     # a loss curve's steps count from 0, as the stage pages draw them
    xs, ys, names = [], [], []
    for run in latest.values():
        for k, v in zip(run.steps or range(len(run.curve)), run.curve):
            if v is not None and math.isfinite(v) and (v > 0 or metric != "loss"):
                xs.append(k + first), ys.append(v), names.append(run.nickname)
        xs.append(None), ys.append(None), names.append("")
    spec = _spec(t("board.chart.curves_title", lang, count=len(latest)), t(f"board.chart.curve_points_{metric}", lang),
                 t(f"board.chart.{metric}", lang), size, height)
    spec["data"].append({"type": "scatter", "mode": "lines", "x": xs, "y": ys, "text": names, "showlegend": False,
                         "line": {"width": 1.5, "color": PALETTE[0]}, "opacity": 0.6, "connectgaps": False,
                         "hovertemplate": "%{text}: %{y:.4g}<extra></extra>"})
    if metric == "loss":
        spec["layout"]["yaxis"]["type"] = "log"
    return unchecked(spec)


def poll_counts(counts: dict[str, int], labels: dict[str, str], answer: str | None, lang: str,
                size: str = "projector", height: int = 280) -> go.Figure:
    """How many chose each answer; once revealed, the run's answer in green."""
    choices = list(labels) or sorted(counts)
    spec = _spec(t("board.chart.poll_title", lang, count=sum(counts.values())), t("board.chart.poll_axis", lang), "",
                 size, height)
    spec["data"].append({"type": "bar", "orientation": "h", "x": [counts.get(c, 0) for c in choices],
                         "y": [labels.get(c, c) for c in choices], "text": [counts.get(c, 0) for c in choices],
                         "textposition": "auto",
                         "marker": {"color": [PALETTE[2] if c == answer else PALETTE[0] for c in choices]}})
    spec["layout"]["yaxis"]["autorange"] = "reversed"
    spec["layout"]["xaxis"]["tickformat"] = "d"
    return unchecked(spec)
