"""What every screen stands in: app.py's frame, and tabs that stay open across reruns and languages."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lib.text import i18n
from ui.text import lang


def ensure_app_frame() -> None:
    """Every page calls this first.

    Streamlit starts in its legacy pages/ mode whenever a pages/ folder sits beside the main script, and
    stays there until app.py calls st.navigation: a server's first visitor who opens /tensors directly
    (and every AppTest run) gets the page file alone, without app.py's frame. Leave that mode and rerun,
    so app.py frames the page.

    Streamlit (1.67) has no public way to do this: the mode is PagesManager.uses_pages_directory, set once per
    process from `(main script's folder / "pages").exists()`; in that mode the script runner runs the page file
    in place of app.py (scriptrunner._mpa_v1), so app.py's st.navigation, the one public call that clears the
    flag, never runs for such a visitor; client.showSidebarNavigation only hides that mode's sidebar.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def write_query(values: dict[str, str]) -> None:
    """Put these values in the URL. Each write of st.query_params sends the browser the whole query string, so only
    values the URL does not already hold are written, in one message."""
    changed = {key: value for key, value in values.items() if st.query_params.get(key) != value}
    if changed:
        st.query_params.update(changed)


def keep_widget_state(*keys: str) -> None:
    """Keep these widgets' values while they are not drawn (in a closed tab): Streamlit drops the state of a widget
    a run does not draw, and the widget would come back at its default. Writing the value back at the top of the run,
    as Streamlit's docs advise, keeps it. Call it before the widgets."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


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
