"""The loss curve replayed as an animation (plotly frames and a play button), for projector mode. No Streamlit."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from lib.text.i18n import t
from lib.figures.plots import PALETTE, _layout, step_axis

FRAMES = 60        # at most this many frames, whatever the number of steps
FRAME_MS = 120     # each frame stays this long: a 500-step run replays in about 7 s, time to call out what's next


def frame_ends(steps: int, frames: int = FRAMES) -> list[int]:
    """How many steps each frame shows: evenly spaced, increasing, the last one all of them."""
    if steps <= 0:
        return [0]
    return sorted({max(1, round(steps * (k + 1) / min(frames, steps))) for k in range(min(frames, steps))})


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
