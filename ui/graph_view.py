"""The graph autograd records, on a stage page: computed in a worker (lib.serve.jobs.graph), drawn in the browser."""
from __future__ import annotations

import streamlit as st

from lib.serve import jobs, workers
from lib.tutorial.config import TrainConfig
from ui.runs import CACHE_TTL_S, run_failed_message, run_jobs
from ui.text import t

GRAPHS = workers.JobCache(64, CACHE_TTL_S)   # DOT text is a few KB


def graph_section(stage: str, cfg: TrainConfig, step: int, broken: bool, depth: int | None) -> None:
    """The backward graph of the forward pass at `step` (stage 1: its hand-written backward, drawn alike); on
    DynamicNet `depth` forces the number of middle_linear passes (None: as drawn in training). It fills the stage
    page's graph tab, whose label is its heading."""
    st.markdown(t("graph.intro_manual" if stage == "tensors" else "graph.intro", step=step))
    show_saved = False
    if stage != "tensors":
        show_saved = st.toggle(t("graph.show_saved"), key=f"{stage}_graph_saved", help=t("graph.show_saved_help"))
    key = ("graph", stage, cfg, step, broken, depth, show_saved)
    graph = run_jobs(GRAPHS, [(key, jobs.graph, (stage, cfg, step, broken, depth, show_saved))],
                     [(t("graph.computing"), 1)])[0]
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
