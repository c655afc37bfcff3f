"""Experiments: a learning-rate sweep, a network memorising random data, the current tutorial's sin(x) fit, and
one training step timed on the CPU and the GPU."""
import math

import pandas as pd
import streamlit as st

from lib.figures import plots

from lib.serve import jobs
from lib.text.numbers import lr_text
from lib.tutorial.config import QUERY_KEYS, TrainConfig
from lib.figures.experiment_plots import held_out_figure, lr_sweep_figure, sine_fit_figure
from lib.explore.experiments import (SWEEP_MAX_RUNS, HeldOutCurve, assemble_held_out, best_lr, fit_sine, held_out_plan,
                             lr_grid, sine_stable_lr, sweep_summary)
from lib.tutorial.stages import GROWTH_LIMIT, STAGES
from lib.serve.workers import RunFailed
from ui.device import device_tab
from ui.frame import ensure_app_frame, kept_tabs, open_tab
from ui.links import keep_choice, linked_choice, lr_value, one_of, say_ignored_keys, whole_number, with_value
from ui.results import source_of
from ui.runs import get_many, run_failed_message, run_stages, time_limit_message
from ui.sidebar import LR_CHOICES, settings_problem, settings_sidebar
from ui.text import describe, lang, say, t

TAB_IDS = ("sweep", "noise", "sine", "device")   # the tabs' own names; what they show is TEXTS[lang][f"experiments.tab.{id}"]
CHART_HEIGHT = 380   # a tab's controls and its chart on one 1280x720 screen
# a tab's choices in the link: (url key = widget key, default, parse); a link's lr is used as given
SWEEP_CHOICES = (("sweep_low", 1e-8, lr_value()), ("sweep_high", 1e-1, lr_value()),
                 ("sweep_density", 1, whole_number(1, 4)))
SINE_CHOICES = (("sine_steps", 2000, whole_number(1, 5000)), ("sine_lr", 1e-6, lr_value()),
                ("sine_seed", 0, whole_number(0, 2**31 - 1)))
LINK_KEYS = {"tab", *(key for key, _, _ in SWEEP_CHOICES + SINE_CHOICES)}   # besides the sidebar's settings




def sweep_runs(stage: str, cfg: TrainConfig, lrs: list[float]) -> list:
    """One run per lr, side by side over the workers (the same cache as the stage pages' runs)."""
    label = t("experiments.sweep.progress")
    return run_stages([(stage, cfg.with_(lr=lr), False) for lr in lrs],
                      [label.format(lr=lr, run=i + 1, runs=len(lrs)) for i, lr in enumerate(lrs)])


def held_out(stage: str, cfg: TrainConfig) -> HeldOutCurve | None:
    """The full run, then every checkpoint's run side by side; None (with a message) if a run gave no result."""
    full = run_stages([(stage, cfg, False)], [t("progress.training")])[0]
    if isinstance(full, RunFailed):
        st.error(run_failed_message(full), icon=":material/timer_off:")
        return None
    plan = held_out_plan(full)
    label = t("experiments.noise.progress")
    points = get_many([(jobs.held_out_point, (stage, cfg, k)) for k in plan],
                      [(label.format(k=k, run=i + 1, runs=len(plan)), max(k, 1)) for i, k in enumerate(plan)])
    failed = next((p for p in points if isinstance(p, RunFailed)), None)
    if failed is not None:
        st.error(run_failed_message(failed), icon=":material/timer_off:")
        return None
    return assemble_held_out(cfg, full, list(zip(plan, points)))


def _fmt(value: float) -> str:
    return f"{value:.3e}" if math.isfinite(value) else "—"


def sweep_tab(stage: str, cfg: TrainConfig) -> None:
    st.markdown(t("experiments.sweep.intro"))
    cols = st.columns(3)
    for key, default, parse in SWEEP_CHOICES:
        st.session_state.setdefault(key, default)
        linked_choice(key, key, parse)
    low = cols[0].select_slider(t("experiments.sweep.low"), options=with_value(LR_CHOICES, "sweep_low"),
                                key="sweep_low", format_func=lr_text)
    high = cols[1].select_slider(t("experiments.sweep.high"), options=with_value(LR_CHOICES, "sweep_high"),
                                 key="sweep_high", format_func=lr_text)
    per_decade = cols[2].slider(t("experiments.sweep.density"), 1, 4, key="sweep_density")
    for key, value in (("sweep_low", low), ("sweep_high", high), ("sweep_density", per_decade)):
        keep_choice(key, value)
    if low > high:
        st.warning(t("experiments.sweep.low_above_high"))
        return
    try:
        lrs = lr_grid(low, high, per_decade)
    except ValueError as err:
        st.warning(say(err))
        return
    st.caption(t("experiments.sweep.runs", runs=len(lrs), max_runs=SWEEP_MAX_RUNS, settings=describe(stage, cfg)))
    st.caption(t("experiments.sweep.loss_note"))

    runs = sweep_runs(stage, cfg, lrs)
    failed = next((run for run in runs if isinstance(run, RunFailed)), None)
    if failed is not None:
        st.error(run_failed_message(failed), icon=":material/timer_off:")
        return
    summary, curves = sweep_summary(list(zip(lrs, runs))), [run.losses for run in runs]

    best = best_lr(summary)
    diverged = int(summary["diverged_at"].notna().sum())
    first_loss = curves[0][0] if curves and curves[0] else None
    title = t("experiments.sweep.chart_title", stage=t(f"stage.{stage}.title"))
    # the chart right under the range it sweeps (one 1280x720 screen), its numbers under it
    st.plotly_chart(lr_sweep_figure(summary, first_loss=first_loss, title=title, lang=lang()),
                    key="sweep_chart", width="stretch", height=CHART_HEIGHT)
    st.caption(t("experiments.sweep.chart_caption"))
    cols = st.columns(3)
    cols[0].metric(t("experiments.sweep.best_lr"), f"{best:.1e}" if best is not None else "—",
                   help=t("experiments.sweep.best_lr_help"))
    cols[1].metric(t("experiments.sweep.lowest_final"), _fmt(summary.loc[summary["lr"] == best, "final loss"].iloc[0])
                   if best is not None else "—")
    cols[2].metric(t("experiments.sweep.diverged_runs"),
                   t("experiments.sweep.diverged_count", diverged=diverged, runs=len(summary)))
    if best is None:
        st.warning(t("experiments.sweep.all_diverged"))
    # column headers as the reader sees them; "lr" is a code name in both languages
    table = pd.DataFrame({
        "lr": summary["lr"].map(lambda v: f"{v:.2e}"),
        t("experiments.column.final_loss"): summary["final loss"].map(_fmt),
        t("experiments.column.best_loss"): summary["best loss"].map(_fmt),
        t("experiments.column.diverged"): summary["diverged_at"].map(
            lambda k: "—" if pd.isna(k) else t("compare.at_step", step=int(k))),
    })
    st.dataframe(table, hide_index=True, width="stretch")
    with st.expander(t("experiments.sweep.curves")):
        labels = [f"lr {lr:.1e}" for lr in summary["lr"]]
        marks = {label: (int(k), stop) for label, k, stop in zip(labels, summary["diverged_at"], summary["stop_loss"])
                 if not pd.isna(k)}
        st.plotly_chart(plots.loss_curves(list(zip(labels, curves)), diverged=marks,
                                          title=t("experiments.sweep.curves_title"), lang=lang()),
                        key="sweep_curves", width="stretch")


def noise_tab(stage: str, cfg: TrainConfig) -> None:
    st.markdown(t("experiments.noise.intro", weights=cfg.d_in * cfg.hidden + cfg.hidden * cfg.d_out,
                  numbers=cfg.n * cfg.d_out))
    st.caption(t("experiments.noise.caption", settings=describe(stage, cfg), seed=cfg.seed))
    curve = held_out(stage, cfg)
    if curve is None:
        return

    cols = st.columns(3)
    cols[0].metric(t("experiments.noise.train_loss"), _fmt(curve.train[-1]),
                   help=t("experiments.noise.after_train", step=curve.steps[-1], first=_fmt(curve.train[0])))
    cols[1].metric(t("experiments.noise.held_out_loss"), _fmt(curve.held_out[-1]),
                   help=t("experiments.noise.after", step=curve.steps[-1], first=_fmt(curve.held_out[0])))
    cols[2].metric(t("experiments.noise.zero"), _fmt(curve.zero_loss), help=t("experiments.noise.zero_help"))
    if curve.diverged_at is not None:
        st.warning(t("experiments.noise.diverged", step=curve.diverged_at))
    title = t("experiments.noise.chart_title", stage=t(f"stage.{stage}.title"))
    st.plotly_chart(held_out_figure(curve, title=title, lang=lang()), key="held_out_chart", width="stretch")
    st.info(t("experiments.noise.lesson"), icon=":material/lightbulb:")


def sine_tab() -> None:
    st.markdown(t("experiments.sine.intro"))
    cols = st.columns(3)
    for key, default, parse in SINE_CHOICES:
        st.session_state.setdefault(key, default)
        linked_choice(key, key, parse)
    steps = cols[0].slider(t("experiments.sine.steps"), 1, 5000, key="sine_steps")
    lr = cols[1].select_slider(t("experiments.sine.lr"), options=with_value(LR_CHOICES, "sine_lr"), key="sine_lr",
                               format_func=lr_text)
    seed = cols[2].number_input(t("experiments.sine.seed"), 0, 2**31 - 1, step=1, key="sine_seed")
    for key, value in (("sine_steps", steps), ("sine_lr", lr), ("sine_seed", int(seed))):
        keep_choice(key, value)
    st.caption(t("experiments.sine.stable", limit=sine_stable_lr()))
    args = (int(steps), float(lr), int(seed))
    fit = get_many([(jobs.sine, args)], [(t("experiments.sine.progress"), args[0])])[0]
    if isinstance(fit, RunFailed):
        st.error(run_failed_message(fit), icon=":material/timer_off:")
        return
    if fit.time_limited_at is not None:
        st.warning(time_limit_message(len(fit.losses), int(steps)), icon=":material/timer:")

    # the fit and its loss side by side, right under the settings they follow (one 1280x720 screen)
    fit_col, loss_col = st.columns(2)
    fit_col.plotly_chart(sine_fit_figure(fit, lang=lang()), key="sine_chart", width="stretch", height=CHART_HEIGHT)
    curve = t("experiments.sine.curve")
    diverged = {curve: (fit.diverged_at, fit.stop_loss)} if fit.diverged_at is not None else None
    loss_col.plotly_chart(plots.loss_curves([(curve, fit.losses)], diverged=diverged,
                                            title=t("experiments.sine.loss_title"), lang=lang()),
                          key="sine_loss_chart", width="stretch", height=CHART_HEIGHT)
    if fit.diverged_at is not None:
        reason = t(fit.divergence_reason, loss=fit.stop_loss, limit=GROWTH_LIMIT)
        st.warning(t("experiments.sine.diverged", step=fit.diverged_at, reason=reason, lr=lr_text(lr),
                     limit=sine_stable_lr()), icon=":material/warning:")
    coeffs = fit.coefficients
    cols = st.columns(2)
    cols[0].metric(t("metric.first_loss"), f"{fit.losses[0]:.4g}" if fit.losses else "—")
    cols[1].metric(t("metric.final_loss"), f"{fit.losses[-1]:.4g}" if fit.losses else "—")
    for col, name in zip(st.columns(4), "abcd"):
        col.metric(name, f"{coeffs[name]:.4f}" if math.isfinite(coeffs[name]) else "—")
    st.caption(t("experiments.sine.ending"))
    with st.expander(t("source.expander")):
        st.code(source_of(fit_sine), language="python")


ensure_app_frame()
st.title(t("experiments.title"))
say_ignored_keys(LINK_KEYS, QUERY_KEYS)
# format_func looks labels up in a dict made now: AppTest calls it outside the page's run
stage = st.selectbox(t("experiments.stage"), list(STAGES), key="exp_stage",
                     format_func={name: t(f"stage.{name}.title") for name in STAGES}.get,
                     help=t("experiments.stage_help"))
cfg = settings_sidebar(stage)
linked_choice("tab", "exp_tab", lambda text: t(f"experiments.tab.{one_of(*TAB_IDS)(text)}"))
# only the open tab's runs happen; session_state["exp_tab"] holds the open tab's label, in the page's language
sweep, noise, sine, device = kept_tabs("exp_tab", list(TAB_IDS), "experiments.tab")
keep_choice("tab", open_tab("exp_tab", list(TAB_IDS), "experiments.tab") or TAB_IDS[0])
if sweep.open or noise.open:
    with sweep if sweep.open else noise:
        if cfg is None:
            settings_problem()
        elif sweep.open:
            sweep_tab(stage, cfg)
        else:
            noise_tab(stage, cfg)
if sine.open:
    with sine:
        sine_tab()
if device.open:
    with device:
        if cfg is None:
            settings_problem()
        else:
            device_tab(stage, cfg)
