"""The loss curve replayed as an animation (plotly frames and a play button), for projector mode. No Streamlit."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from lib.text.i18n import t
from lib.figures import plots
from lib.figures.plots import PALETTE, _layout, step_axis

FRAMES = 60        # at most this many frames, whatever the number of steps
FRAME_MS = 120     # each frame stays this long: a 500-step run replays in about 7 s, time to call out what's next


def frame_ends(steps: int, frames: int = FRAMES) -> list[int]:
    """How many steps each frame shows: evenly spaced, increasing, the last one all of them."""
    if steps <= 0:
        return [0]
    return sorted({max(1, round(steps * (k + 1) / min(frames, steps))) for k in range(min(frames, steps))})


def replay_buttons(lang: str) -> dict:
    """Play (from the first frame) and Pause, above the chart's top left corner."""
    play = dict(label=t("plot.replay_play", lang), method="animate",
                args=[None, dict(frame=dict(duration=FRAME_MS, redraw=False), transition=dict(duration=0),
                                 fromcurrent=False, mode="immediate")])
    pause = dict(label=t("plot.replay_pause", lang), method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    return dict(type="buttons", direction="left", x=1, y=1.02, xanchor="right", yanchor="bottom", showactive=False,
                buttons=[play, pause])


def replayed_loss_curves(curves: list[tuple[str, list[float]]], log_y: bool = True, title: str | None = None,
                         diverged: dict | None = None, lang: str = "en", size: str = "projector",
                         height: int | None = None) -> go.Figure:
    """The stage page's loss chart (plots.loss_curves) with its first curve, this run's, replayable on it: it shows
    the whole run, and Play draws that curve again step by step (frames) while the other curves stay. The axes are
    fixed to everything the chart shows, so the class sees where the curve could go before it goes there."""
    spec = plots.loss_curves_spec(curves, log_y, title, diverged, lang, size, height)
    values = np.asarray(curves[0][1], dtype=float) if curves else np.zeros(0)
    ends = frame_ends(len(values))
    spec["frames"] = [dict(name=str(end), traces=[0],
                           data=[dict(type="scatter", x=np.arange(end), y=values[:end],
                                      mode="lines+markers" if end < 3 else "lines")]) for end in ends]
    layout = spec["layout"]
    shown = [np.asarray([np.nan if v is None else v for v in trace["y"]], dtype=float) for trace in spec["data"]]
    every = np.concatenate(shown) if shown else np.zeros(0)
    finite = every[np.isfinite(every) & ((every > 0) if log_y else True)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        if log_y:
            pad = 0.05 * max(math.log10(high) - math.log10(low), 1.0)
            layout["yaxis"].update(range=[math.log10(low) - pad, math.log10(high) + pad], autorange=False)
        else:
            pad = 0.05 * max(high - low, abs(high) or 1.0)
            layout["yaxis"].update(range=[low - pad, high + pad], autorange=False)
    last = max([max(trace["x"], default=0) for trace in spec["data"]] + [shape["x0"] for shape in layout["shapes"]]
               + [1])
    layout["xaxis"].update(range=[0, last], autorange=False)
    layout["updatemenus"] = [replay_buttons(lang)]   # at the top right, across from the title
    return plots.unchecked(spec)


def loss_replay(losses: list[float], log_y: bool = True, title: str | None = None, lang: str = "en") -> go.Figure:
    """`losses` drawn step by step: the first frame shows the first loss alone; the axes are fixed to the whole run
    from the start, so the class sees where the curve could go before it goes there."""
    values = np.asarray(losses, dtype=float)
    ends = frame_ends(len(values))
    colour = PALETTE[0]

    def trace(end: int) -> go.Scatter:
        return go.Scatter(x=np.arange(end), y=values[:end], mode="lines+markers" if end < 3 else "lines",
                          line=dict(color=colour, width=3), name=t("plot.training_loss", lang))

    fig = go.Figure(data=[trace(ends[0])], frames=[go.Frame(data=[trace(end)], name=str(end)) for end in ends])
    finite = values[np.isfinite(values) & ((values > 0) if log_y else True)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        if log_y:
            pad = 0.05 * max(math.log10(high) - math.log10(low), 1.0)
            fig.update_yaxes(range=[math.log10(low) - pad, math.log10(high) + pad])
        else:
            pad = 0.05 * max(high - low, abs(high) or 1.0)
            fig.update_yaxes(range=[low - pad, high + pad])
    step_axis(fig, max(len(values) - 1, 0), title=t("plot.step", lang), range=[0, max(len(values) - 1, 1)],
              autorange=False)
    fig.update_yaxes(title=t("plot.loss_log" if log_y else "plot.loss", lang), type="log" if log_y else "linear",
                     exponentformat="power", autorange=False)
    play = dict(label=t("plot.replay_play", lang), method="animate",
                args=[None, dict(frame=dict(duration=FRAME_MS, redraw=False), transition=dict(duration=0),
                                 fromcurrent=False, mode="immediate")])
    pause = dict(label=t("plot.replay_pause", lang), method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    fig.update_layout(updatemenus=[dict(type="buttons", direction="left", x=0, y=1.12, xanchor="left",
                                        yanchor="bottom", showactive=False, buttons=[play, pause])])
    return _layout(fig, t("plot.replay_title", lang) if title is None else title)
