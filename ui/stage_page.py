"""A stage page (1-7): what is new, the tutorial's code, live training and its curve, gradients, graph, downloads."""
from __future__ import annotations

import functools

import streamlit as st

from lib.figures import plots
from lib.figures.replay_plots import replayed_loss_curves

from lib.serve import workers
from lib.tutorial.config import QUERY_KEYS, TrainConfig, difference_label
from lib.tutorial.export import losses_csv, stage_script
from lib.tutorial.stages import STAGES, BrokenMyReLU, DynamicNet, MyReLU, RunSummary, TwoLayerNet
from ui.frame import ensure_app_frame, fragment_rerun, keep_widget_state, kept_tabs, open_tab, short_error
from ui.gradient_view import gradient_section
from ui.graph_view import graph_tab as graph_tab_section
from ui.histogram_view import histogram_section
from ui.links import followed_link, keep_choice, linked_choice, one_of, say_ignored_keys, wrote_link
from ui.results import divergence_message, loss_metrics, png_config, show_source, stall_message, stop_point
from ui.board import post_problems, post_stage_run
from ui.runs import run_failed_message, time_limit_message, train_with_progress
from ui.sidebar import lesson_controls, lesson_settings, settings_problem, settings_sidebar, sidebar_is_stale
from ui.teacher import current_view, replay_caption, shows
from ui.text import describe, lang, t


LOSS_CONTROLS = "loss_controls"   # the loss chart's controls' row (its st.container key)
# A stage page composed for one screen (issue 22): the title, the lesson's controls in one row and the loss chart fit
# 1280x720, in projector mode (24 px type) too; the stage's paragraph and the tutorial's code open beside the title.
# Streamlit's own names (data-testid); its spacing shrunk, under its header bar (3.75rem).
COMPACT_CSS = ('[data-testid="stMainBlockContainer"] {padding-top: 3.75rem; padding-bottom: 3rem;}'
               ' [data-testid="stMain"] h1 {font-size: 1.6rem; padding: 0.25rem 0;}'
               ' [data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {gap: 0.6rem;}')
# on a screen the loss chart's controls sit over it: their row holds the overlay's label and box from the first run on
SCREEN_CSS = f' .st-key-{LOSS_CONTROLS} {{min-height: 4.5rem;}}'
PROJECTOR_TITLE_CSS = ' [data-testid="stMain"] h1 {font-size: 1.5rem;}'   # 36 px: a long title on one line
CODE_OPEN = "code_open"   # the popover with what is new and the code: its open state (st.popover's key)
LOSS_HEIGHT = {"screen": 380, "projector": 340}   # the loss chart's px: what is left of 720 under the controls


def stage_page(stage: str) -> None:
    """Everything a stage page shows: title, the lesson's controls and the live loss curve on one screen; what is
    new and the code one click away; the gradient comparison, the graph and the histograms in tabs."""
    ensure_app_frame()
    info = STAGES[stage]
    st.html(f"<style>{COMPACT_CSS}{PROJECTOR_TITLE_CSS if current_view().projector else SCREEN_CSS}</style>")
    # the title and, beside it, one button that unfolds what is new in this stage and the tutorial's code
    head = st.container(horizontal=True, vertical_alignment="center", wrap=False)
    head.title(t(f"stage.{stage}.title"))
    # drawn only when opened: the code follows every setting, and re-sending it costs the browser (bench/browser.py)
    code_box = head.popover(t("layout.whats_new_code" if shows("code") else "layout.whats_new"),
                            icon=":material/lightbulb:", type="tertiary", key=CODE_OPEN, on_change="rerun")
    if code_box.open:
        with code_box:
            st.markdown(t(f"stage.{stage}.whats_new"))
    say_ignored_keys(link_keys(stage), QUERY_KEYS)
    # the sidebar holds the settings the lesson's row does not (each setting has one control); the row, the run and
    # its chart are one fragment: moving a lesson's control reruns that, not the sidebar and the navigation
    cfg = settings_sidebar(stage, notices=[], elsewhere=lesson_controls(stage))
    if stage == "custom_function":
        followed_link("broken", "broken_relu", lambda text: one_of("0", "1")(text) == "1")   # else said, ui.links
    broken = stage == "custom_function" and bool(st.session_state.get("broken_relu"))
    if cfg is not None and shows("code") and code_box.open:
        sources = [info.train]
        if stage == "custom_function":
            sources = [BrokenMyReLU if broken else MyReLU, info.train]
        elif stage in ("custom_module", "dynamic_net"):
            sources = [TwoLayerNet if stage == "custom_module" else DynamicNet, info.train]
        with code_box:
            st.markdown(f"**{t('source.tutorial')}**")
            st.code(stage_script(stage, cfg, broken, lang()), language="python")
            st.markdown(t("source.tutorial_caption", stage=stage))   # not a caption: the page's first is its settings
            show_source(sources)
    open_tab_from_link()
    lesson(stage)


LESSON = "stage_lesson"   # the fragment of the lesson's controls, the run and what shows it (its st.fragment key)


@st.fragment(key=LESSON)
def lesson(stage: str) -> None:
    """The lesson's controls in one row, the run they ask for, its loss curve and tabs, its metrics, notes and
    downloads: a move of a control here reruns this alone (the sidebar and the navigation are not re-sent)."""
    with short_error():
        lesson_body(stage)


def lesson_body(stage: str) -> None:
    again = fragment_rerun(LESSON)
    notices: list = []   # notes on the run (shortened steps, time limit, divergence), drawn under the chart
    # one horizontal container, not columns: one block to send and redraw per move, not one per control
    # (bench/browser.py); its controls share the width (a selectbox a little more: its names are long)
    row = st.container(horizontal=True, vertical_alignment="bottom", wrap=False)
    cfg = lesson_settings(stage, row, notices)
    if again and sidebar_is_stale():   # its "can't run" would be stale (or missing): the page runs in full
        st.rerun()
    broken = False
    if stage == "custom_function":
        broken = row.toggle(t("layout.break_relu"), key="broken_relu",
                            help=f'{t("stage_page.break_relu")}. {t("stage_page.break_relu_help")}')
        wrote_link("broken", "broken_relu", "1" if broken else "0")
    if cfg is None:
        settings_problem()
        return
    try:
        result = train_with_progress(stage, cfg, broken)
    except workers.RunFailed as failure:
        st.error(run_failed_message(failure), icon=":material/timer_off:")
        return
    post_stage_run(stage, cfg, result, broken)   # to the class board, when this session is in a class (off the path)
    if again:   # the sidebar's class box, which says how the posts fare, is not redrawn by this rerun: say it here
        notices.append(post_problems)
    # what the run says about itself goes under the chart, which marks the step it stopped at
    if result.time_limited_at is not None:
        notices.append(functools.partial(st.warning, time_limit_message(len(result.losses), cfg.steps),
                                         icon=":material/timer:"))
    if result.diverged_at is not None:
        notices.append(functools.partial(st.warning, divergence_message(result), icon=":material/warning:"))
    stall = stall_message(stage, result)   # kept most of its loss without diverging: why (lib.tutorial.diagnosis)
    if stall is not None:
        notices.append(functools.partial(st.warning, stall, icon=":material/trending_flat:"))
    label = t("history.this_run") + (t("history.broken_suffix") if broken else "")
    curves, diverged = [(label, result.losses)], {label: stop_point(result)}
    remember_run(stage, result)
    shown = dict(curves)   # the curves on the chart, for the CSV: the loss tab's fragment updates it
    # only the open tab is drawn (and only its jobs run): a slider move on the loss curve does not also recompute the
    # gradient comparison, the graph and the histograms (bench/load.py: about a fifth of the server's CPU per rerun)
    keep_widget_state("log_y", f"{stage}_overlay", f"{stage}_grad_step", "dyn_depth", f"{stage}_heatmap",
                      f"{stage}_graph_saved", f"{stage}_hist_param")
    loss_tab, gradients_tab, graph_tab, histograms_tab = tabs("stage_tab", "tab")
    if loss_tab.open:
        with loss_tab:
            loss_section(stage, result, curves, diverged, shown)
    if gradients_tab.open:
        with gradients_tab:
            gradient_section(stage, cfg, result, broken, "dl_gradients")
    if graph_tab.open:
        with graph_tab:
            graph_tab_section(stage, cfg, result, broken)
    if histograms_tab.open:
        with histograms_tab:
            histogram_section(stage, result, broken)
    loss_metrics(result)
    for note in notices:
        note()
    st.caption(t("stage_page.settings_used", settings=describe(stage, cfg)))
    downloads(stage, cfg, broken, shown)


# the stage page's tabs (and the own-network page's); their labels: stage_page.tab.<id>
TAB_IDS = ("loss", "gradients", "graph", "histograms")
# a link without `tab=` that names one of these opens that tab (older links; the histograms' before the gradients')
IMPLIED_TABS = (("histograms", ("hist",)), ("gradients", ("step", "depth", "heatmap")))


def link_keys(stage: str) -> set[str]:
    """The keys a stage page reads from a link besides the sidebar's settings: its tab and log axis, the tabs'
    choices (IMPLIED_TABS: DynamicNet's depth on stage 7 only), and the broken MyReLU on stage 3."""
    keys = {"tab", "log"} | {name for _, names in IMPLIED_TABS for name in names}
    if stage != "dynamic_net":
        keys.discard("depth")
    if stage == "custom_function":
        keys.add("broken")
    return keys


def open_tab_from_link(url_key: str = "tab", tab_key: str = "stage_tab", implied_by=IMPLIED_TABS) -> None:
    """A link's tab (`tab=`, also a preset's, which names no sidebar setting) opens; a link without one that names a
    step, depth or heatmap (older links) opens the gradients tab, one that names a histogram (`hist=`) the
    histograms tab. Call it before `tabs(tab_key)`."""
    if st.session_state.get("entered_from_link") and url_key not in st.query_params:
        implied = next((tab for tab, names in implied_by if any(name in st.query_params for name in names)), None)
        if implied is not None:
            st.session_state[tab_key] = t(f"stage_page.tab.{implied}")
    followed_link(url_key, tab_key, lambda text: t(f"stage_page.tab.{one_of(*TAB_IDS)(text)}"))


def tabs(tab_key: str, url_key: str) -> list:
    """The page's four tabs (TAB_IDS), the open one kept across reruns and written to the URL as `url_key`."""
    shown = kept_tabs(tab_key, list(TAB_IDS), "stage_page.tab")
    wrote_link(url_key, tab_key, open_tab(tab_key, list(TAB_IDS), "stage_page.tab") or TAB_IDS[0])
    return shown


def loss_section(stage: str, result: RunSummary, curves: list, diverged: dict, shown: dict) -> None:
    """The loss tab: a link's log axis, read on the run that enters from it (the fragment's own reruns would read
    the URL's value from before), then the chart and its controls (loss_view)."""
    st.session_state.setdefault("log_y", True)
    linked_choice("log", "log_y", lambda text: one_of("1", "0")(text) == "1")
    loss_view(stage, result, curves, diverged, shown)


@st.fragment(key="stage_loss")
def loss_view(stage: str, result: RunSummary, curves: list, diverged: dict, shown: dict) -> None:
    """The loss curve, with earlier runs of this session to overlay; in projector mode the run replays on it. Its
    controls train nothing, so a change reruns this alone, not the sidebar, the run and the other tabs."""
    curves, diverged = list(curves), dict(diverged)
    earlier = [run for run in st.session_state.get("history", {}).get(stage, []) if run is not result]
    labels = {i: run_label(run, result) for i, run in enumerate(earlier)}
    size = "projector" if current_view().projector else "screen"
    # On a screen the chart's controls sit over it, so the overlay of earlier runs is on the first screen too (under
    # the chart it was cut off at 720 px); in projector mode the chart keeps that room (large type), its controls
    # go under it
    if size == "screen":
        loss_controls(stage, earlier, labels)
    log_y = bool(st.session_state.get("log_y", True))
    for i in [i for i in st.session_state.get(f"{stage}_overlay", []) if i in labels]:
        curves.append((labels[i], earlier[i].losses))
        diverged[labels[i]] = stop_point(earlier[i])
    shown.clear()
    shown.update(curves)
    build = replayed_loss_curves if size == "projector" and result.losses else plots.loss_curves
    fig = build(curves, log_y=log_y, title=t("chart.training_loss_of", stage=t(f"stage.{stage}.short_title")),
                diverged={k: v for k, v in diverged.items() if v is not None}, lang=lang(), size=size,
                height=LOSS_HEIGHT[size])
    st.plotly_chart(fig, key="loss_chart", width="stretch", config=png_config(stage))
    if size == "projector":   # drawn from its controls' values (their keys' state, set before this rerun)
        loss_controls(stage, earlier, labels)
    replay_caption(len(result.losses) if build is replayed_loss_curves else 0)


def loss_controls(stage: str, earlier: list, labels: dict) -> None:
    """The loss chart's own controls in one row (fewer blocks than columns to send and draw): the log axis and,
    once this session has earlier runs, the overlay of them and a button that forgets them. The row keeps the
    height the overlay needs from the first run on (SCREEN_CSS), so the chart under it does not jump."""
    controls = st.container(horizontal=True, vertical_alignment="bottom", key=LOSS_CONTROLS)
    controls.toggle(t("chart.log_y"), key="log_y")
    keep_choice("log", int(bool(st.session_state.get("log_y", True))))
    if earlier:
        controls.multiselect(t("history.overlay"), list(labels), format_func=labels.get, key=f"{stage}_overlay",
                             placeholder=t("history.overlay_placeholder"),
                             select_all=False)   # Streamlit's "Select all" has no Korean
        controls.button(t("history.clear"), key=f"{stage}_clear", on_click=clear_history, args=(stage,))


HISTORY_PER_PAGE = 8   # earlier runs a session keeps per page, oldest dropped first


def remember_run(stage: str, result: RunSummary) -> list[RunSummary]:
    """Add `result` to this session's history of `stage`; return the earlier runs (bounded), newest first."""
    runs: list[RunSummary] = st.session_state.setdefault("history", {}).setdefault(stage, [])
    same = [r for r in runs if r.config == result.config and r.broken_relu == result.broken_relu]
    for r in same:
        runs.remove(r)
    runs.insert(0, result)
    del runs[HISTORY_PER_PAGE + 1:]
    return runs[1:]


def clear_history(stage: str) -> None:
    st.session_state.setdefault("history", {})[stage] = []
    st.session_state[f"{stage}_overlay"] = []


def run_label(run: RunSummary, current: RunSummary) -> str:
    label = difference_label(run.config, current.config)
    if run.broken_relu != current.broken_relu:
        extra = t("history.broken" if run.broken_relu else "history.correct")
        return f"{label}, {extra}" if label else extra
    return label or t("history.same_settings")


DOWNLOADS_OPEN = "downloads_open"   # the downloads' popover: its open state (st.popover's key)


def downloads(stage: str, cfg: TrainConfig, broken: bool, curves: dict[str, list[float]]) -> None:
    """CSV of the curves (those on the chart: the loss tab's fragment keeps `curves` current) and the stage as a
    script, in a popover drawn only when opened (every move would re-send its buttons and caption otherwise); each
    file is made when clicked, not on every rerun, and a click does not rerun the page (a rerun would race the
    download, Streamlit's docs say). (The gradient table's CSV sits under the table, in its tab.)"""
    box = st.popover(t("downloads.header"), icon=":material/download:", key=DOWNLOADS_OPEN, on_change="rerun")
    if not box.open:
        return
    language = lang()
    with box:
        st.download_button(t("downloads.losses"), functools.partial(losses_csv, curves),
                           file_name=f"{stage}_losses.csv", mime="text/csv", key="dl_losses",
                           icon=":material/download:", on_click="ignore")
        st.download_button(t("downloads.script"), functools.partial(stage_script, stage, cfg, broken, language),
                           file_name=f"{stage}.py", mime="text/x-python", key="dl_script",
                           icon=":material/code:", on_click="ignore")
        st.caption(t("downloads.caption", stage=stage))
