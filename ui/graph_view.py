"""The graph autograd records, on a stage page: computed in a worker (lib.serve.jobs.graph), drawn in the browser."""
from __future__ import annotations

import streamlit as st

from lib.serve import jobs, workers
from lib.tutorial.config import TrainConfig
from lib.tutorial.stages import RunSummary
from ui.gradient_view import inspected_step
from ui.runs import get_many, run_failed_message
from ui.text import t


@st.fragment(key="graph_tab_part")
def graph_tab(stage: str, cfg: TrainConfig, result: RunSummary, broken: bool) -> None:
    """The stage page's graph tab: the step (and DynamicNet's depth) to look at, then its graph. A fragment: moving
    the step reruns this tab only (it still asks the workers for that step's graph)."""
    inspected = inspected_step(stage, result)
    if inspected is not None:
        step, depth = inspected
        graph_section(stage, cfg, step, broken, depth)


@st.fragment(key="graph_part")
def graph_section(stage: str, cfg: TrainConfig, step: int, broken: bool, depth: int | None) -> None:
    """The backward graph of the forward pass at `step` (stage 1: its hand-written backward, drawn alike); on
    DynamicNet `depth` forces the number of middle_linear passes (None: as drawn in training). It fills the stage
    page's graph tab, whose label is its heading. A fragment: the saved-tensors switch redraws the graph alone, and
    a graph already built (either way) comes from the cache, no job."""
    st.markdown(t("graph.intro_manual" if stage == "tensors" else "graph.intro", step=step))
    show_saved = False
    if stage != "tensors":
        show_saved = st.toggle(t("graph.show_saved"), key=f"{stage}_graph_saved", help=t("graph.show_saved_help"))
    graph = get_many([(jobs.graph, (stage, cfg, step, broken, depth, show_saved))], [(t("graph.computing"), 1)])[0]
    if isinstance(graph, workers.RunFailed):
        st.error(run_failed_message(graph), icon=":material/timer_off:")
        return
    st.graphviz_chart(graph.dot, width="stretch")
    st.caption(t("graph.legend_manual" if stage == "tensors" else "graph.legend"))
    counts = ", ".join(f"{kind} × {n}" for kind, n in sorted(graph.counts.items()))
    st.caption(t("graph.lines" if stage == "tensors" else "graph.counts", counts=counts))
    if stage == "custom_function":
        st.info(t("graph.myrelu_broken" if broken else "graph.myrelu"), icon=":material/info:")
    elif stage == "dynamic_net":
        st.info(t("graph.dynamic", step=step, depth=graph.depth), icon=":material/info:")
