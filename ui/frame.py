"""What every screen stands in: app.py's frame, and tabs that stay open across reruns and languages."""
from __future__ import annotations

import sys
import threading
import types
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from lib.text import i18n
from ui.text import lang, t

FULL_RUNS = "full_runs"
_run = threading.local()   # a script run is one thread: whether app.py's frame is around the page it runs


@contextmanager
def app_frame():
    """app.py runs its page inside this, so the page's ensure_app_frame knows the frame is there."""
    outer, _run.framed = getattr(_run, "framed", False), True
    try:
        yield
    finally:
        _run.framed = outer


def ensure_app_frame() -> None:
    """Every page calls this first: a page that app.py did not run gets app.py's frame around it.

    Streamlit (1.67, paths under site-packages/streamlit) starts each server process in its legacy pages/ mode
    because pages/ sits beside app.py: runtime/pages_manager.py:60-63 sets `uses_pages_directory =
    Path(self.main_script_parent / "pages").exists()`, from the folder alone (no config option; page files in a
    sub-folder of pages/ would keep the mode and leave it no page to find). In that mode the script runner runs its
    own navigation in place of app.py (runtime/scriptrunner/script_runner.py:933-934, `_mpa_v1` at 144-181): app.py
    for "/", and for "/tensors" the file pages/tensors.py alone (every pages/*.py, named by its file). The mode ends
    for good with the first st.navigation call (commands/navigation.py:181-182, "As soon as any session of your app
    executes the st.navigation command, your app will ignore the pages/ directory (across all sessions)"). So a
    server's first visitor who opens a page's URL directly, and every AppTest run, reaches the page file without
    app.py. The page then runs app.py itself, as Streamlit runs it for "/" in that mode, and stops: app.py's
    st.navigation ends the legacy mode, finds this page by its URL and runs it inside the frame.

    The legacy navigation finds a URL by file name, so each url_path in app.py is its file's name: a URL it cannot
    find gets Streamlit's "Page not found" dialog (commands/navigation.py:561-562) before any of our code runs
    (tests/test_first_visit_browser.py opens every page first on a fresh server). A page file run as the main
    script (a test's AppTest.from_file("pages/x.py")) has no pages/ beside it and is left alone.
    """
    st.session_state[FULL_RUNS] = full_run_number() + 1   # only a full run runs a page's top (ui.links)
    if getattr(_run, "framed", False):
        return
    entrypoint = Path(sys.modules["__main__"].__file__)   # the main script (script_runner.py:776-783)
    if not (entrypoint.parent / "pages").exists():
        return
    frame = types.ModuleType("__main__")   # a fresh namespace for app.py, as st.Page.run gives a page
    frame.__file__ = str(entrypoint)
    exec(compile(entrypoint.read_bytes(), str(entrypoint), "exec"), frame.__dict__)  # noqa: S102
    st.stop()   # the page ran inside app.py's frame; this unframed run of it ends here


def full_run_number() -> int:
    """How many full runs of its pages this session has begun (a st.fragment's rerun runs that fragment alone)."""
    return st.session_state.get(FULL_RUNS, 0)


@contextmanager
def short_error():
    """A last guard around a page (app.py) or a fragment (whose errors Streamlit shows itself, traceback and all,
    before app.py's guard could see them): an unexpected error becomes a short message, its details folded."""
    try:
        yield
    except Exception as err:
        st.error(t("app.error"))
        with st.expander(t("app.error_details")):
            st.text(f"{type(err).__name__}: {err}")


def fragment_rerun(name: str) -> bool:
    """Whether this draw of the fragment `name` is a rerun of it alone, not part of a full run of the page (then
    nothing outside it was redrawn). Call it once per draw, at the fragment's top."""
    key = f"{name}_drawn_in_run"
    again = st.session_state.get(key) == full_run_number()
    st.session_state[key] = full_run_number()
    return again


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
