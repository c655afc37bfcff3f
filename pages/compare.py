"""Compare stages: all seven trained with the same seed and sizes, on one chart and in one table."""
import math

import pandas as pd
import streamlit as st

from lib.figures import plots
from lib.classroom.claims import curve_gap
from lib.text.numbers import lr_text
from lib.tutorial.config import QUERY_KEYS, default_config, query_field
from lib.tutorial.stages import STAGE_NAMES, STAGES
from lib.serve.workers import RunFailed
from ui.frame import ensure_app_frame
from ui.links import keep_choice, linked_choice, lr_value, say_ignored_keys, say_not_kept, with_value
from ui.results import divergence_message, stop_point
from ui.runs import run_failed_message, run_stages, time_limit_message
from ui.sidebar import LR_CHOICES, STAGE_OWN, settings_problem, settings_sidebar
from ui.text import lang, optimizer_label, t


def common_lr(text: str) -> float:
    """A link's lr= on this page: the one lr all seven stages train with (the sidebar leaves lr to each stage)."""
    lr = lr_value()(text)
    st.session_state["compare_same_lr"] = True
    return lr


def agreement(results) -> str:
    """Stages 2 and 3 against stage 1, loss by loss, in words (the numbers come from the curves on the chart)."""
    reference = results["tensors"].losses
    parts, drift = [], False
    for name in ("autograd", "custom_function"):
        number = STAGE_NAMES.index(name) + 1
        first_diff, gap = curve_gap(reference, results[name].losses)
        if first_diff is None:
            parts.append(t("compare.same_all", stage=number))
        else:
            drift = True
            parts.append(t("compare.drifts", stage=number, last_same=first_diff - 1, first_diff=first_diff, gap=gap))
    return " ".join(parts + ([t("compare.drift_cause")] if drift else []))


ensure_app_frame()
st.title(t("compare.title"))
st.markdown(t("compare.intro"))
say_ignored_keys(fields=[name for name in QUERY_KEYS if name not in STAGE_OWN] + ["lr"])
base = settings_sidebar("compare", sizes_only=True)
lr_key = next((key for key in st.query_params if query_field(key) == "lr"), "lr")   # lr=, also LR=
st.session_state.setdefault("compare_lr", default_config("tensors").lr)
linked_choice(lr_key, "compare_lr", common_lr)
same_lr = st.sidebar.toggle(t("compare.same_lr"), key="compare_same_lr")
if same_lr:
    st.sidebar.select_slider(t("compare.lr"), options=with_value(LR_CHOICES, "compare_lr"), key="compare_lr",
                             format_func=lr_text)
    keep_choice(lr_key, st.session_state["compare_lr"])
else:
    say_not_kept(lr_key, t("compare.lr_own"))
if base is None:
    settings_problem()
    st.stop()

titles = {name: t(f"stage.{name}.title") for name in STAGES}
configs = {}
for name in STAGES:
    cfg = default_config(name).with_(n=base.n, d_in=base.d_in, hidden=base.hidden, d_out=base.d_out,
                                     steps=base.steps, seed=base.seed, dtype=base.dtype)
    configs[name] = cfg.with_(lr=st.session_state["compare_lr"]) if same_lr else cfg
# the seven runs go to the workers side by side
outcomes = run_stages([(name, cfg, False) for name, cfg in configs.items()], list(titles.values()))
results = {}
for name, outcome in zip(STAGES, outcomes):
    if isinstance(outcome, RunFailed):
        st.error(f"**{titles[name]}** — " + run_failed_message(outcome), icon=":material/timer_off:")
    else:
        results[name] = outcome
        if outcome.time_limited_at is not None:
            st.warning(f"**{titles[name]}** — " + time_limit_message(len(outcome.losses), outcome.config.steps),
                       icon=":material/timer:")



@st.fragment(key="compare_curves")
def all_curves(titles: dict, results: dict) -> None:
    """The seven curves; a fragment, as the log axis only redraws them."""
    log_y = st.toggle(t("chart.log_y"), value=True, key="log_y")
    curves = [(titles[name], r.losses) for name, r in results.items()]
    diverged = {titles[name]: stop_point(r) for name, r in results.items() if r.diverged_at is not None}
    st.plotly_chart(plots.loss_curves(curves, log_y=log_y, title=t("compare.chart_title"), diverged=diverged,
                                      lang=lang()),
                    key="compare_chart", width="stretch", height=400)   # the log switch above it, one screen


all_curves(titles, results)
if all(name in results for name in ("tensors", "autograd", "custom_function")):
    st.info(t("compare.lesson", agreement=agreement(results)))

# column headers as the reader sees them; "lr" is a code name in both languages
stage_col, update_col, first_col, final_col, to_1pct_col, time_col, diverged_col = (
    t(f"compare.column.{c}") for c in ("stage", "update", "first_loss", "final_loss", "to_1pct", "time", "diverged"))
rows = []
for name, r in results.items():
    cfg = r.config
    update = optimizer_label(cfg.optimizer) if STAGES[name].uses_optimizer else t("compare.by_hand")
    to_1pct = plots.first_step_below(r.losses, 0.01)
    rows.append({stage_col: titles[name], "lr": lr_text(cfg.lr), update_col: update,
                 first_col: r.losses[0] if r.losses else math.nan, final_col: r.final_loss,
                 to_1pct_col: t("compare.never") if to_1pct is None else str(to_1pct),
                 time_col: round(r.elapsed_s, 3),
                 diverged_col: "—" if r.diverged_at is None else t("compare.at_step", step=r.diverged_at)})
table = pd.DataFrame(rows)
st.dataframe(table.style.format({first_col: "{:.3e}", final_col: "{:.3e}", time_col: "{:.3f}"}),
             hide_index=True, width="stretch")
for name, r in results.items():
    if r.diverged_at is not None:
        st.warning(f"**{titles[name]}** — " + divergence_message(r), icon=":material/warning:")
