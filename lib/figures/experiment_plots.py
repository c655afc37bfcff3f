"""Plotly figure builders for the Experiments page: lr sweep, train vs held-out loss, the sin(x) fit. No Streamlit."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from lib.explore.experiments import HeldOutCurve, SineFit
from lib.text.i18n import t
from lib.figures.plots import PALETTE, _layout, step_axis

DIVERGED_COLOUR = "#d62728"


def lr_sweep_figure(summary: pd.DataFrame, first_loss: float | None = None, title: str | None = None,
                    lang: str = "en") -> go.Figure:
    """Final (and best) loss per lr on log-log axes; diverged runs as red crosses along the top of the axis.

    Texts in `lang`; `title` replaces the default one.
    """
    drawable = summary["final loss"].map(lambda v: math.isfinite(v) and v > 0).astype(bool)
    ok = summary[summary["diverged_at"].isna().to_numpy() & drawable.to_numpy()]
    diverged = summary[summary["diverged_at"].notna()]
    shown = [v for v in list(ok["final loss"]) + list(ok["best loss"]) + [first_loss or math.nan]
             if math.isfinite(v) and v > 0]
    low, high = (min(shown), max(shown)) if shown else (1e-3, 1.0)
    # log10 axis range with room above the highest point for the row of crosses
    y_low, y_top = math.log10(low) - 0.3, math.log10(high) + 0.8
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(ok["lr"]), y=list(ok["final loss"]), mode="lines+markers",
                             name=t("exp_plot.final_loss", lang),
                             line=dict(color=PALETTE[0], width=3), marker=dict(size=9),
                             hovertemplate=t("exp_plot.final_loss_hover", lang)))
    fig.add_trace(go.Scatter(x=list(ok["lr"]), y=list(ok["best loss"]), mode="lines",
                             name=t("exp_plot.best_loss", lang),
                             line=dict(color=PALETTE[2], width=1.5, dash="dot"),
                             hovertemplate=t("exp_plot.best_loss_hover", lang)))
    if len(diverged):
        fig.add_trace(go.Scatter(x=list(diverged["lr"]), y=[10 ** (y_top - 0.25)] * len(diverged), mode="markers",
                                 name=t("exp_plot.diverged", lang),
                                 marker=dict(symbol="x", size=16, color=DIVERGED_COLOUR),
                                 hovertext=[t("exp_plot.diverged_hover", lang, lr=lr, step=int(k))
                                            for lr, k in zip(diverged["lr"], diverged["diverged_at"])],
                                 hoverinfo="text"))
    if first_loss is not None and math.isfinite(first_loss) and first_loss > 0:
        # a trace, not add_hline: hline annotations land off the chart on a log axis
        lrs = list(summary["lr"])
        fig.add_trace(go.Scatter(x=[min(lrs), max(lrs)], y=[first_loss] * 2, mode="lines",
                                 name=t("exp_plot.first_loss", lang),
                                 line=dict(color="grey", dash="dash"), hoverinfo="skip"))
    fig.update_xaxes(title=t("exp_plot.lr_axis", lang), type="log", exponentformat="power")
    fig.update_yaxes(title=t("plot.loss_log", lang), type="log", exponentformat="power", range=[y_low, y_top])
    return _layout(fig, t("exp_plot.sweep_title", lang) if title is None else title)


def held_out_figure(curve: HeldOutCurve, title: str | None = None, lang: str = "en") -> go.Figure:
    """Loss on the training data and on unseen random data after each number of steps; predicting 0 as a line."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=curve.steps, y=curve.train, mode="lines+markers",
                             name=t("exp_plot.train_data", lang),
                             line=dict(color=PALETTE[0], width=3)))
    fig.add_trace(go.Scatter(x=curve.steps, y=curve.held_out, mode="lines+markers",
                             name=t("exp_plot.held_out_data", lang), line=dict(color=PALETTE[1], width=3)))
    fig.add_trace(go.Scatter(x=[curve.steps[0], curve.steps[-1]], y=[curve.zero_loss] * 2, mode="lines",
                             name=t("exp_plot.zero_line", lang), line=dict(color="grey", dash="dash"),
                             hoverinfo="skip"))
    step_axis(fig, max(curve.steps, default=0), title=t("exp_plot.steps_done", lang))
    fig.update_yaxes(title=t("exp_plot.sse_log", lang), type="log", exponentformat="power")
    return _layout(fig, t("exp_plot.held_out_title", lang) if title is None else title)


def polynomial_text(coeffs: dict[str, float]) -> str:
    """'y = 0.0586 + 0.837 x − 0.0101 x² − 0.0906 x³' from {"a": ..., "b": ..., "c": ..., "d": ...}."""
    text = f"y = {coeffs['a']:.3g}"
    for name, power in (("b", " x"), ("c", " x²"), ("d", " x³")):
        value = coeffs[name]
        text += f" {'−' if value < 0 else '+'} {abs(value):.3g}{power}"
    return text


def sine_fit_figure(fit: SineFit, lang: str = "en") -> go.Figure:
    """sin(x) and the fitted cubic over [-pi, pi]."""
    coeffs = fit.coefficients
    y_true = [math.sin(v) for v in fit.x]
    fitted = [v if math.isfinite(v) else None for v in fit.y_fit]   # a diverged fit has inf/nan: leave gaps
    finite = all(math.isfinite(v) for v in coeffs.values())
    label = polynomial_text(coeffs) if finite else t("exp_plot.cubic_diverged", lang)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=fit.x, y=y_true, mode="lines", name="sin(x)", line=dict(color="grey", width=6)))
    fig.add_trace(go.Scatter(x=fit.x, y=fitted, mode="lines", name=label, line=dict(color=PALETTE[3], width=3)))
    fig.update_xaxes(title="x", tickvals=[-math.pi, -math.pi / 2, 0, math.pi / 2, math.pi],
                     ticktext=["−π", "−π/2", "0", "π/2", "π"])
    reach = max([abs(v) for v in fitted if v is not None], default=1.0)
    bound = min(max(1.6, 1.05 * reach), 10.0)   # an early or diverged fit can be far off: keep sin(x) readable
    fig.update_yaxes(title="y", range=[-bound, bound])
    return _layout(fig, t("exp_plot.sine_title", lang))
