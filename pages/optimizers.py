"""Inside the optimizers: each update rule written by hand in raw tensors, checked against torch.optim step by step."""

import pandas as pd
import streamlit as st

from lib.figures import optim_plots

from lib.serve import jobs, workers
from lib.text.numbers import lr_text
from lib.tutorial.config import QUERY_KEYS
from lib.tutorial.gradients import TOLERANCE
from lib.explore.optim_internals import ALL, HAND_WRITTEN
from lib.tutorial.optimizers import OPTIMIZERS
from ui.frame import ensure_app_frame
from ui.landscape_view import LINK_KEYS as LANDSCAPE_KEYS, landscape_section
from ui.links import keep_choice, linked_choice, one_of, say_ignored_keys, whole_number
from ui.results import source_of
from ui.runs import get_many, run_failed_message, time_limit_message
from ui.sidebar import allowed_steps, bounded_slider, settings_problem, settings_sidebar
from ui.text import lang, optimizer_label, t

K_SLIDER_MAX = 200
# what this page reads from a link besides the sidebar's settings: the steps k, the state and update charts' choices
LINK_KEYS = ("k", "state_of", "state", "update_of", *LANDSCAPE_KEYS)


def comparison_table(table: pd.DataFrame):
    """The table for reading: scientific notation, ✓/✗, failures in red."""
    def sci(v):
        return "—" if pd.isna(v) else f"{v:.3e}"
    labels = [c for c in ("parameter", "state", "shape") if c in table]
    match = t("column.match")
    shown = pd.DataFrame({match: table["within_tol"].map({True: "✓", False: "✗"}),
                          **{t(f"column.{c}"): table[c] for c in labels},
                          **{t(f"column.{c}"): table[c].map(sci)
                             for c in ("torch_norm", "manual_norm", "max_abs_diff", "rel_error")}})

    def colour(row):
        return ["background-color: #ffd6d6; color: #8b0000" if row[match] == "✗" else "" for _ in row]
    return shown.style.apply(colour, axis=1)


@st.fragment(key="opt_state")
def state_heatmap(comparison) -> None:
    """One matrix's optimizer state, hand-written beside torch.optim's, chosen beside it: a fragment, as the choice
    only redraws (no job)."""
    matrices = [name for name, p in comparison.torch_params.items() if p.dim() == 2]
    chart, choices = st.columns([3, 1])
    linked_choice("state_of", "opt_state_param", one_of(*matrices))
    linked_choice("state", "opt_state_name", one_of(*comparison.state_names))
    parameter = choices.selectbox(t("optim.parameter"), matrices, key="opt_state_param")
    state = choices.selectbox(t("optim.state"), comparison.state_names, key="opt_state_name")
    keep_choice("state_of", parameter)
    keep_choice("state", state)
    chart.plotly_chart(optim_plots.state_heatmaps(parameter, state, comparison.manual_state[parameter][state],
                                                  comparison.torch_state[parameter][state], lang=lang()),
                       key="state_heatmap", width="stretch")


@st.fragment(key="opt_updates")
def update_sizes(comparison) -> None:
    """Each step's update size, by hand and by torch.optim, for the parameter chosen beside the chart (a fragment:
    the choice only redraws)."""
    targets = {ALL: t("optim.all_parameters"), **{name: name for name in comparison.torch_params}}
    chart, choice = st.columns([3, 1])
    linked_choice("update_of", "opt_update_param", one_of(*targets))
    target = choice.selectbox(t("optim.update_of"), list(targets), key="opt_update_param", format_func=targets.get)
    keep_choice("update_of", target)
    choice.caption(t("optim.update_all") if target == ALL else t("optim.update_one", target=target))
    chart.plotly_chart(optim_plots.update_size_curve(comparison.torch_update_sizes[target],
                                                     comparison.manual_update_sizes[target], targets[target],
                                                     lang=lang()),
                       key="update_chart", width="stretch")


ensure_app_frame()
st.title(t("optim.title"))
st.markdown(t("optim.intro"))
say_ignored_keys(LINK_KEYS, QUERY_KEYS)
cfg = settings_sidebar("optim")
if cfg is None:
    settings_problem()
    st.stop()
# two runs side by side (torch.optim's and the hand-written one): k may take half the steps one run may
k_max = max(1, min(K_SLIDER_MAX, allowed_steps("optim", cfg.n, cfg.d_in, cfg.hidden, cfg.d_out, cfg.dtype,
                                               cfg.seed) // 2))
linked_choice("k", "opt_k", whole_number(1, K_SLIDER_MAX))
st.session_state["opt_k"] = min(st.session_state.get("opt_k", 20), k_max)
k = bounded_slider(st, t("optim.k"), k_max, "opt_k", t("optim.k_only_one"), help=t("optim.k_help"))
keep_choice("k", k)
st.caption(t("optim.settings_used", n=cfg.n, d_in=cfg.d_in, hidden=cfg.hidden, d_out=cfg.d_out, lr=lr_text(cfg.lr), k=k,
             seed=cfg.seed, dtype=cfg.dtype))

comparison = get_many([(jobs.optimizer_comparison, (cfg, k))], [(t("optim.training"), k)])[0]
if isinstance(comparison, workers.RunFailed):
    st.error(run_failed_message(comparison), icon=":material/timer_off:")
    st.stop()
# what k moves, right under it (one 1280x720 screen): each step's update, by hand and by torch.optim
if comparison.k > 0:
    st.header(t("optim.step_header"))
    update_sizes(comparison)
if comparison.time_limited_at is not None:
    st.warning(time_limit_message(comparison.time_limited_at, k), icon=":material/timer:")
if comparison.diverged_at is not None:
    st.warning(t("optim.diverged_note", step=comparison.diverged_at), icon=":material/warning:")

spec = OPTIMIZERS[cfg.optimizer]
label = optimizer_label(cfg.optimizer)
st.header(t("optim.rule_header", label=label))
if spec.uses_momentum:
    st.caption(t("optim.momentum", momentum=cfg.momentum))
st.markdown(t(f"rule.{cfg.optimizer}"))
with st.expander(t("optim.source")):
    st.code(source_of(HAND_WRITTEN[cfg.optimizer]), language="python")
if comparison.k == 0:
    st.stop()

st.header(t("optim.weights_header", k=comparison.k))
st.markdown(t("optim.rel_error"))
table = comparison.table
st.dataframe(comparison_table(table), hide_index=True, width="stretch")
tol = TOLERANCE[cfg.dtype]
failed = table.loc[~table["within_tol"], "parameter"].tolist()
if failed:
    st.error(t("optim.differ", names=", ".join(failed), tol=tol))
else:
    st.success(t("optim.agree", rows=len(table), k=comparison.k, tol=tol, dtype=cfg.dtype))
if cfg.dtype == "float32":
    st.info(t("optim.float32"), icon=":material/info:")

st.header(t("optim.state_header"))
if not comparison.state_names:
    st.info(t("optim.no_state_momentum0" if spec.uses_momentum else "optim.no_state", label=label))
else:
    st.dataframe(comparison_table(comparison.state_table), hide_index=True, width="stretch")
    state_heatmap(comparison)

landscape_section(cfg, k)
