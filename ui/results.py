"""How a run's results read on a page: the loss metrics, the gradient table, the divergence message."""
from __future__ import annotations

import functools
import inspect
import math

import pandas as pd
import streamlit as st

from lib.text.numbers import lr_text
from lib.tutorial.diagnosis import MOMENTUM_DIVERGES, PLAIN_SGD_TRAINS, diagnose_stall, divergence_cause
from lib.tutorial.stages import GROWTH_LIMIT, STAGES, RunSummary
from ui.text import optimizer_label, parameter_label, t


def gradient_table(table: pd.DataFrame):
    """The comparison table for reading: scientific notation, ✓/✗, and, when a row fails, failures in red.

    A Styler costs the server ~10x a plain frame to send, so only a table with a failure gets one.
    """
    def sci(v, digits=3):
        return "—" if pd.isna(v) else f"{v:.{digits}e}"
    match = t("column.match")
    norms = ("manual_norm", "autograd_norm", "max_abs_diff")
    # the verdict first (✓, rel_error, the finite-difference check, cosine), so that it fits a projector's width
    # without scrolling sideways; the sizes it is computed from follow
    columns = [match, t("column.parameter"), t("column.rel_error"), t("column.fd_rel_error_step0"),
               t("column.cosine"), t("column.shape"), *(t(f"column.{c}") for c in norms)]
    # row by row in plain Python: a handful of rows, where pandas' per-column machinery cost 5x (bench/load.py)
    rows = [["✓" if row["within_tol"] else "✗", parameter_label(row["parameter"]), sci(row["rel_error"]),
             sci(row["fd_rel_error_step0"], 1), f"{row['cosine']:.9f}", row["shape"], *(sci(row[c]) for c in norms)]
            for row in table.to_dict("records")]
    shown = pd.DataFrame(rows, columns=columns)
    if table["within_tol"].all():
        return shown

    def colour(row):
        bad = row[match] == "✗"
        return ["background-color: #ffd6d6; color: #8b0000" if bad else "" for _ in row]
    return shown.style.apply(colour, axis=1)


def divergence_message(result: RunSummary) -> str:
    """Where and why a run blew up: the summed loss and the lr, and what else made it (lib.tutorial.diagnosis)."""
    cfg = result.config
    reason = t(result.divergence_reason, loss=result.stop_loss, limit=GROWTH_LIMIT)
    message = t("divergence.message", step=result.diverged_at, reason=reason,
                numbers=cfg.n * cfg.d_out, lr=lr_text(cfg.lr), reset=t("settings.reset"))
    info = STAGES.get(result.stage)   # None: a network of one's own, trained by plain SGD
    cause = divergence_cause(cfg, info is None or info.uses_optimizer)
    if cause is not None:
        message += " " + t(cause, momentum=cfg.momentum, factor=1 / (1 - cfg.momentum),
                           diverges=lr_text(MOMENTUM_DIVERGES), trains=lr_text(PLAIN_SGD_TRAINS))
    return message


def stall_message(stage: str, result: RunSummary) -> str | None:
    """Why the loss stalled, as divergence_message says why it blew up (lib.tutorial.diagnosis); None if it did not."""
    cfg, uses_optimizer = result.config, STAGES[stage].uses_optimizer
    stall = diagnose_stall(result.losses, cfg, uses_optimizer, diverged=result.diverged_at is not None)
    if stall is None:
        return None
    reason = t(stall.code, peak_step=stall.peak_step, peak_ratio=stall.peak_ratio, lr=lr_text(cfg.lr),
               total=len(result.losses),
               optimizer=optimizer_label(cfg.optimizer if uses_optimizer else "sgd"), init=cfg.d_in ** -0.5,
               reset=t("settings.reset"))
    return t("stall.message", steps=len(result.losses) - stall.tail_start, start=stall.tail_start, before=stall.before,
             after=stall.after, kept=stall.kept, reason=reason)


def no_gradient_message(results) -> str:
    """Why there is no step to compare gradients at: the time limit stopped a run before its first step, or the
    loss was not finite at step 0."""
    return t("grad.no_gradient_time" if any(r.time_limited_at is not None for r in results) else "grad.no_gradient")


@functools.cache
def source_of(obj) -> str:
    """A lib function's or class's source, read once per server process: inspect tokenizes its whole file on every
    call (py-spy: a few ms of every stage page's rerun)."""
    return inspect.getsource(obj)


def show_source(objects) -> None:
    with st.expander(t("source.expander")):
        for obj in objects:
            st.code(source_of(obj), language="python")


def _fmt_loss(value: float | None) -> str:
    """A loss for a metric: 4 significant digits; inf and nan as themselves (a divergence shows them)."""
    if value is None:
        return "—"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def stop_point(result: RunSummary) -> tuple[int, float | None] | None:
    """Where a run stopped and the loss that stopped it (for the chart's marker), or None if it did not diverge."""
    return None if result.diverged_at is None else (result.diverged_at, result.stop_loss)


def loss_metrics(result: RunSummary) -> None:
    """First loss, last loss, their ratio and the time; after a divergence, the loss that stopped training."""
    first = result.losses[0] if result.losses else math.nan
    row = st.container(horizontal=True)   # one block, not four columns (bench/browser.py)
    row.metric(t("metric.first_loss"), _fmt_loss(first) if result.losses else "—")
    if result.diverged_at is None:
        last, last_label, ratio_label = result.final_loss, t("metric.final_loss"), t("metric.ratio")
        help_text = None
    else:
        last, last_label = result.stop_loss, t("metric.stop_loss", step=result.diverged_at)
        ratio_label = t("metric.stop_ratio")
        help_text = (t("metric.stop_loss_help", last=len(result.losses) - 1, kept=_fmt_loss(result.final_loss))
                     if result.losses else None)
    row.metric(last_label, _fmt_loss(last), help=help_text)
    ratio = last / first if result.losses and first > 0 and math.isfinite(last) else math.nan
    row.metric(ratio_label, f"{ratio:.1e}" if math.isfinite(ratio) else "—")
    row.metric(t("metric.time"), f"{result.elapsed_s:.2f} s",
                   help=t("metric.time_help", ran=len(result.losses), steps=result.config.steps))


def png_config(name: str) -> dict:
    """Plotly's camera button saves the chart as a PNG, twice the screen's resolution."""
    return {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, "displaylogo": False}
