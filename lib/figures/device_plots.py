"""The device experiment's chart: one training step's time against N, one line per device. No Streamlit."""
from __future__ import annotations

import plotly.graph_objects as go

from lib.explore.device_timing import DeviceTiming
from lib.text.i18n import t
from lib.figures.plots import PALETTE, _layout

# a device keeps its colour and its marker: the lines differ without colour too
STYLE = {"cpu": (PALETTE[0], "circle"), "cuda": (PALETTE[1], "diamond")}


def step_time_figure(timing: DeviceTiming, lang: str = "en") -> go.Figure:
    """Milliseconds per training step against N, log-log: where the lines cross, the GPU starts to win."""
    fig = go.Figure()
    for device, seconds in timing.seconds.items():
        colour, symbol = STYLE[device]
        fig.add_trace(go.Scatter(x=timing.batches[:len(seconds)], y=[s * 1e3 for s in seconds], mode="lines+markers",
                                 name=t(f"device.{device}", lang), line=dict(color=colour, width=3),
                                 marker=dict(symbol=symbol, size=10)))
    fig.update_xaxes(title=t("device.axis_n", lang), type="log")
    fig.update_yaxes(title=t("device.axis_ms", lang), type="log", exponentformat="power")
    return _layout(fig, t("device.chart_title", lang, stage=t(f"stage.{timing.stage}.title", lang)))
