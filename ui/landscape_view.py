"""The loss landscape on "Inside the optimizers": computed in a worker (lib.serve.jobs.landscape), drawn as a contour."""
from __future__ import annotations

import math

import streamlit as st

from lib.figures import landscape_plots

from lib.serve import jobs, workers
from lib.tutorial.config import TrainConfig
from lib.explore.landscape import GRID_DEFAULT
from lib.tutorial.optimizers import OPTIMIZERS
from ui.links import keep_choice, linked_choice, one_of
from ui.results import png_config
from ui.runs import get_many, run_failed_message
from ui.text import lang, optimizer_label, t

SPANS = [1.0, 0.1, 0.01, 0.001]
LINK_KEYS = ("span",)   # its choice in the link
NEARLY_ORTHOGONAL = 0.1   # below this share of every path's length on the slice, the page says the paths look short


@st.fragment(key="landscape_part")
def landscape_section(cfg: TrainConfig, k: int) -> None:
    """A fragment: the span reruns this section alone (a new span still asks the workers for its slice)."""
    st.header(t("land.header"))
    st.markdown(t("land.intro", optimizer=optimizer_label(cfg.optimizer), k=k))
    st.session_state.setdefault("land_span", SPANS[0])
    linked_choice("span", "land_span", lambda text: one_of(*SPANS)(str(float(text))))
    span = st.select_slider(t("land.span"), SPANS, key="land_span", help=t("land.span_help"),
                            format_func=lambda v: f"{v:g}")
    keep_choice("span", span)
    landscape = get_many([(jobs.landscape, (cfg, k, GRID_DEFAULT, span))], [(t("land.computing"), 1)])[0]
    if isinstance(landscape, workers.RunFailed):
        st.error(run_failed_message(landscape), icon=":material/timer_off:")
        return
    if landscape.time_limited:
        st.warning(t("land.time_limited"), icon=":material/timer:")
    labels = {name: optimizer_label(name) for name in OPTIMIZERS}
    st.plotly_chart(landscape_plots.landscape_contour(landscape, labels, lang=lang()), key="landscape_chart",
                    width="stretch", config=png_config("landscape"))
    lowest = min((v for row in landscape.losses for v in row if math.isfinite(v)), default=math.nan)
    st.caption(t("land.centre", loss=landscape.centre_loss, optimizer=labels[landscape.optimizer], k=landscape.k,
                 lowest=lowest))
    kept = ", ".join(f"{labels[name]} {share:.2%}" for name, share in landscape.kept.items() if math.isfinite(share))
    params = cfg.d_in * cfg.hidden + cfg.hidden + cfg.hidden * cfg.d_out + cfg.d_out
    shares = [share for share in landscape.kept.values() if math.isfinite(share)]
    if shares:
        short = max(shares) < NEARLY_ORTHOGONAL
        st.caption(t("land.kept" if short else "land.kept_plain", params=f"{params:,}", kept=kept))
