"""Settings in the URL: in-page choices read from a link and written back, and the link to share."""
from __future__ import annotations

import streamlit as st

from lib.tutorial.config import QUERY_VALUE_MAX, shown_text
from ui.frame import write_query
from ui.teacher import link_options, link_with, show_qr
from ui.text import t


def linked_choice(url_key: str, widget_key: str, parse) -> None:
    """An in-page choice kept in the URL (comparison step, forced depth, heatmap, log axis, tab, ...).

    Call it before the widget: on the run that enters the page from a link, the link's value, through `parse`
    (a whole number in range, one of a list: it raises ValueError for anything else), becomes the widget's. A widget
    that run does not draw (in a closed tab) takes the link's value when it is first drawn (ui.sidebar keeps what
    the link said in session_state["link_unread"]). `keep_choice` writes the widget's value back, so "Link to this
    setup" carries it.
    """
    text = st.query_params.get(url_key)
    unread = st.session_state.get("link_unread", {})
    if text is None or not (st.session_state.get("entered_from_link") or unread.get(url_key) == text):
        return
    unread.pop(url_key, None)
    try:
        st.session_state[widget_key] = parse(text[:QUERY_VALUE_MAX])
    except (ValueError, TypeError):
        st.warning(t("settings.link_choice_refused", name=url_key, text=shown_text(text)), icon=":material/link_off:")


def keep_choice(url_key: str, value) -> None:
    write_query({url_key: str(value)})


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
    """The page's URL with its settings, in a code box (it has a copy button), with a teacher's options (ui.teacher)
    and as a QR code."""
    base = st.context.url
    if base:
        with container.expander(t("settings.link"), icon=":material/link:"):
            link = link_with(base, st.query_params.to_dict(), link_options())
            st.code(link, language=None, wrap_lines=True)
            st.caption(t("settings.link_caption"))
            show_qr(link)


def followed_link(url_key: str, widget_key: str, parse) -> None:
    """A choice read before any sidebar (the lesson and its step, A against B's stage and B): call it before the
    widget; a link's value the page did not write itself becomes the widget's (through `parse`, which raises
    ValueError for anything else). `wrote_link` records what the page writes back."""
    text = st.query_params.get(url_key)
    if text is None or text == st.session_state.get(f"{widget_key}_written"):
        return
    try:
        st.session_state[widget_key] = parse(text[:QUERY_VALUE_MAX])
    except (ValueError, TypeError):
        st.warning(t("settings.link_choice_refused", name=url_key, text=shown_text(text)), icon=":material/link_off:")
    st.session_state[f"{widget_key}_written"] = text


def wrote_link(url_key: str, widget_key: str, value) -> None:
    st.session_state[f"{widget_key}_written"] = str(value)
    write_query({url_key: str(value)})
