"""The settings sidebar: one slider per hyperparameter, steps the server will finish, the page's link."""
from __future__ import annotations

import functools

import streamlit as st

from lib.serve import limits, workers
from lib.text.numbers import lr_text
from lib.tutorial.config import (CONFIG_FIELDS, SEED_CAP, SIZE_CAPS, STAGE_NAMES, STEPS_CAP, TrainConfig,
                        config_from_query, config_to_query, default_config, query_field)
from lib.tutorial.optimizers import OPTIMIZERS
from lib.tutorial.stages import STAGES
from ui import runs
from ui.device import device_choice
from ui.frame import write_query
from ui.links import link_entered, respell_link, settings_in_link, share_link, with_value
from ui.teacher import current_view, hold_locked, restore_locked
from ui.text import optimizer_label, t


# lr moves on a log scale: 1, 2 and 5 of every decade from 1e-8 to 1e-1
LR_CHOICES = [round(m * 10.0 ** e, 12) for e in range(-8, -1) for m in (1, 2, 5)] + [1e-1]


# what `sizes_only` leaves out: each stage's own (the Compare page reads a link's lr= itself)
STAGE_OWN = ("lr", "optimizer", "momentum")


def _load_into_widgets(cfg: TrainConfig) -> None:
    for name in CONFIG_FIELDS:
        st.session_state[name] = getattr(cfg, name)   # an lr off the slider's grid too: it shows it (with_value)


def settings_sidebar(stage: str, sizes_only: bool = False, remember_as: str | None = None,
                     notices: list | None = None, elsewhere: tuple[str, ...] = ()) -> TrainConfig | None:
    """Sidebar hyperparameters for `stage` (or "compare"), remembered per page; None, with a message, if invalid.

    `sizes_only` leaves out lr, optimizer and momentum: the Compare page takes them from each stage.
    `remember_as` names the page when it is not the stage's own (A against B keeps its settings apart).
    `notices`: where a page wants the note on shortened steps later than here (a stage page: under its chart, which
    must stay on one screen with the controls), a list that gets the note's drawing, to call.
    `elsewhere`: settings the page draws itself (a stage page's lesson_controls, over its chart, in the fragment
    `lesson_settings` draws); the sidebar leaves them out and says where they are, so each setting has one control.
    """
    defaults = default_config(stage) if stage in STAGES else TrainConfig()
    configs: dict[str, TrainConfig] = st.session_state.setdefault("configs", {})
    link = {key: value for key, value in settings_in_link().items()   # n=, also N=, H=, LR= (config.query_field)
            if not (sizes_only and query_field(key) in STAGE_OWN)}
    page = remember_as or stage
    entering = st.session_state.get("sidebar_stage") != page
    from_link = bool(link) and entering and link != st.session_state.get("link_written")
    # the page's own choices read the link on this run too
    st.session_state["entered_from_link"] = linked = link_entered(entering, from_link)
    if from_link or entering:
        # choices this run does not draw (a closed tab's) read the link when they are first drawn (ui.links)
        st.session_state["link_unread"] = st.query_params.to_dict() if linked else {}
    if from_link:
        # Opened from a link (a new visit, or a preset): the link wins over what this session had. Only on
        # entering the page: later, the browser's URL can lag a fast slider by a rerun, and is no link.
        # What we wrote ourselves, still in the URL after a page switch, is not a link either.
        cfg, problems = config_from_query(link, defaults)
        respell_link(link)
        for problem in problems:
            st.warning(t("settings.link_problem", problem=problem), icon=":material/link_off:")
        _load_into_widgets(cfg)
        st.session_state["sidebar_stage"] = page
    elif entering:
        _load_into_widgets(configs.get(page, defaults))
        st.session_state["sidebar_stage"] = page
    info = STAGES.get(stage)
    sb = st.sidebar
    sb.header(t("settings.header"))
    locked = hold_locked(entering)   # a teacher's link holds these at its values

    def reset():
        configs.pop(page, None)
        _load_into_widgets(defaults)

    sb.button(t("settings.reset"), on_click=reset, key="reset", width="stretch")
    if elsewhere:
        sb.caption(t("settings.elsewhere", names=", ".join(t(f"layout.{name}") for name in elsewhere)))
    for name in ("n", "d_in", "hidden", "d_out"):
        if name not in elsewhere:
            sb.slider(t(f"settings.{name}"), 1, SIZE_CAPS[name], key=name, disabled=name in locked, **held(name))
    shortened = fit_steps(stage)
    if "steps" not in elsewhere:
        bounded_slider(sb, t("settings.steps"), st.session_state["steps_allowed"], "steps",
                       t("settings.steps_only_one"), disabled="steps" in locked,
                       help=t("settings.steps_help", limit=workers.time_limit_s()))
    shown = ["n", "d_in", "hidden", "d_out", "steps", "seed", "dtype"]
    if not sizes_only:
        uses_optimizer = info is not None and info.uses_optimizer
        # a stage that updates by hand takes no optimizer and no momentum: neither is drawn, its runs and its link
        # hold the defaults' (the caption says why)
        shown += STAGE_OWN if uses_optimizer else ("lr",)
        if "lr" not in elsewhere:
            sb.select_slider(t("settings.lr"), options=with_value(LR_CHOICES, "lr"), key="lr",
                             disabled="lr" in locked, format_func=lr_text)
        if not uses_optimizer:
            sb.caption(t("settings.no_optimizer"))
            for key in ("optimizer", "momentum"):   # a link's, or another page's: the URL holds what this page uses
                st.query_params.pop(key, None)       # (a key the URL lacks sends the browser nothing)
        if uses_optimizer and "optimizer" not in elsewhere:
            # format_func looks labels up in a dict made now: AppTest calls it outside the page's run
            sb.selectbox(t("settings.optimizer"), list(OPTIMIZERS), key="optimizer",
                         disabled="optimizer" in locked, on_change=momentum_follows,
                         format_func={name: optimizer_label(name) for name in OPTIMIZERS}.get)
        if uses_optimizer and "momentum" not in elsewhere:
            takes_momentum = OPTIMIZERS[st.session_state["optimizer"]].uses_momentum
            sb.slider(t("settings.momentum"), 0.0, 0.99, step=0.01, key="momentum",
                      disabled=not takes_momentum or "momentum" in locked, **held("momentum"))
    sb.number_input(t("settings.seed"), 0, SEED_CAP, step=1, key="seed", disabled="seed" in locked)
    sb.radio("dtype", ["float32", "float64"], key="dtype", horizontal=True, help=t("settings.dtype_help"),
             disabled="dtype" in locked)
    if device_choice(sb):
        shown.append("device")
    st.session_state[SHOWN] = shown
    cfg = settled(stage, notices, None if elsewhere else shortened)   # else the page's own call says the note
    if cfg is None:
        sb.error(t("settings.cant_run", err=st.session_state["settings_problem"]))
    st.session_state[SIDEBAR_SAID] = st.session_state.get("settings_problem") if cfg is None else None
    share_link(sb)
    return cfg


SIDEBAR_SAID = "sidebar_problem"   # the settings' problem the sidebar says (None: it says none), for sidebar_is_stale
SHOWN = "settings_shown"   # the settings this page's run takes (settings_sidebar), for `settled` to read again


def settled(stage: str, notices: list | None = None, shortened: int | None = None) -> TrainConfig | None:
    """The page's settings as the session holds them now: remembered for the page, written to the URL; None (and
    the reason in session_state["settings_problem"]) if they cannot run. Call it after settings_sidebar, whose run
    it repeats: a fragment that draws some of the settings (lesson_settings) calls it on each of its own reruns.
    `shortened`: the steps asked for, when fit_steps cut them; the note on it goes to `notices` (or is drawn)."""
    state = st.session_state
    defaults = default_config(stage) if stage in STAGES else TrainConfig()
    try:
        cfg = defaults.with_(**{name: state[name] for name in state[SHOWN]})
    except ValueError as err:
        state["settings_problem"] = str(err)
        return None
    state.pop("settings_problem", None)
    state.setdefault("configs", {})[state["sidebar_stage"]] = cfg
    if shortened:
        note = functools.partial(st.info, t("settings.steps_shortened", wanted=shortened, steps=cfg.steps,
                                            limit=workers.time_limit_s()), icon=":material/timer:")
        note() if notices is None else notices.append(note)
    link = {k: v for k, v in config_to_query(cfg).items() if k in state[SHOWN]}
    write_query(link)
    state["link_written"] = link
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


# the controls a stage's lesson is about, in one row over the loss chart, in the main area alone (a folded sidebar,
# as in projector mode, leaves them on screen; the sidebar says where they are): each setting has one control, under
# its own key, the one source of truth in the session, the URL and a teacher's lock. The row and the chart are one
# st.fragment (ui.stage_page), so a move reruns them, not the sidebar (bench/browser.py, bench/class.py).


def lesson_controls(stage: str) -> tuple[str, ...]:
    """The settings a stage's main-area row shows: lr, N, H, steps; the optimizer and momentum where it has one."""
    return ("lr", "n", "hidden", "steps") + (("optimizer", "momentum") if STAGES[stage].uses_optimizer else ())


# the row's optimizer box, wide enough for its longest name ("SGD with momentum") in full, in projector mode's type too
OPTIMIZER_BOX_PX = {"screen": 210, "projector": 300}


def lesson_settings(stage: str, row, notices: list) -> TrainConfig | None:
    """The lesson's controls (lesson_controls) in `row` (a horizontal container), then the page's settings
    (`settled`); call it after settings_sidebar(stage, elsewhere=lesson_controls(stage)), and on each rerun of the
    fragment it sits in. Locked ones (a teacher's link) are disabled. In projector mode (large type, six controls
    in one line on stages 5-7) they have no help icon: the labels need the width, and nobody hovers a projection."""
    view = current_view()
    state, locked = st.session_state, set(view.locked)
    restore_locked(lesson_controls(stage))
    shortened = fit_steps(stage)   # N and H move here: the steps they allow, before the steps slider
    for name in lesson_controls(stage):
        label, options = t(f"layout.{name}"), dict(key=name, disabled=name in locked,
                                                   help=None if view.projector else t(f"settings.{name}"))
        if name == "lr":
            row.select_slider(label, options=with_value(LR_CHOICES, "lr"), format_func=lr_text, **options)
        elif name == "steps":
            bounded_slider(row, label, state["steps_allowed"], options.pop("key"), t("settings.steps_only_one"),
                           **options)
        elif name == "optimizer":
            row.selectbox(label, list(OPTIMIZERS), format_func={n: optimizer_label(n) for n in OPTIMIZERS}.get,
                          on_change=momentum_follows,
                          width=OPTIMIZER_BOX_PX["projector" if view.projector else "screen"], **options)
        elif name == "momentum":
            options["disabled"] |= not OPTIMIZERS[state["optimizer"]].uses_momentum
            row.slider(label, 0.0, 0.99, step=0.01, **options, **held(name))
        else:
            row.slider(label, 1, SIZE_CAPS[name], **options, **held(name))
    return settled(stage, notices, shortened)


def sidebar_is_stale() -> bool:
    """Whether the sidebar, drawn by the page's last full run, says another thing about the settings than is true
    now: a rerun of the fragment that holds the lesson's controls (which does not redraw the sidebar) fixed or made
    the problem. Call it after lesson_settings; then the page must run in full (st.rerun)."""
    return st.session_state.get(SIDEBAR_SAID) != st.session_state.get("settings_problem")


def momentum_follows() -> None:
    """on_change of the optimizer box: SGD with momentum 0 would be plain SGD under another name, so choosing it
    at momentum 0 takes the tutorial's momentum (DynamicNet's 0.9)."""
    if st.session_state.get("optimizer") == "sgd_momentum" and st.session_state.get("momentum", 0.0) == 0.0:
        st.session_state["momentum"] = default_config("dynamic_net").momentum


def held(key: str) -> dict:
    """A slider's `value=`: the value the session holds for it (every slider here is drawn from the session's
    state, never from a default). Without it, st.slider copies the whole session state to learn whether it is a
    range slider (Streamlit 1.67, slider.py): about a twentieth of a stage page's server time per rerun, more in a
    class, whose session holds more (py-spy, docs/benchmarks.md)."""
    return {"value": st.session_state[key]} if key in st.session_state else {}


def settings_problem() -> None:
    """Where the chart would be: why the page's settings can't run, and what to do (the sidebar may be below
    the fold of a projector). It names no place: on stage pages some settings are in the row over the chart."""
    st.error(t("settings.cant_run_page", err=st.session_state.get("settings_problem", ""), reset=t("settings.reset")),
             icon=":material/block:")


def bounded_slider(container, label: str, high: int, key: str, only_one: str, **options) -> int:
    """A slider from 1 to `high`. With one value to offer (the caps on a slow server), the caption `only_one`
    instead: Streamlit refuses a slider whose two ends are equal."""
    if high > 1:
        return container.slider(label, 1, high, key=key, **options, **held(key))
    st.session_state[key] = 1
    container.caption(only_one)
    return 1


def allowed_steps(stage: str, n: int, d_in: int, hidden: int, d_out: int, dtype: str, seed: int) -> int:
    """The most steps the sliders offer at these sizes: a run planned to fit its share of the time limit.

    "compare" (all seven stages at once) takes the costliest stage's.
    """
    budget = limits.PLAN_SHARE * workers.time_limit_s()
    stages = STAGE_NAMES if stage not in STAGES else [stage]
    return min(limits.max_steps(runs.server_speed(), budget, name, n, d_in, hidden, d_out, dtype, seed, cap=STEPS_CAP)
               for name in stages)
