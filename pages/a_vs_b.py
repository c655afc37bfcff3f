"""A against B: one stage run twice, with one setting changed; both curves on one chart, both gradient tables in one."""
import pandas as pd
import streamlit as st

from lib.figures import plots

from lib.serve import jobs
from lib.text.messages import Message
from lib.text.numbers import lr_text
from lib.tutorial.config import QUERY_KEYS, SEED_CAP, SIZE_CAPS, STAGE_NAMES, config_to_query, difference_label
from lib.tutorial.optimizers import OPTIMIZERS
from lib.explore.versus import LINK_KEYS, VARIES, b_config, default_b, uses_field
from lib.serve.workers import RunFailed
from ui.frame import ensure_app_frame
from ui.links import (LinkRefused, followed_link, keep_choice, linked_choice, one_of, say_ignored_keys, whole_number,
                      with_value, wrote_link)
from ui.results import divergence_message, gradient_table, no_gradient_message, stop_point
from ui import board
from ui.runs import get_many, run_failed_message, run_stages, time_limit_message
from ui.sidebar import LR_CHOICES, allowed_steps, settings_problem, settings_sidebar
from ui.text import lang, optimizer_label, t

RUNS = ("A", "B")
OWN_KEYS = (*LINK_KEYS, "log", "step")   # what this page reads from a link besides A's settings
CHART_HEIGHT = 380   # B's value, the difference and both curves on one 1280x720 screen


def b_widget(vary: str, key: str):
    """B's value of `vary`, with the widget the sidebar uses for that field."""
    label = t("versus.b_value", field=t(f"versus.field.{vary}"))
    if vary == "lr":
        return st.select_slider(label, options=with_value(LR_CHOICES, key), key=key, format_func=lr_text)
    if vary == "optimizer":
        return st.selectbox(label, list(OPTIMIZERS), key=key,
                            format_func={name: optimizer_label(name) for name in OPTIMIZERS}.get)
    if vary == "momentum":
        return st.slider(label, 0.0, 0.99, step=0.01, key=key)
    if vary == "dtype":
        return st.radio(label, ["float32", "float64"], key=key, horizontal=True)
    if vary == "seed":
        return st.number_input(label, 0, SEED_CAP, step=1, key=key)
    return st.slider(label, 1, SIZE_CAPS[vary], key=key)


def b_parser(a, vary: str):
    """B's value from the link's text, as given (an lr off the slider's grid too); refused with the sidebar's reason
    (lib.tutorial.config)."""
    def parse(text: str):
        try:
            return getattr(b_config(a, vary, text), vary)
        except ValueError as err:
            problem = err.args[0] if err.args and isinstance(err.args[0], Message) else None
            reason = problem.values.get("reason") if problem is not None else None
            raise LinkRefused(reason if reason is not None else Message("links.why_unreadable")) from err
    return parse


ensure_app_frame()
st.title(t("versus.title"))
st.markdown(t("versus.intro"))
say_ignored_keys(OWN_KEYS, QUERY_KEYS)
titles = {name: t(f"stage.{name}.title") for name in STAGE_NAMES}
followed_link("stage", "vs_stage", one_of(*STAGE_NAMES))
stage = st.selectbox(t("versus.stage"), STAGE_NAMES, key="vs_stage", format_func=titles.get)
wrote_link("stage", "vs_stage", stage)
a = settings_sidebar(stage, remember_as=f"a_vs_b:{stage}")
if a is None:
    settings_problem()
    st.stop()
st.caption(t("versus.a_is_sidebar"))

cols = st.columns(2)
vary_labels = {field: t(f"versus.field.{field}") for field in VARIES}
followed_link("vary", "vs_vary", one_of(*VARIES))
with cols[0]:
    vary = st.selectbox(t("versus.vary"), VARIES, key="vs_vary", format_func=vary_labels.get)
key = f"vs_b_{vary}"
if st.query_params.get("vary") == vary:   # the link's b is a value of the link's vary, not of one chosen since
    followed_link("b", key, b_parser(a, vary))
wrote_link("vary", "vs_vary", vary)
if key not in st.session_state:
    st.session_state[key] = default_b(a, vary)   # 5x A's lr may be off the slider's grid: the slider shows it
with cols[1]:
    value = b_widget(vary, key)
try:
    b = a.with_(**{vary: value})
except ValueError as err:
    st.error(t("settings.cant_run", err=err), icon=":material/block:")
    st.stop()
wrote_link("b", key, config_to_query(b)[vary])
# both runs take the same steps: what the server finishes at the bigger of the two settings
steps = min(a.steps, allowed_steps(stage, b.n, b.d_in, b.hidden, b.d_out, b.dtype, b.seed))
if steps < a.steps:
    st.info(t("versus.steps_shortened", steps=steps), icon=":material/timer:")
a, b = a.with_(steps=steps), b.with_(steps=steps)

names = {"A": difference_label(a, b), "B": difference_label(b, a)}
if names["A"]:
    st.markdown(t("versus.difference", a=names["A"], b=names["B"]))
else:
    st.info(t("versus.same"), icon=":material/info:")
if not uses_field(stage, vary, a):
    st.warning(t("versus.not_used", field=vary_labels[vary], stage=titles[stage]), icon=":material/info:")

labels = [f"{run} ({names[run]})" if names[run] else run for run in RUNS]
results = run_stages([(stage, a, False), (stage, b, False)], labels)
for label, result in zip(labels, results):
    if isinstance(result, RunFailed):
        st.error(f"**{label}** — " + run_failed_message(result), icon=":material/timer_off:")
        st.stop()
board.post_versus_runs(stage, vary, a, b, results)   # to the class board, when in a class


@st.fragment(key="vs_curves")
def both_curves(stage: str, labels: list[str], results: list) -> None:
    """A's and B's loss curves; a fragment, as the log axis only redraws them."""
    st.session_state.setdefault("vs_log", True)
    linked_choice("log", "vs_log", lambda text: one_of("1", "0")(text) == "1")
    log_y = st.toggle(t("chart.log_y"), key="vs_log")
    keep_choice("log", int(log_y))
    diverged = {label: stop_point(r) for label, r in zip(labels, results) if r.diverged_at is not None}
    st.plotly_chart(plots.loss_curves([(label, r.losses) for label, r in zip(labels, results)], log_y=log_y,
                                      title=t("versus.chart_title", stage=titles[stage]), diverged=diverged,
                                      lang=lang()),
                    key="versus_chart", width="stretch", height=CHART_HEIGHT)


both_curves(stage, labels, results)
# what stopped a run, under the chart that marks where (the choice of B and the curves it moves share one screen)
for label, result in zip(labels, results):
    if result.time_limited_at is not None:
        st.warning(f"**{label}** — " + time_limit_message(len(result.losses), result.config.steps),
                   icon=":material/timer:")
    if result.diverged_at is not None:
        st.warning(f"**{label}** — " + divergence_message(result), icon=":material/warning:")
summary = pd.DataFrame({
    t("versus.column.run"): labels,
    t("versus.column.first_loss"): [f"{r.losses[0]:.4g}" if r.losses else "—" for r in results],
    t("versus.column.final_loss"): [f"{r.final_loss:.4g}" if r.losses else "—" for r in results],
    t("versus.column.diverged"): ["—" if r.diverged_at is None else t("compare.at_step", step=r.diverged_at)
                                  for r in results],
    t("versus.column.time"): [f"{r.elapsed_s:.2f} s" for r in results]})
st.dataframe(summary, hide_index=True, width="stretch")

@st.fragment(key="vs_gradients")
def both_gradients(stage: str, a, b, labels: list[str], results: list) -> None:
    """Both runs' gradient tables at one step; a fragment: a new step asks for its two comparisons and reruns this
    part alone, not the runs above."""
    st.header(t("versus.grad_header"))
    last = min(len(r.losses) for r in results) - 1   # a step both runs reached
    if last < 0:
        st.info(no_gradient_message([r for r in results if not r.losses]))
        return
    linked_choice("step", "vs_step", whole_number(0, last))
    st.session_state["vs_step"] = min(st.session_state.get("vs_step", 0), last)
    step = st.slider(t("grad.step"), 0, last, key="vs_step", help=t("versus.step_help")) if last else 0
    keep_choice("step", step)
    comparisons = get_many([(jobs.gradients, (stage, cfg, step, False, None)) for cfg in (a, b)],
                           [(label, step) for label in labels])
    failed = next((c for c in comparisons if isinstance(c, RunFailed)), None)
    if failed is not None:
        st.error(run_failed_message(failed), icon=":material/timer_off:")
        return
    table = pd.concat([c.table.assign(parameter=[f"{run} · {p}" for p in c.table["parameter"]])
                       for run, c in zip(RUNS, comparisons)], ignore_index=True)
    st.dataframe(gradient_table(table), hide_index=True, width="stretch")
    st.caption(t("versus.grad_caption", step=step))


both_gradients(stage, a, b, labels, results)
