"""Weights and gradients over time, on a stage page: histograms computed in a worker (lib.serve.jobs.histograms)."""
from __future__ import annotations

import streamlit as st

from lib.figures import histogram_plots

from lib.serve import jobs, workers
from lib.tutorial.histograms import STEPS_SHOWN, spread_steps
from lib.tutorial.stages import RunSummary
from ui.links import keep_choice, linked_choice, one_of
from ui.results import png_config
from ui.runs import get_many, run_failed_message, time_limit_message
from ui.text import lang, t


def histogram_section(stage: str, result: RunSummary, broken: bool) -> None:
    """Histograms of every parameter and its gradient at a few steps spread over the run the page shows: the
    histograms tab of a stage page and of the own-network page (its label is their heading). They replay the run
    (about 2.5 runs' work), so they are computed only while their tab is open.

    `result` may be a network built from menus (stage "own_network", lib.explore.own_network): its own job replays it.
    """
    steps = tuple(spread_steps(len(result.losses), STEPS_SHOWN))
    st.markdown(t("hist.intro_manual" if stage == "tensors" else "hist.intro", count=len(steps)))
    cfg = result.config
    if stage == "own_network":
        request = (jobs.network_histograms, (cfg, steps))
    else:
        request = (jobs.histograms, (stage, cfg, steps, broken))
    history = get_many([request], [(t("hist.computing"), 1)])[0]
    if isinstance(history, workers.RunFailed):
        st.error(run_failed_message(history), icon=":material/timer_off:")
        return
    if history.time_limited_at is not None:
        st.warning(time_limit_message(len(history.steps), len(steps)), icon=":material/timer:")
    if not history.steps:
        return
    parameter_histograms(stage, result, history)


@st.fragment(key="histograms_part")
def parameter_histograms(stage: str, result: RunSummary, history) -> None:
    """One parameter's histograms, chosen beside them: a fragment, as the choice only redraws (no job)."""
    names = list(history.weights)
    key = f"{stage}_hist_param"
    linked_choice("hist", key, one_of(*names))
    if st.session_state.get(key) not in names:
        st.session_state[key] = "middle_linear.weight" if "middle_linear.weight" in names else names[0]
    chart, choice = st.columns([3, 1])
    name = choice.selectbox(t("hist.parameter"), names, key=key)
    keep_choice("hist", name)
    chart.plotly_chart(histogram_plots.parameter_histograms(history, name, name, lang=lang()), key="hist_chart",
                       width="stretch", config=png_config(f"{stage}_histograms_{name}"))
    first, last = history.gradients[name][0], history.gradients[name][-1]
    if len(history.steps) == 1:   # a run that diverges at once: one step to show, no range
        st.caption(t("hist.grad_one", name=name, value=first.largest_abs, step=history.steps[0]))
    else:
        st.caption(t("hist.grad_range", name=name, first=first.largest_abs, last=last.largest_abs,
                     first_step=history.steps[0], last_step=history.steps[-1]))
    if result.diverged_at is not None:
        st.info(t("hist.diverged", step=result.diverged_at, last=history.steps[-1]), icon=":material/warning:")
    unused = [step for step, depth in zip(history.steps, history.depths) if depth == 0]
    if name.startswith("middle_linear") and unused:
        st.info(t("hist.unused", steps=", ".join(map(str, unused))), icon=":material/info:")
