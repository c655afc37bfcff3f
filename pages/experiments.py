"""Experiments: a learning-rate sweep, a network memorising random data, and the current tutorial's sin(x) fit."""
import contextvars
import inspect
import math

import pandas as pd
import streamlit as st

from lib import plots
from lib.config import TrainConfig
from lib.experiment_plots import held_out_figure, lr_sweep_figure, sine_fit_figure
from lib.experiments import (SWEEP_MAX_RUNS, HeldOutCurve, SineFit, best_lr, checkpoints, fit_sine, held_out_curve,
                             lr_grid, lr_sweep, sine_stable_lr, sweep_summary)
from lib.stages import STAGES
from pages.common import LR_CHOICES, describe, ensure_app_frame, progress_callback, settings_sidebar

CACHE_ENTRIES = 32
TABS = ["Learning-rate sweep", "Memorising noise", "Fitting sin(x)"]


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_sweep(stage: str, config: TrainConfig, lrs: tuple[float, ...], _on_run=None
                 ) -> tuple[pd.DataFrame, list[list[float]]]:
    """The summary and every run's losses; the parameters are dropped so the cache stays small."""
    results = lr_sweep(stage, config, list(lrs), on_run=_on_run)
    return sweep_summary(results), [r.losses for _, r in results]


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_held_out(stage: str, config: TrainConfig, _on_run=None) -> HeldOutCurve:
    return held_out_curve(stage, config, on_run=_on_run)


@st.cache_data(max_entries=CACHE_ENTRIES, show_spinner=False)
def cached_sine(steps: int, lr: float, seed: int, _on_step=None) -> SineFit:
    return fit_sine(steps=steps, lr=lr, seed=seed, on_step=_on_step)


def progress_maker(bar):
    """make(steps, label, done, share) -> on_step for `bar`. on_run calls it inside a cached function; building the
    callback in the page's context keeps its bar updates out of the cached result, as progress_callback wants."""
    page_context = contextvars.copy_context()
    return lambda steps, label, done, share: page_context.run(progress_callback, bar, steps, label, done, share)


def _fmt(value: float) -> str:
    return f"{value:.3e}" if math.isfinite(value) else "—"


def sweep_tab(stage: str, cfg: TrainConfig) -> None:
    st.markdown("The same training, from the same seed, once per learning rate. Too small an lr and the loss "
                "barely moves in the steps given; too large and it blows up; the good values sit in between, "
                "at the bottom of the **U**.")
    cols = st.columns(3)
    low = cols[0].select_slider("lowest lr", options=LR_CHOICES, value=1e-8, key="sweep_low",
                                format_func=lambda v: f"{v:.0e}")
    high = cols[1].select_slider("highest lr", options=LR_CHOICES, value=1e-1, key="sweep_high",
                                 format_func=lambda v: f"{v:.0e}")
    per_decade = cols[2].slider("points per decade", 1, 4, value=1, key="sweep_density")
    if low > high:
        st.warning("The lowest lr is above the highest: move the sliders so that lowest ≤ highest.")
        return
    try:
        lrs = lr_grid(low, high, per_decade)
    except ValueError as err:
        st.warning(str(err))
        return
    st.caption(f"{len(lrs)} runs (at most {SWEEP_MAX_RUNS}). Each run is the sidebar's config, steps included, "
               f"with the sweep's lr in place of the sidebar's: {describe(stage, cfg)}.")
    st.caption("The loss is a *sum* of squared errors over N×D_OUT numbers, so its gradient grows with N and with "
               "the size of the weights: the safe lr depends on N and on the weight scale (stages 1–3 draw "
               "`torch.randn` weights, stages 4–7 `nn.Linear`'s small ones), not on the stage's code alone.")

    bar = st.empty()
    progress = progress_maker(bar)

    def on_run(i, lr):
        return progress(cfg.steps, f"lr {lr:.1e} (run {i + 1} of {len(lrs)})", i / len(lrs), 1 / len(lrs))
    summary, curves = cached_sweep(stage, cfg.with_(lr=lrs[0]), tuple(lrs), _on_run=on_run)
    bar.empty()

    best = best_lr(summary)
    diverged = int(summary["diverged_at"].notna().sum())
    cols = st.columns(3)
    cols[0].metric("best lr", f"{best:.1e}" if best is not None else "—",
                   help="The lr whose run ended with the lowest loss, among runs that did not diverge.")
    cols[1].metric("lowest final loss", _fmt(summary.loc[summary["lr"] == best, "final loss"].iloc[0])
                   if best is not None else "—")
    cols[2].metric("runs that diverged", f"{diverged} of {len(summary)}")
    if best is None:
        st.warning("Every run diverged: lower the lr range, or N, in the sidebar.")
    first_loss = curves[0][0] if curves and curves[0] else None
    st.plotly_chart(lr_sweep_figure(summary, first_loss=first_loss, title=f"{STAGES[stage].title}: final loss vs lr"),
                    key="sweep_chart", width="stretch")
    st.caption("Red crosses along the top: runs that diverged (hover for the step). The dotted line is the lowest "
               "loss each run reached on the way, which can be below its final loss when the lr is close to "
               "the edge.")
    table = pd.DataFrame({
        "lr": summary["lr"].map(lambda v: f"{v:.2e}"),
        "final loss": summary["final loss"].map(_fmt),
        "best loss": summary["best loss"].map(_fmt),
        "diverged": summary["diverged_at"].map(lambda k: "—" if pd.isna(k) else f"at step {int(k)}"),
    })
    st.dataframe(table, hide_index=True, width="stretch")
    with st.expander("Loss curves of every run"):
        labels = [f"lr {lr:.1e}" for lr in summary["lr"]]
        marks = {label: int(k) for label, k in zip(labels, summary["diverged_at"]) if not pd.isna(k)}
        st.plotly_chart(plots.loss_curves(list(zip(labels, curves)), diverged=marks, title="Every run of the sweep"),
                        key="sweep_curves", width="stretch")


def noise_tab(stage: str, cfg: TrainConfig) -> None:
    st.markdown(
        "Every stage of the original tutorial trains on `x = torch.randn(N, D_IN)` and `y = torch.randn(N, D_OUT)`: "
        "y has nothing to do with x. The loss still falls to almost zero, because a network with "
        f"{cfg.d_in * cfg.hidden + cfg.hidden * cfg.d_out:,} weights can **memorise** {cfg.n * cfg.d_out:,} random "
        "numbers. Here a second random set `(x_test, y_test)` of the same size, never trained on, is scored "
        "along the way.")
    st.caption(f"Settings from the sidebar: {describe(stage, cfg)}. The held-out set comes from a generator of "
               f"its own (seed {cfg.seed} + 1), so training is exactly the run of the stage page. The loss after k "
               "steps comes from re-running the stage for k steps, at about 20 values of k.")
    plan = [cfg.steps] + [k for k in checkpoints(cfg.steps) if k != cfg.steps]
    total = sum(plan) or 1
    bar = st.empty()
    progress = progress_maker(bar)
    done = [0.0]

    def on_run(i, k):
        share = k / total
        callback = progress(max(k, 1), f"training {k} steps (run {i + 1} of {len(plan)})", done[0], share)
        done[0] += share
        return callback
    curve = cached_held_out(stage, cfg, _on_run=on_run)
    bar.empty()

    cols = st.columns(3)
    cols[0].metric("training loss", _fmt(curve.train[-1]), help=f"after {curve.steps[-1]} steps; it started at "
                   f"{_fmt(curve.train[0])}")
    cols[1].metric("held-out loss", _fmt(curve.held_out[-1]),
                   help=f"after {curve.steps[-1]} steps; it started at {_fmt(curve.held_out[0])}")
    cols[2].metric("predicting 0 everywhere", _fmt(curve.zero_loss), help="Σ y_test²: the held-out loss of a "
                   "model that outputs 0")
    if curve.diverged_at is not None:
        st.warning(f"Training diverged at step {curve.diverged_at}; the curves stop before it. Lower lr in the "
                   "sidebar.")
    st.plotly_chart(held_out_figure(curve, title=f"{STAGES[stage].title}: memorising random data"),
                    key="held_out_chart", width="stretch")
    st.info(
        "**Training loss falls; held-out loss does not.** Because y_test is independent of x_test, no model can "
        "do better on it than predicting 0, on average: the grey line. Stages 1–3 start far above it (their "
        "`torch.randn` weights give huge outputs) and training only partly shrinks them; stages 4–7 start near "
        "it and drift *above* it as the network memorises the training set. Nothing was learnt that carries "
        "over. That is why pytorch.org's current version of this tutorial fits **sin(x)** instead: data with a "
        "pattern in it (next tab).", icon=":material/lightbulb:")


def sine_tab() -> None:
    st.markdown(
        "The current pytorch.org tutorial starts from a problem with something to learn: fit "
        "**y = sin(x)** on 2000 points in [−π, π] with a cubic **y = a + b x + c x² + d x³**, using raw tensors "
        "and gradients written by hand (the same summed squared error and `w -= lr * grad` as stage 1), "
        "lr 1e-6, 2000 steps.")
    cols = st.columns(3)
    steps = cols[0].slider("steps", 1, 5000, value=2000, key="sine_steps")
    lr = cols[1].select_slider("lr", options=LR_CHOICES, value=1e-6, key="sine_lr", format_func=lambda v: f"{v:.0e}")
    seed = cols[2].number_input("seed", 0, 2**31 - 1, value=0, step=1, key="sine_seed")
    st.caption(f"Gradient descent on this loss is stable below lr ≈ {sine_stable_lr():.2e} (2 / the largest "
               "curvature of the loss, which the sum over 2000 points of x⁶ dominates); above it the fit blows up.")
    bar = st.empty()
    fit = cached_sine(int(steps), float(lr), int(seed), _on_step=progress_callback(bar, int(steps), "Fitting"))
    bar.empty()

    coeffs = fit.coefficients
    cols = st.columns(2)
    cols[0].metric("first loss", f"{fit.losses[0]:.4g}" if fit.losses else "—")
    cols[1].metric("final loss", f"{fit.losses[-1]:.4g}" if fit.losses else "—")
    cols = st.columns(4)
    for col, name in zip(cols, "abcd"):
        col.metric(name, f"{coeffs[name]:.4f}" if math.isfinite(coeffs[name]) else "—")
    if fit.diverged_at is not None:
        st.warning(f"The fit diverged at step {fit.diverged_at}: {fit.divergence_reason}. lr = {lr:.0e} is above "
                   f"the stable limit ≈ {sine_stable_lr():.1e}; lower it.", icon=":material/warning:")
    st.plotly_chart(sine_fit_figure(fit), key="sine_chart", width="stretch")
    diverged = {"sin(x) fit": fit.diverged_at} if fit.diverged_at is not None else None
    st.plotly_chart(plots.loss_curves([("sin(x) fit", fit.losses)], diverged=diverged,
                                      title="Training loss of the cubic"), key="sine_loss_chart", width="stretch")
    st.caption("The tutorial ends near y ≈ 0.06 + 0.84 x − 0.01 x² − 0.09 x³. That is not sin's Taylor series "
               "(b = 1, d = −1/6 ≈ −0.17): the least-squares cubic over all of [−π, π] gives up some accuracy near 0 "
               "for accuracy at the ends. Unlike the random data, this curve also fits new points drawn from sin(x).")
    with st.expander("The exact code that ran (from lib/, via inspect.getsource)"):
        st.code(inspect.getsource(fit_sine), language="python")


ensure_app_frame()
st.title("Experiments")
stage = st.selectbox("Stage", list(STAGES), key="exp_stage", format_func=lambda name: STAGES[name].title,
                     help="The stage trained in the first two tabs, with the settings in the sidebar.")
cfg = settings_sidebar(stage)
sweep, noise, sine = st.tabs(TABS, key="exp_tab", on_change="rerun")   # only the open tab's runs happen
if sweep.open or noise.open:
    with sweep if sweep.open else noise:
        if cfg is None:
            st.warning("The settings in the sidebar can't run (the message there says why). Change them, or "
                       "press \"Reset to the tutorial's values\".")
        elif sweep.open:
            sweep_tab(stage, cfg)
        else:
            noise_tab(stage, cfg)
if sine.open:
    with sine:
        sine_tab()
