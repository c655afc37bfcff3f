"""Streamlit pieces every stage page shares: the settings sidebar, cached training with progress, the tables."""
from __future__ import annotations

import functools
import inspect
import math
import time

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib import i18n, jobs, limits, plots, workers
from lib.config import (CONFIG_FIELDS, QUERY_KEYS, QUERY_VALUE_MAX, SEED_CAP, SIZE_CAPS, STAGE_NAMES, STEPS_CAP,
                        TrainConfig, config_from_query, config_to_query, default_config, difference_label, shown_text)
from lib.export import losses_csv, stage_script
from lib.gradients import TOLERANCE, GradientComparison, split_use
from lib.messages import render
from lib.optimizers import OPTIMIZERS
from lib.stages import GROWTH_LIMIT, STAGES, BrokenMyReLU, DynamicNet, MyReLU, RunSummary, TwoLayerNet, drawn_depth

# lr moves on a log scale: 1, 2 and 5 of every decade from 1e-8 to 1e-1
LR_CHOICES = [round(m * 10.0 ** e, 12) for e in range(-8, -1) for m in (1, 2, 5)] + [1e-1]
# Results are shared by every session and bounded. A run summary is a few KB; a gradient comparison holds
# full gradients (up to ~70 MB at the size caps), hence fewer of those.
CACHE_ENTRIES = 256
GRADIENT_CACHE_ENTRIES = 16
CACHE_TTL_S = 3600
RUNS = workers.JobCache(CACHE_ENTRIES, CACHE_TTL_S)
GRADIENTS = workers.JobCache(GRADIENT_CACHE_ENTRIES, CACHE_TTL_S)
REDRAW_S = 0.5   # while a run waits or trains, its progress bar is redrawn at least this often


def first_language(link: str | None, locale: str | None) -> str:
    """A session's first language: ?lang= when it is one we have, else the browser's (`ko-KR` -> "ko"), else
    English."""
    if link in i18n.LANGUAGES:
        return link
    browser = (locale or "").split("-")[0].split("_")[0].lower()
    return browser if browser in i18n.LANGUAGES else i18n.DEFAULT


def language_from_link() -> str:
    """The session's language: what the sidebar switch holds, else ?lang= through the allow-list, else the
    browser's language, else English. app.py writes it back to ?lang=, so a link keeps it.

    app.py calls it first thing, so the navigation's page titles are in that language from the first run.
    """
    if st.session_state.get("lang") not in i18n.LANGUAGES:
        st.session_state["lang"] = first_language(st.query_params.get("lang"), st.context.locale)
    return st.session_state["lang"]


def lang() -> str:
    """The language the page is drawn in ("en" when the page runs without app.py's switch)."""
    chosen = st.session_state.get("lang")
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT


def t(key: str, **values) -> str:
    """The text `key` in this session's language (lib/i18n.py holds the texts); values that are messages from
    lib (lib.messages: a refusal, a note) are rendered in that language too."""
    language = lang()
    return i18n.t(key, language, **{name: render(value, language) for name, value in values.items()})


def say(message) -> str:
    """A message from lib (a code and values, lib.messages) in this session's language."""
    return render(message, lang())


def parameter_label(name: str) -> str:
    """A gradient-table row's parameter as the reader sees it: stage 7's per-use rows say "(use k of n)"."""
    use = split_use(name)
    return name if use is None else t("grad.use", parameter=use[0], k=use[1], uses=use[2])


def kept_tabs(key: str, tab_ids: list[str], text_prefix: str) -> list:
    """st.tabs whose open tab survives reruns and language switches.

    Streamlit keeps the open tab's *label* in session_state[key]; after a language switch that label is in the
    other language, and Streamlit would fall back to the first tab, so it is renamed into this language first.
    `open_tab(key, ...)` reads which one is open as a stable id (for links).
    """
    labels = {language: {tab: i18n.t(f"{text_prefix}.{tab}", language) for tab in tab_ids}
              for language in i18n.LANGUAGES}
    tab = open_tab(key, tab_ids, text_prefix)
    if tab is not None:
        st.session_state[key] = labels[lang()][tab]
    return st.tabs(list(labels[lang()].values()), key=key, on_change="rerun")


def open_tab(key: str, tab_ids: list[str], text_prefix: str) -> str | None:
    """The id of the tab open in `kept_tabs(key, ...)`, whichever language its label is in; None before any."""
    shown = st.session_state.get(key)
    for language in i18n.LANGUAGES:
        for tab in tab_ids:
            if i18n.t(f"{text_prefix}.{tab}", language) == shown:
                return tab
    return None


def ensure_app_frame() -> None:
    """Every page calls this first.

    Streamlit starts in its legacy pages/ mode whenever a pages/ folder sits beside the main script, and
    stays there until app.py calls st.navigation: a server's first visitor who opens /tensors directly
    (and every AppTest run) gets the page file alone, without app.py's frame. Leave that mode and rerun,
    so app.py frames the page.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def nearest_lr(lr: float) -> float:
    return min(LR_CHOICES, key=lambda choice: abs(math.log10(choice) - math.log10(lr)))


def _load_into_widgets(cfg: TrainConfig) -> None:
    for name in CONFIG_FIELDS:
        st.session_state[name] = getattr(cfg, name)
    st.session_state["lr"] = nearest_lr(cfg.lr)


def settings_sidebar(stage: str, sizes_only: bool = False) -> TrainConfig | None:
    """Sidebar hyperparameters for `stage` (or "compare"), remembered per page; None, with a message, if invalid.

    `sizes_only` leaves out lr, optimizer and momentum: the Compare page takes them from each stage.
    """
    defaults = default_config(stage) if stage in STAGES else TrainConfig()
    configs: dict[str, TrainConfig] = st.session_state.setdefault("configs", {})
    link = {k: v for k, v in st.query_params.to_dict().items() if k in QUERY_KEYS}
    entering = st.session_state.get("sidebar_stage") != stage
    from_link = bool(link) and entering and link != st.session_state.get("link_written")
    st.session_state["entered_from_link"] = from_link   # the page's own choices read the link on this run too
    if from_link:
        # Opened from a link (a new visit, or a preset): the link wins over what this session had. Only on
        # entering the page: later, the browser's URL can lag a fast slider by a rerun, and is no link.
        # What we wrote ourselves, still in the URL after a page switch, is not a link either.
        cfg, problems = config_from_query(link, defaults)
        for problem in problems:
            st.warning(t("settings.link_problem", problem=problem), icon=":material/link_off:")
        _load_into_widgets(cfg)
        st.session_state["sidebar_stage"] = stage
    elif entering:
        _load_into_widgets(configs.get(stage, defaults))
        st.session_state["sidebar_stage"] = stage
    info = STAGES.get(stage)
    sb = st.sidebar
    sb.header(t("settings.header"))

    def reset():
        configs.pop(stage, None)
        _load_into_widgets(defaults)

    sb.button(t("settings.reset"), on_click=reset, key="reset", width="stretch")
    sb.slider(t("settings.n"), 1, SIZE_CAPS["n"], key="n")
    sb.slider(t("settings.d_in"), 1, SIZE_CAPS["d_in"], key="d_in")
    sb.slider(t("settings.hidden"), 1, SIZE_CAPS["hidden"], key="hidden")
    sb.slider(t("settings.d_out"), 1, SIZE_CAPS["d_out"], key="d_out")
    shortened = fit_steps(stage)
    sb.slider(t("settings.steps"), 1, st.session_state["steps_allowed"], key="steps",
              help=t("settings.steps_help", limit=workers.time_limit_s()))
    shown = ["n", "d_in", "hidden", "d_out", "steps", "seed", "dtype"]
    if not sizes_only:
        shown += ["lr", "optimizer", "momentum"]
        sb.select_slider(t("settings.lr"), options=LR_CHOICES, key="lr",
                         format_func=lambda v: f"{v:.0e}")
        uses_optimizer = info is not None and info.uses_optimizer
        # format_func looks labels up in a dict made now: AppTest calls it outside the page's run
        sb.selectbox(t("settings.optimizer"), list(OPTIMIZERS), key="optimizer", disabled=not uses_optimizer,
                     format_func={name: optimizer_label(name) for name in OPTIMIZERS}.get, on_change=momentum_follows)
        if not uses_optimizer:
            sb.caption(t("settings.no_optimizer"))
        takes_momentum = uses_optimizer and OPTIMIZERS[st.session_state["optimizer"]].uses_momentum
        sb.slider(t("settings.momentum"), 0.0, 0.99, step=0.01, key="momentum", disabled=not takes_momentum)
    sb.number_input(t("settings.seed"), 0, SEED_CAP, step=1, key="seed")
    sb.radio("dtype", ["float32", "float64"], key="dtype", horizontal=True, help=t("settings.dtype_help"))
    try:
        cfg = defaults.with_(**{name: st.session_state[name] for name in shown})
    except ValueError as err:
        sb.error(t("settings.cant_run", err=err))
        st.session_state["settings_problem"] = str(err)
        return None
    st.session_state.pop("settings_problem", None)
    configs[stage] = cfg
    if shortened:
        st.info(t("settings.steps_shortened", wanted=shortened, steps=cfg.steps, limit=workers.time_limit_s()),
                icon=":material/timer:")
    link = {k: v for k, v in config_to_query(cfg).items() if k in shown}
    st.query_params.update(link)
    st.session_state["link_written"] = link
    share_link(sb)
    return cfg


def fit_steps(stage: str) -> int | None:
    """Make the steps slider offer only what the server will finish at the sizes now chosen.

    The slider's maximum follows N, D_IN, H, D_OUT, dtype (and the seed, for DynamicNet's drawn depths); steps
    above it are shortened to it. The steps the visitor asked for are remembered, so shrinking N gives them
    back. Returns the steps asked for when they were shortened, else None.
    """
    state = st.session_state
    allowed = allowed_steps(stage, state["n"], state["d_in"], state["hidden"], state["d_out"], state["dtype"],
                            int(state["seed"]))
    if state["steps"] != state.get("steps_shown"):   # set by the visitor (slider, link, reset) since last run
        state["steps_wanted"] = state["steps"]
    wanted = state.get("steps_wanted", state["steps"])
    state["steps"] = state["steps_shown"] = min(wanted, allowed)
    state["steps_allowed"] = allowed
    return wanted if wanted > allowed else None


def momentum_follows() -> None:
    """on_change of the optimizer box: SGD with momentum 0 would be plain SGD under another name, so choosing it
    at momentum 0 takes the tutorial's momentum (DynamicNet's 0.9)."""
    if st.session_state.get("optimizer") == "sgd_momentum" and st.session_state.get("momentum", 0.0) == 0.0:
        st.session_state["momentum"] = default_config("dynamic_net").momentum


def settings_problem() -> None:
    """Where the chart would be: why the sidebar's settings can't run, and what to do (the sidebar may be below
    the fold of a projector)."""
    st.error(t("settings.cant_run_page", err=st.session_state.get("settings_problem", ""), reset=t("settings.reset")),
             icon=":material/block:")


def linked_choice(url_key: str, widget_key: str, parse) -> None:
    """An in-page choice kept in the URL (comparison step, forced depth, heatmap, log axis, tab, ...).

    Call it before the widget: on the run that enters the page from a link, the link's value, through `parse`
    (a whole number in range, one of a list: it raises ValueError for anything else), becomes the widget's.
    `keep_choice` writes the widget's value back, so "Link to this setup" carries it.
    """
    text = st.query_params.get(url_key)
    if text is None or not st.session_state.get("entered_from_link"):
        return
    try:
        st.session_state[widget_key] = parse(text[:QUERY_VALUE_MAX])
    except (ValueError, TypeError):
        st.warning(t("settings.link_choice_refused", name=url_key, text=shown_text(text)), icon=":material/link_off:")


def keep_choice(url_key: str, value) -> None:
    st.query_params[url_key] = str(value)


def whole_number(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(text)
        return value
    return parse


def one_of(*options):
    def parse(text: str):
        match = next((option for option in options if str(option) == text), None)
        if match is None:
            raise ValueError(text)
        return match
    return parse


def share_link(container) -> None:
    """The page's URL with its settings, in a code box (it has a copy button)."""
    base = st.context.url
    if base:
        query = "&".join(f"{k}={v}" for k, v in st.query_params.to_dict().items())
        with container.expander(t("settings.link"), icon=":material/link:"):
            st.code(f"{base}?{query}", language=None, wrap_lines=True)
            st.caption(t("settings.link_caption"))


def optimizer_label(name: str) -> str:
    return t(f"optimizer.{name}")


def describe(stage: str, cfg: TrainConfig) -> str:
    """The settings a stage really uses, in one line."""
    info = STAGES[stage]
    if info.uses_optimizer:
        update = optimizer_label(cfg.optimizer)
        if OPTIMIZERS[cfg.optimizer].uses_momentum:
            update += t("describe.momentum", momentum=cfg.momentum)
    else:
        update = t("describe.by_hand")
    return t("describe.settings", n=cfg.n, d_in=cfg.d_in, hidden=cfg.hidden, d_out=cfg.d_out, lr=cfg.lr,
             steps=cfg.steps, seed=cfg.seed, dtype=cfg.dtype, update=update)


# --------------------------------------------------------------------------- runs in the workers
@functools.cache
def server_speed() -> limits.Speed:
    """This server's measured speed (lib.limits.calibrate, once per server process, in a worker)."""
    return workers.run(jobs.calibrate)


def allowed_steps(stage: str, n: int, d_in: int, hidden: int, d_out: int, dtype: str, seed: int) -> int:
    """The most steps the sliders offer at these sizes: a run planned to fit its share of the time limit.

    "compare" (all seven stages at once) takes the costliest stage's.
    """
    budget = limits.PLAN_SHARE * workers.time_limit_s()
    stages = STAGE_NAMES if stage not in STAGES else [stage]
    return min(limits.max_steps(server_speed(), budget, name, n, d_in, hidden, d_out, dtype, seed, cap=STEPS_CAP)
               for name in stages)


class Progress:
    """One progress bar for one or several runs side by side: each run's share fills as its steps come in.

    Runs report through lib.workers' messages; a tick (no news) redraws the bar every REDRAW_S, which lets
    Streamlit stop this page when its visitor moves a slider meanwhile (the runs nobody else waits for are
    then cancelled).
    """

    def __init__(self, bar, runs: list[tuple[str, int]]):
        self.bar, self.runs = bar, runs                       # runs: (label, steps) per index
        self.done = [0.0] * len(runs)
        self.text = t("progress.waiting")
        self.step_text = t("progress.step")
        self.done_text = t("progress.done")
        self.drawn = 0.0

    def __call__(self, index: int, message) -> None:
        if message is not None and index >= 0:
            label, steps = self.runs[index]
            if message[0] == "steps":
                _, first, losses = message
                step = first + len(losses)
                self.done[index] = min(1.0, step / max(steps, 1))
                self.text = self.step_text.format(label=label, step=step, steps=steps, loss=losses[-1])
            elif message[0] == "done":
                self.done[index] = 1.0
                self.text = self.done_text.format(label=label, done=sum(d == 1.0 for d in self.done),
                                                  runs=len(self.done))
        elif time.monotonic() - self.drawn < REDRAW_S:
            return
        self.drawn = time.monotonic()
        self.bar.progress(sum(self.done) / len(self.done), text=self.text)


def run_jobs(cache: workers.JobCache, requests: list[tuple], runs: list[tuple[str, int]]) -> list:
    """Jobs side by side over the workers under one progress bar, each (key, job, args) cached in `cache`.

    `runs` gives each job's (label, steps) for the bar. A job that gave no result comes back as its RunFailed.
    """
    bar = st.empty()
    results = cache.get_many([(key, fn, args, None) for key, fn, args in requests], Progress(bar, runs),
                             owner=session_id())
    bar.empty()
    return results


def session_id() -> str | None:
    """Who asks for a run: the workers are shared fairly between sessions (lib.workers.FairQueue)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def run_stages(requests: list[tuple[str, TrainConfig, bool]], labels: list[str]) -> list[RunSummary]:
    """Several stage runs side by side over the workers, one progress bar, cached for every session."""
    return run_jobs(RUNS, [(("stage", stage, cfg, broken), jobs.train_stage, (stage, cfg, broken))
                           for stage, cfg, broken in requests],
                    [(label, cfg.steps) for label, (_, cfg, _) in zip(labels, requests)])


def cached_run(stage: str, config: TrainConfig, broken_relu: bool = False) -> RunSummary:
    """One stage run (cached for every session), without a progress bar; RunFailed if it gave no result."""
    return RUNS.get(("stage", stage, config, broken_relu), jobs.train_stage, (stage, config, broken_relu),
                    owner=session_id())


def cached_gradients(stage: str, config: TrainConfig, step: int, broken_relu: bool,
                     depth: int | None) -> GradientComparison:
    return GRADIENTS.get(("gradients", stage, config, step, broken_relu, depth), jobs.gradients,
                         (stage, config, step, broken_relu, depth), owner=session_id())


def train_with_progress(stage: str, cfg: TrainConfig, broken_relu: bool = False) -> RunSummary:
    result = run_stages([(stage, cfg, broken_relu)], [t("progress.training")])[0]
    if isinstance(result, workers.RunFailed):
        raise result
    return result


def run_failed_message(failure: workers.RunFailed) -> str:
    return t(failure.code, limit=workers.time_limit_s())


def time_limit_message(ran: int, steps: int) -> str:
    return t("limits.stopped", ran=ran, steps=steps, limit=workers.time_limit_s())


# --------------------------------------------------------------------------- tables and texts
def gradient_table(table: pd.DataFrame):
    """The comparison table for reading: scientific notation, ✓/✗, and, when a row fails, failures in red.

    A Styler costs the server ~10x a plain frame to send, so only a table with a failure gets one.
    """
    def sci(v, digits=3):
        return "—" if pd.isna(v) else f"{v:.{digits}e}"
    match = t("column.match")
    shown = pd.DataFrame({
        match: table["within_tol"].map({True: "✓", False: "✗"}),
        t("column.parameter"): table["parameter"].map(parameter_label), t("column.shape"): table["shape"],
        **{t(f"column.{c}"): table[c].map(sci) for c in ("manual_norm", "autograd_norm", "max_abs_diff", "rel_error")},
        t("column.cosine"): table["cosine"].map(lambda v: f"{v:.9f}"),
        t("column.fd_rel_error_step0"): table["fd_rel_error_step0"].map(lambda v: sci(v, 1)),
    })
    if table["within_tol"].all():
        return shown

    def colour(row):
        bad = row[match] == "✗"
        return ["background-color: #ffd6d6; color: #8b0000" if bad else "" for _ in row]
    return shown.style.apply(colour, axis=1)


def divergence_message(result: RunSummary) -> str:
    cfg = result.config
    reason = t(result.divergence_reason, loss=result.stop_loss, limit=GROWTH_LIMIT)
    return t("divergence.message", step=result.diverged_at, reason=reason,
             numbers=cfg.n * cfg.d_out, lr=cfg.lr, reset=t("settings.reset"))


def show_source(objects) -> None:
    with st.expander(t("source.expander")):
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")


# --------------------------------------------------------------------------- the stage page
def _fmt_loss(value: float | None) -> str:
    """A loss for a metric: 4 significant digits; inf and nan as themselves (a divergence shows them)."""
    if value is None:
        return "—"
    return f"{value:.4g}" if math.isfinite(value) else str(value)


def stop_point(result: RunSummary) -> tuple[int, float | None] | None:
    """Where a run stopped and the loss that stopped it (for the chart's marker), or None if it did not diverge."""
    return None if result.diverged_at is None else (result.diverged_at, result.stop_loss)


def loss_metrics(result: RunSummary) -> None:
    """First loss, last loss, their ratio and the time; after a divergence, the loss that stopped training."""
    first = result.losses[0] if result.losses else math.nan
    cols = st.columns(4)
    cols[0].metric(t("metric.first_loss"), _fmt_loss(first) if result.losses else "—")
    if result.diverged_at is None:
        last, last_label, ratio_label = result.final_loss, t("metric.final_loss"), t("metric.ratio")
        help_text = None
    else:
        last, last_label = result.stop_loss, t("metric.stop_loss", step=result.diverged_at)
        ratio_label = t("metric.stop_ratio")
        help_text = (t("metric.stop_loss_help", last=len(result.losses) - 1, kept=_fmt_loss(result.final_loss))
                     if result.losses else None)
    cols[1].metric(last_label, _fmt_loss(last), help=help_text)
    ratio = last / first if result.losses and first > 0 and math.isfinite(last) else math.nan
    cols[2].metric(ratio_label, f"{ratio:.1e}" if math.isfinite(ratio) else "—")
    cols[3].metric(t("metric.time"), f"{result.elapsed_s:.2f} s",
                   help=t("metric.time_help", ran=len(result.losses), steps=result.config.steps))


def stage_page(stage: str) -> None:
    """Everything a stage page shows: what is new, the code, the live loss curve, the gradient comparison."""
    from ui.graph_view import graph_section   # ui/ builds on this module: imported here, not at its top
    ensure_app_frame()
    info = STAGES[stage]
    st.title(t(f"stage.{stage}.title"))
    st.markdown(t(f"stage.{stage}.whats_new"))
    cfg = settings_sidebar(stage)
    if cfg is None:
        settings_problem()
        return
    broken = False
    if stage == "custom_function":
        link = st.query_params.get("broken")
        if link in ("0", "1") and link != st.session_state.get("broken_written"):
            st.session_state["broken_relu"] = link == "1"
        broken = st.toggle(t("stage_page.break_relu"), key="broken_relu", help=t("stage_page.break_relu_help"))
        st.session_state["broken_written"] = st.query_params["broken"] = "1" if broken else "0"
    st.caption(t("stage_page.settings_used", settings=describe(stage, cfg)))
    sources = [info.train]
    if stage == "custom_function":
        sources = [BrokenMyReLU if broken else MyReLU, info.train]
    elif stage in ("custom_module", "dynamic_net"):
        sources = [TwoLayerNet if stage == "custom_module" else DynamicNet, info.train]
    shown = stage_script(stage, cfg, broken, lang())
    with st.expander(t("source.tutorial"), expanded=True, icon=":material/code:"):
        st.code(shown, language="python")
        st.caption(t("source.tutorial_caption", stage=stage))
    show_source(sources)

    try:
        result = train_with_progress(stage, cfg, broken)
    except workers.RunFailed as failure:
        st.error(run_failed_message(failure), icon=":material/timer_off:")
        return
    if result.time_limited_at is not None:
        st.warning(time_limit_message(len(result.losses), cfg.steps), icon=":material/timer:")
    loss_metrics(result)
    if result.diverged_at is not None:
        st.warning(divergence_message(result), icon=":material/warning:")
    label = t("history.this_run") + (t("history.broken_suffix") if broken else "")
    curves, diverged = [(label, result.losses)], {label: stop_point(result)}
    earlier = remember_run(stage, result)
    controls = st.columns([1, 3, 1], vertical_alignment="bottom")
    st.session_state.setdefault("log_y", True)
    linked_choice("log", "log_y", lambda text: one_of("1", "0")(text) == "1")
    log_y = controls[0].toggle(t("chart.log_y"), key="log_y")
    keep_choice("log", int(log_y))
    if earlier:
        labels = {i: run_label(run, result) for i, run in enumerate(earlier)}
        chosen = controls[1].multiselect(t("history.overlay"), list(labels), format_func=labels.get,
                                         key=f"{stage}_overlay", placeholder=t("history.overlay_placeholder"))
        for i in chosen:
            curves.append((labels[i], earlier[i].losses))
            diverged[labels[i]] = stop_point(earlier[i])
        controls[2].button(t("history.clear"), key=f"{stage}_clear", on_click=clear_history, args=(stage,))
    st.plotly_chart(plots.loss_curves(curves, log_y=log_y,
                                      title=t("chart.training_loss_of", stage=t(f"stage.{stage}.short_title")),
                                      diverged={k: v for k, v in diverged.items() if v is not None}, lang=lang()),
                    key="loss_chart", width="stretch", config=png_config(stage))

    comparison = gradient_section(stage, cfg, result, broken)
    if comparison is not None:
        graph_section(stage, cfg, comparison.step, broken, comparison.depth)
    downloads(stage, cfg, broken, curves, comparison)


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


def png_config(name: str) -> dict:
    """Plotly's camera button saves the chart as a PNG, twice the screen's resolution."""
    return {"toImageButtonOptions": {"format": "png", "filename": name, "scale": 2}, "displaylogo": False}


def downloads(stage: str, cfg: TrainConfig, broken: bool, curves, comparison) -> None:
    """CSV of the curves, the gradient table, the stage as a script: made when clicked, not on every rerun."""
    st.subheader(t("downloads.header"))
    cols = st.columns(3)
    language = lang()
    cols[0].download_button(t("downloads.losses"), functools.partial(losses_csv, dict(curves)),
                            file_name=f"{stage}_losses.csv", mime="text/csv", key="dl_losses",
                            icon=":material/download:")
    if comparison is not None:
        cols[1].download_button(t("downloads.gradients"), functools.partial(comparison.table.to_csv, index=False),
                                file_name=f"{stage}_gradients_step{comparison.step}.csv", mime="text/csv",
                                key="dl_gradients", icon=":material/download:")
    cols[2].download_button(t("downloads.script"), functools.partial(stage_script, stage, cfg, broken, language),
                            file_name=f"{stage}.py", mime="text/x-python", key="dl_script",
                            icon=":material/code:")
    st.caption(t("downloads.caption", stage=stage))


def gradient_section(stage: str, cfg: TrainConfig, result: RunSummary, broken: bool) -> GradientComparison | None:
    st.header(t("grad.header"))
    st.markdown(t("grad.intro"))
    last = len(result.losses) - 1   # the steps that ran: not past a divergence or the time limit
    if last < 0:
        st.info(t("grad.no_gradient"))
        return None
    key = f"{stage}_grad_step"
    if last == 0:
        step = 0
        st.caption(t("grad.step_zero"))
    else:
        linked_choice("step", key, whole_number(0, STEPS_CAP))
        st.session_state[key] = min(st.session_state.get(key, 0), last)
        step = st.slider(t("grad.step"), 0, last, key=key, help=t("grad.step_help"))
        keep_choice("step", step)
    depth = None
    if stage == "dynamic_net":
        choices = {"as in training": t("grad.as_in_training"), **{n: str(n) for n in range(4)}}
        linked_choice("depth", "dyn_depth",
                      lambda text: "as in training" if text == "drawn" else one_of(0, 1, 2, 3)(text))
        choice = st.radio(t("grad.depth"), list(choices), horizontal=True, key="dyn_depth", format_func=choices.get)
        depth = None if choice == "as in training" else int(choice)
        keep_choice("depth", "drawn" if depth is None else depth)
    try:
        with st.spinner(t("grad.computing")):
            comparison = cached_gradients(stage, cfg, step, broken, depth)
    except workers.RunFailed as failure:
        st.error(run_failed_message(failure), icon=":material/timer_off:")
        return None
    table = comparison.table
    st.dataframe(gradient_table(table), hide_index=True, width="stretch")
    failed = table.loc[~table["within_tol"], "parameter"].tolist()
    tol = f"{TOLERANCE[cfg.dtype]:.0e}".replace("e-0", "e-")   # 1e-5, as the tutorial's readers write it
    if failed:
        st.error(t("grad.disagree", names=", ".join(failed), tol=tol))
    else:
        st.success(t("grad.agree", rows=len(table), tol=tol, dtype=cfg.dtype))
    if comparison.relu_ties:
        st.info(t("gradients.relu_ties", ties=comparison.relu_ties), icon=":material/info:")
    if comparison.gradcheck_passed is not None:
        fn = "BrokenMyReLU" if broken else "MyReLU"
        st.caption(t("grad.gradcheck_passes" if comparison.gradcheck_passed else "grad.gradcheck_fails", fn=fn))
    if broken:
        st.info(t("grad.broken_explained"))

    matrices = [name for name, g in comparison.manual.items() if g.dim() == 2]
    # format_func looks labels up in a dict made now: AppTest calls it outside the page's run
    name = matrices[0]
    if len(matrices) > 1:
        linked_choice("heatmap", f"{stage}_heatmap", one_of(*matrices))
        if st.session_state.get(f"{stage}_heatmap") not in matrices:   # e.g. a per-use row of another depth
            st.session_state.pop(f"{stage}_heatmap", None)
        name = st.selectbox(t("grad.heatmap_of"), matrices, key=f"{stage}_heatmap",
                            format_func={m: parameter_label(m) for m in matrices}.get)
        keep_choice("heatmap", name)
    st.plotly_chart(plots.gradient_heatmaps(parameter_label(name), comparison.manual[name], comparison.autograd[name],
                                            lang=lang()),
                    key="grad_heatmap", width="stretch", config=png_config(f"{stage}_gradient_{name}"))

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
