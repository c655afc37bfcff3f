"""Settings in the URL: in-page choices read from a link and written back, the keys a page does not read, and the
link to share."""
from __future__ import annotations

import math
from dataclasses import replace

import streamlit as st

from lib.classroom.teacher import TEACHER_KEYS
from lib.text.messages import Message
from lib.tutorial import step_mode
from lib.tutorial.config import LR_CAP, QUERY_VALUE_MAX, query_field, shown_text, values_from_query
from ui.frame import full_run_number, keep_widget_state, write_query
from ui.teacher import SHARE_CHOICES, link_options, link_with, show_qr
from ui.text import t

# the share-link box: room on the right of every line of the URL, where st.code's copy button sits (Streamlit's
# own data-testid; the container's key becomes the class st-key-share_link)
SHARE_LINK_CSS = '.st-key-share_link [data-testid="stCode"] pre {padding-right: 2.75rem !important;}'


SHARE_OPEN = "share_open"   # the "Link to this setup" box's open state (st.expander's key)

ONE_OF_SHOWN = 12   # allowed values a refusal lists; a longer list ends in "…"


class LinkRefused(ValueError):
    """A link's text that a choice cannot take, with why (a message: lib.text.messages)."""

    def __init__(self, reason: Message):
        super().__init__(reason.code)
        self.reason = reason


def linked_choice(url_key: str, widget_key: str, parse) -> None:
    """An in-page choice kept in the URL (comparison step, forced depth, heatmap, log axis, tab, ...).

    Call it before the widget: on the run that enters the page from a link, the link's value, through `parse`
    (a whole number in range, one of a list: it raises ValueError for anything else), becomes the widget's. A widget
    that run does not draw (in a closed tab) takes the link's value when it is first drawn (ui.sidebar keeps what
    the link said in session_state["link_unread"]). `keep_choice` writes the widget's value back, so "Link to this
    setup" carries it.
    """
    if _drawn_this_run(url_key):   # a choice made inside a st.fragment: its rerun is not the page being entered
        return
    text = st.query_params.get(url_key)
    unread = st.session_state.get("link_unread", {})
    if text is None or not (st.session_state.get("entered_from_link") or unread.get(url_key) == text):
        return
    unread.pop(url_key, None)
    _follow(url_key, widget_key, parse, text)


def _drawn_this_run(url_key: str) -> bool:
    """Whether `url_key`'s choice was already drawn since the page's last full run began: then this is a rerun of
    the st.fragment around it (a widget inside it changed), which runs that part alone, not the page's top and so
    not ui.frame.ensure_app_frame, which counts full runs. A widget is drawn once a run, so a full run never draws
    the same choice twice."""
    run, seen = full_run_number(), st.session_state.setdefault("link_choice_runs", {})
    if seen.get(url_key) == run:
        return True
    seen[url_key] = run
    return False


def _follow(url_key: str, widget_key: str, parse, text: str) -> None:
    """The link's `text` through `parse` into the widget; a refusal waits for keep_choice or wrote_link, which know
    the value the page uses instead, and say both."""
    try:
        st.session_state[widget_key] = parse(text[:QUERY_VALUE_MAX])
    except (ValueError, TypeError) as err:
        reason = err.reason if isinstance(err, LinkRefused) else Message("links.why_unreadable")
        st.session_state.setdefault("link_refused", {})[url_key] = (shown_text(text), reason)


def _say_refused(url_key: str, value, instead: str | None = None) -> None:
    refused = st.session_state.get("link_refused", {}).pop(url_key, None)
    if refused is not None:
        text, reason = refused
        if instead is None:
            message = t("links.choice_refused", name=url_key, text=text, why=reason, used=shown_text(str(value)))
        else:
            message = t("links.choice_refused_instead", name=url_key, text=text, why=reason, instead=instead)
        st.warning(message, icon=":material/link_off:")


def keep_choice(url_key: str, value) -> None:
    _say_refused(url_key, value)
    write_query({url_key: str(value)})


def say_not_kept(url_key: str, instead: str) -> None:
    """A linked choice the page does not use after all (Compare's common lr, switched off): a refusal of the link's
    value says `instead`, what the page does in its place, and the key leaves the URL."""
    _say_refused(url_key, None, instead)
    st.query_params.pop(url_key, None)


def whole_number(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise LinkRefused(Message("links.why_whole_number", low=low, high=high))
        return value
    return parse


def lr_value(high: float = LR_CAP):
    """A link's lr, used as given: any finite number with 0 < lr <= `high`, on the slider's grid or off it (the
    slider shows it: with_value)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= high):
            raise LinkRefused(Message("links.why_lr", high=high))
        return value
    return parse


def one_of(*options):
    def parse(text: str):
        match = next((option for option in options if str(option) == text), None)
        if match is None:
            shown = ", ".join(map(str, options[:ONE_OF_SHOWN])) + (", …" if len(options) > ONE_OF_SHOWN else "")
            raise LinkRefused(Message("links.why_one_of", allowed=shown))
        return match
    return parse


def share_link(container) -> None:
    """The page's URL with its settings, in a code box (it has a copy button), with a teacher's options (ui.teacher)
    and as a QR code, in a box that draws them when it is open."""
    base = st.context.url
    if not base:
        return
    keep_widget_state(*SHARE_CHOICES)   # the teacher's options, kept while the box is closed
    box = container.expander(t("settings.link"), icon=":material/link:", key=SHARE_OPEN, on_change="rerun")
    if box.open:   # drawn only when opened: the link, its QR code and options change with every setting, and each
        with box:  # rerun that re-sends them costs the browser a re-render (bench/browser.py)
            link = link_with(base, st.query_params.to_dict(), link_options())
            st.html(f"<style>{SHARE_LINK_CSS}</style>")
            st.container(key="share_link").code(link, language=None, wrap_lines=True)
            st.caption(t("settings.link_caption"))
            show_qr(link)


def followed_link(url_key: str, widget_key: str, parse) -> None:
    """A choice read before any sidebar (the lesson and its step, A against B's stage and B): call it before the
    widget; a link's value the page did not write itself becomes the widget's (through `parse`, which raises
    ValueError for anything else). `wrote_link` records what the page writes back."""
    text = st.query_params.get(url_key)
    if text is None or text == st.session_state.get(f"{widget_key}_written"):
        return
    _follow(url_key, widget_key, parse, text)
    st.session_state[f"{widget_key}_written"] = text


def wrote_link(url_key: str, widget_key: str, value) -> None:
    _say_refused(url_key, value)
    st.session_state[f"{widget_key}_written"] = str(value)
    write_query({url_key: str(value)})


def with_value(options: list, key: str) -> list:
    """A select_slider's options with the value session_state[key] holds, where a link put it off the grid (the lr a
    link gives is used as given, and the slider shows it), in order."""
    value = st.session_state.get(key)
    if value is None or value in options:
        return options
    return sorted([*options, value])


def link_entered(entering: bool, from_link: bool) -> bool:
    """Whether this run reads the link's in-page choices (ui.sidebar; call it before the sidebar records the page):
    on entering a page from a link, and on a session's first page when its link names only such choices
    (?depth=99, ?tab=graph), none of the sidebar's settings. (Later, what the URL holds may be what this session
    wrote on another page.)"""
    own = {"lang", "lock", "hide", "projector"}   # app.py's: the language and a teacher's view
    first = "sidebar_stage" not in st.session_state
    return from_link or (entering and first and any(key not in own for key in st.query_params))


# the keys app.py's frame reads on every page (the language, a teacher's view, the class board: ui.board) and
# Streamlit's own (?embed=)
FRAME_KEYS = frozenset({"lang", *TEACHER_KEYS, "embed", "embed_options"})
IGNORED_SHOWN = 8   # ignored keys a message names; more end in "…"


def ignored_keys(query: dict[str, str], own=(), fields=(), any_case=()) -> list[str]:
    """The keys of `query` a page does not read: not the frame's, not one of its `own` as spelt (or of `any_case`,
    read in any case: step mode's), and not naming one of the config `fields` it reads (in any spelling:
    lib.tutorial.config.query_field)."""
    from ui.board import CLASS_KEY, SEAT_KEY, TEACHER_KEY   # here: ui.board stands beside this module, not below
    frame = FRAME_KEYS | {CLASS_KEY, SEAT_KEY, TEACHER_KEY}
    return [key for key in query if key not in frame and key not in own and key.lower() not in any_case
            and query_field(key) not in fields]


def say_ignored_keys(own=(), fields=(), any_case=()) -> None:
    """On a session's first run, the run a link opens: one message naming the link's keys this page does not read
    (ignored_keys), with their values. Later runs' URLs hold what the app wrote (a page switch clears the URL);
    call it before the page writes any."""
    if st.session_state.get("link_keys_read"):
        return
    st.session_state["link_keys_read"] = True
    query = st.query_params.to_dict()
    keys = ignored_keys(query, own, fields, any_case)
    if keys:
        shown = ", ".join(f"{shown_text(key)}={shown_text(query[key])}" for key in keys[:IGNORED_SHOWN])
        st.warning(t("links.keys_ignored", keys=shown + (", …" if len(keys) > IGNORED_SHOWN else "")),
                   icon=":material/link_off:")


def settings_in_link() -> dict[str, str]:
    """The sidebar's settings in the URL, under every key lib.tutorial.config reads (n, N, H, LR, ...)."""
    return {key: value for key, value in st.query_params.to_dict().items() if query_field(key)}


def respell_link(link: dict[str, str]) -> None:
    """Once read, the link's other spellings (N=, H=, LR=) leave the URL: the sidebar writes the fields' own."""
    for key in link:
        if query_field(key) != key:
            st.query_params.pop(key, None)


# step mode's settings in the URL: key -> (StepSettings field, type, low, high)
STEP_RANGES = {key: (name, kind, *{"lr": step_mode.LR_RANGE, "speed": step_mode.SPEED_RANGE,
                                   "seed": (0, step_mode.SEED_MAX)}.get(name, (1, step_mode.SIZE_MAX)))
               for key, (name, kind) in step_mode.QUERY_KEYS.items()}


def step_settings_from_link(query: dict[str, str]) -> tuple[step_mode.StepSettings, list[Message]]:
    """Step mode's settings from a link, refused with the stage pages' message codes (lib.tutorial.config)."""
    defaults = step_mode.StepSettings()
    values, problems = values_from_query(query, STEP_RANGES, defaults)
    return replace(defaults, **values), problems
