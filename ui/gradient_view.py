"""Hand-written against autograd's gradients on a stage page: the table, heatmaps, the shared layer's uses."""
from __future__ import annotations

import functools

import streamlit as st

from lib.figures import plots

from lib.serve import workers
from lib.tutorial.config import STEPS_CAP, TrainConfig
from lib.tutorial.gradients import TOLERANCE, GradientComparison
from lib.tutorial.stages import RunSummary, drawn_depth
from ui.links import keep_choice, linked_choice, one_of, whole_number
from ui.results import gradient_table, no_gradient_message, png_config
from ui.runs import cached_gradients, run_failed_message
from ui.text import lang, parameter_label, t


def comparison_verdict(comparison: GradientComparison, dtype: str) -> None:
    """The table, whether every row agrees, and the note on ReLU's ties at 0 when there are any."""
    table = comparison.table
    st.dataframe(gradient_table(table), hide_index=True, width="stretch")
    failed = table.loc[~table["within_tol"], "parameter"].tolist()
    tol = f"{TOLERANCE[dtype]:.0e}".replace("e-0", "e-")   # 1e-5, as the tutorial's readers write it
    if failed:
        st.error(t("grad.disagree", names=", ".join(failed), tol=tol))
    else:
        st.success(t("grad.agree", rows=len(table), tol=tol, dtype=dtype))
    if comparison.relu_ties:
        st.info(t("gradients.relu_ties", ties=comparison.relu_ties), icon=":material/info:")


def step_slider(result: RunSummary, url_key: str, key: str) -> int | None:
    """The training step to look at: a slider over the steps that ran (not past a divergence or the time limit), kept
    in the URL as `url_key`; None, with a message, when no step ran. A page's gradients and graph tabs both call it;
    only the open tab is drawn, so the slider appears once."""
    last = len(result.losses) - 1
    if last < 0:
        st.info(no_gradient_message([result]))
        return None
    if last == 0:
        st.caption(t("grad.step_zero"))
        return 0
    linked_choice(url_key, key, whole_number(0, STEPS_CAP))
    st.session_state[key] = min(st.session_state.get(key, 0), last)
    step = st.slider(t("grad.step"), 0, last, key=key, help=t("grad.step_help"))
    keep_choice(url_key, step)
    return step


def gradient_csv_button(comparison: GradientComparison, name: str, key: str) -> None:
    """The gradient table as CSV, under the table: made when clicked, and a click does not rerun the page."""
    st.download_button(t("downloads.gradients"), functools.partial(comparison.table.to_csv, index=False),
                       file_name=f"{name}_gradients_step{comparison.step}.csv", mime="text/csv", key=key,
                       icon=":material/download:", on_click="ignore")


def inspected_step(stage: str, result: RunSummary) -> tuple[int, int | None] | None:
    """The training step the gradients and the graph are looked at (a slider over the steps that ran) and, on
    DynamicNet, the depth of that forward pass (None: as drawn in training). None, with a message, when no step ran.
    The gradients and the graph tabs both call it; only the open tab is drawn, so its widgets appear once."""
    step = step_slider(result, "step", f"{stage}_grad_step")
    if step is None:
        return None
    depth = None
    if stage == "dynamic_net":
        choices = {"as in training": t("grad.as_in_training"), **{n: str(n) for n in range(4)}}
        linked_choice("depth", "dyn_depth",
                      lambda text: "as in training" if text == "drawn" else one_of(0, 1, 2, 3)(text))
        choice = st.radio(t("grad.depth"), list(choices), horizontal=True, key="dyn_depth", format_func=choices.get)
        depth = None if choice == "as in training" else int(choice)
        keep_choice("depth", "drawn" if depth is None else depth)
    return step, depth


@st.fragment(key="grad_heatmap_part")
def gradient_heatmap(stage: str, comparison: GradientComparison) -> None:
    """A chosen matrix's gradient, hand-written beside autograd's: a fragment, as the choice only redraws."""
    matrices = [name for name, g in comparison.manual.items() if g.dim() == 2]
    name = matrices[0]
    chart, choice = st.columns([3, 1])
    if len(matrices) > 1:
        linked_choice("heatmap", f"{stage}_heatmap", one_of(*matrices))
        if st.session_state.get(f"{stage}_heatmap") not in matrices:   # e.g. a per-use row of another depth
            st.session_state.pop(f"{stage}_heatmap", None)
        # format_func looks labels up in a dict made now: AppTest calls it outside the page's run
        name = choice.selectbox(t("grad.heatmap_of"), matrices, key=f"{stage}_heatmap",
                                format_func={m: parameter_label(m) for m in matrices}.get)
        keep_choice("heatmap", name)
    chart.plotly_chart(plots.gradient_heatmaps(parameter_label(name), comparison.manual[name],
                                               comparison.autograd[name], lang=lang()),
                       key="grad_heatmap", width="stretch", config=png_config(f"{stage}_gradient_{name}"))


@st.fragment(key="gradients_part")
def gradient_section(stage: str, cfg: TrainConfig, result: RunSummary, broken: bool,
                     csv_key: str | None = None) -> GradientComparison | None:
    """The stage page's gradients tab (the tab's label is its heading), with the table's CSV under it as `csv_key`.

    A fragment: its step slider, depth and heatmap rerun this tab only, not the sidebar, the run and the other tabs
    (a new step still asks the workers for that step's comparison; the heatmap choice asks nothing)."""
    st.markdown(t("grad.intro"))
    inspected = inspected_step(stage, result)
    if inspected is None:
        return None
    step, depth = inspected
    try:
        with st.spinner(t("grad.computing")):
            comparison = cached_gradients(stage, cfg, step, broken, depth)
    except workers.RunFailed as failure:
        st.error(run_failed_message(failure), icon=":material/timer_off:")
        return None
    comparison_verdict(comparison, cfg.dtype)
    if comparison.gradcheck_passed is not None:
        fn = "BrokenMyReLU" if broken else "MyReLU"
        st.caption(t("grad.gradcheck_passes" if comparison.gradcheck_passed else "grad.gradcheck_fails", fn=fn))
    if broken:
        st.info(t("grad.broken_explained"))
    if csv_key is not None:
        gradient_csv_button(comparison, stage, csv_key)
    gradient_heatmap(stage, comparison)

    if stage == "dynamic_net":
        st.subheader(t("grad.sharing_header"))
        uses = [n for n in comparison.manual if n.startswith("middle_linear.weight (use")]
        if uses:
            if depth is None:
                st.markdown(t("grad.sharing_text_drawn", step=step, depth=comparison.depth))
            else:
                st.markdown(t("grad.sharing_text_forced", step=step, depth=comparison.depth,
                              drawn=drawn_depth(cfg.seed, step)))
            terms = [comparison.manual[u] for u in uses]
            total = comparison.autograd["middle_linear.weight"]
            st.markdown(t("grad.sharing_norms", sum_norm=sum(terms).norm().item(),
                          norm_sum=sum(term.norm().item() for term in terms),
                          norms=" + ".join(f"{term.norm().item():.4g}" for term in terms)))
            st.plotly_chart(plots.shared_layer_uses(terms, total, lang=lang()), key="uses_chart", width="stretch")
            st.caption(t("grad.sharing_sum", diff=(sum(terms) - total).norm().item(),
                         total=comparison.manual["middle_linear.weight"].norm().item()))
        else:
            st.info(t("grad.no_uses"))
        st.plotly_chart(plots.depth_histogram(result.depths, lang=lang()), key="depth_chart",
                        width="stretch")
    return comparison
