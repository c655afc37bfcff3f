"""Teacher links on screen: locked sidebar controls, hidden parts, projector mode, and the link's options and QR code.

The view a link asks for (lib.classroom.teacher) is kept for the session, like the language: a page switch, which clears the
URL, keeps it, and app.py writes it back to the URL on every run so that "Link to this setup" carries it.
"""
from __future__ import annotations

import streamlit as st

from lib.classroom.qr import qr_svg
from lib.figures.replay_plots import frame_ends
from lib.classroom.teacher import HIDEABLE, LOCKABLE, TEACHER_KEYS, TeacherView, view_from_query
from ui.frame import write_query
from ui.text import lang, t

# Streamlit's own names for the sidebar and the button that opens it (data-testid in its frontend)
HIDE_SIDEBAR_CSS = '[data-testid="stSidebar"], [data-testid="stExpandSidebarButton"] {display: none !important;}'
# Streamlit sizes its text in rem: a larger root font enlarges every text and control on the page
PROJECTOR_CSS = "html {font-size: 24px !important;}"


def teacher_view() -> TeacherView:
    """This session's view: a link's lock=, hide=, projector= when the URL brings new ones, else what it had.

    app.py calls it before the page config (projector mode and hide=sidebar fold the sidebar)."""
    state = st.session_state
    query = {key: st.query_params[key] for key in TEACHER_KEYS if key in st.query_params}
    if "teacher_view" not in state or (query and query != state.get("teacher_written")):
        view, problems = view_from_query(query)
        state["teacher_view"], state["teacher_problems"] = view, problems
    return state["teacher_view"]


def apply_view(view: TeacherView) -> None:
    """Write the view back to the URL, say what the link refused, and style the page for it (app.py, every run)."""
    wanted = view.to_query()
    for key in TEACHER_KEYS:
        if key not in wanted:
            st.query_params.pop(key, None)   # a message to the browser only when the URL had it
    write_query(wanted)
    st.session_state["teacher_written"] = wanted
    for problem in st.session_state.pop("teacher_problems", []):
        st.warning(t("teacher.link_problem", problem=problem), icon=":material/link_off:")
    css = ([HIDE_SIDEBAR_CSS] if "sidebar" in view.hidden else []) + ([PROJECTOR_CSS] if view.projector else [])
    if css:
        st.html(f"<style>{' '.join(css)}</style>")


def current_view() -> TeacherView:
    return st.session_state.get("teacher_view", TeacherView())


def shows(part: str) -> bool:
    """Whether the page shows `part` (one of lib.classroom.teacher.HIDEABLE)."""
    return part not in current_view().hidden


def hold_locked(entering: bool) -> set[str]:
    """The sidebar's locked controls, held at their value: the link's, taken when a page is entered from a link (or
    the locks change), then restored on every later run and on every other page, whatever the widget, a reset, the
    page's own defaults or the session state say. Call before the widgets."""
    state = st.session_state
    locked = current_view().locked
    held = state.get("teacher_held", {})
    if (entering and state.get("entered_from_link")) or set(held) != set(locked):
        state["teacher_held"] = {name: state[name] for name in locked}
    else:
        for name, value in held.items():
            state[name] = value
    if locked:
        st.sidebar.caption(t("teacher.locked_note", names=", ".join(control_label(name) for name in locked)))
    return set(locked)


def restore_locked(names) -> None:
    """The locked ones of `names` back at what hold_locked holds them to, before a fragment draws their widgets (a
    rerun of a fragment runs no sidebar, so no hold_locked): a value sent for a disabled widget gets past no lock."""
    state, locked = st.session_state, set(current_view().locked) & set(names)
    for name, value in state.get("teacher_held", {}).items():
        if name in locked:
            state[name] = value


def control_label(name: str) -> str:
    return "dtype" if name == "dtype" else t(f"settings.{name}")


SHARE_CHOICES = ("share_lock", "share_hide", "share_projector")   # link_options' widgets, by key


def link_options() -> TeacherView:
    """In "Link to this setup": what the link locks, hides, and whether it opens in projector mode. Starts from
    this session's own view, so a link made from a teacher's link keeps its locks."""
    view, state = current_view(), st.session_state
    state.setdefault("share_lock", list(view.locked))
    state.setdefault("share_hide", list(view.hidden))
    state.setdefault("share_projector", view.projector)
    # format_func looks labels up in a dict made now: AppTest calls it outside the page's run
    locked = st.multiselect(t("teacher.share_lock"), LOCKABLE, key="share_lock",
                            format_func={name: control_label(name) for name in LOCKABLE}.get,
                            placeholder=t("teacher.share_none"), select_all=False)   # "Select all": English only
    hidden = st.multiselect(t("teacher.share_hide"), HIDEABLE, key="share_hide",
                            format_func={name: t(f"teacher.hide.{name}") for name in HIDEABLE}.get,
                            placeholder=t("teacher.share_none"), select_all=False)
    projector = st.toggle(t("teacher.share_projector"), key="share_projector", help=t("teacher.share_projector_help"))
    return TeacherView(tuple(n for n in LOCKABLE if n in locked), tuple(n for n in HIDEABLE if n in hidden), projector)


def link_with(base: str, query: dict[str, str], view: TeacherView) -> str:
    """The link: the page's URL, its settings and choices, and the teacher's options in place of the session's."""
    params = {key: value for key, value in query.items() if key not in TEACHER_KEYS} | view.to_query()
    return f"{base}?" + "&".join(f"{key}={value}" for key, value in params.items())


def show_qr(link: str) -> None:
    """The link as a QR code, for phones in the room (lib.classroom.qr: made from exactly this text)."""
    st.image(qr_svg(link), caption=t("teacher.qr_caption"), width="stretch")


def replay_caption(steps: int) -> None:
    """Projector mode, under the loss chart that replays the run (lib.figures.replay_plots): how to use it, so the
    class can call out what comes next before it comes."""
    if current_view().projector and steps:
        st.caption(t("teacher.replay_caption", steps=steps, frames=len(frame_ends(steps))))
