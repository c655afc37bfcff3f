"""The class board: a teacher starts a class (a join code, a link, a QR code) and watches, live, every student's
runs (final loss against a setting, everyone's latest curve, the best run so far) and the lessons' polls."""
import dataclasses

import streamlit as st

from lib.board.store import PostedRun
from lib.classroom.lesson_files import LessonError, load_lessons
from lib.figures import board_plots
from lib.text.messages import CodedError
from ui import board
from ui.frame import ensure_app_frame
from ui.links import say_ignored_keys
from ui.teacher import show_qr
from ui.text import lang, t

REFRESH_S = 3                       # the board reads what changed this often; students' pages never poll
SETTINGS = ("lr", "n", "hidden", "steps", "d_in", "d_out", "optimizer", "momentum", "seed", "dtype", "batch_size",
            "epochs", "layers", "activation")
OTHER_PAGES = ("a_vs_b", "own_network", "mnist")

ensure_app_frame()
say_ignored_keys()   # the board reads only the frame's keys (the class, the teacher's key) from a link
language = lang()
code, key = board.current_class(), board.teacher_key()


def start_class() -> None:
    try:
        made = board.store().create_class()
    except CodedError as refused:
        st.session_state["board_error"] = refused
        return
    except Exception:
        st.session_state["board_error"] = CodedError("board.unreachable_teacher")
        return
    board.forget_class()
    st.session_state.update(board_class=made.code, board_teacher_key=made.teacher_key, board_seat=None)


def join_class() -> None:
    st.session_state["board_join_now"] = True


def start_or_join() -> None:
    st.title(t("board.title"))
    st.markdown(t("board.intro"))
    if "board_error" in st.session_state:
        st.error(st.session_state.pop("board_error").render(language), icon=":material/error:")
    left, right = st.columns(2, border=True)
    with left:
        st.subheader(t("board.start_header"))
        st.caption(t("board.start_help"))
        st.button(t("board.start"), type="primary", icon=":material/groups:", on_click=start_class, key="board_start")
    with right:
        st.subheader(t("board.join_header"))
        typed = st.text_input(t("board.join_code"), max_chars=8, key="board_code_typed",
                              placeholder=t("board.join_placeholder"))
        if st.button(t("board.join"), icon=":material/login:", key="board_join", disabled=not typed):
            st.query_params[board.CLASS_KEY] = typed.strip().upper()
            st.switch_page("pages/home.py", query_params={board.CLASS_KEY: typed.strip().upper(), "lang": language})


def join_link(code: str) -> str:
    base = st.context.url.split("/board")[0].split("?")[0].rstrip("/") if st.context.url else ""
    return f"{base}/?{board.CLASS_KEY}={code}"


def student_view(code: str) -> None:
    st.title(t("board.title"))
    seat = board.current_seat()
    if seat is None:
        st.info(t("board.not_teacher_here", code=code), icon=":material/lock:")
        return
    st.markdown(t("board.student_intro", code=code, nickname=board.escape(seat.nickname)))
    st.caption(t("board.rename_anywhere"))   # the class box in the sidebar, on every page (ui.board.nickname_form)
    if st.button(t("board.leave"), icon=":material/logout:", key="board_leave"):
        try:
            board.store().leave(code, seat.token)
        except CodedError:
            pass
        board.forget_class()
        st.rerun()


def teacher_view(code: str, key: str) -> None:
    """Composed for the projector: the code, the link and the QR code in one row, the controls, then the live
    board (its counts and both charts) inside one 1280x720 screen."""
    head, qr = st.columns([5, 1], vertical_alignment="center")
    link = join_link(code)
    with head:
        st.title(t("board.teacher_title", code=" ".join(code)))
        st.markdown(t("board.join_at", link=link))
    with qr:
        show_qr(link)
    controls = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    st.session_state.setdefault("board_x", "lr")
    controls[0].selectbox(t("board.x_setting"), SETTINGS, key="board_x")
    pages = ["all", *board_pages()]
    # format_func looks labels up in a dict made now: AppTest calls it outside the page's run (in English)
    controls[1].selectbox(t("board.page_filter"), pages, key="board_page",
                          format_func={page: page_title(page) for page in pages}.get)
    controls[2].button(t("board.clear"), icon=":material/delete_sweep:", key="board_clear",
                       on_click=teacher_action, args=("clear",))
    closed = st.session_state.get("board_closed", False)
    controls[3].button(t("board.reopen" if closed else "board.close"), key="board_close_toggle",
                       icon=":material/lock_open:" if closed else ":material/lock:",
                       on_click=teacher_action, args=("reopen" if closed else "close",))
    live_board(code, key)
    with st.expander(t("board.teacher_link_header"), icon=":material/key:"):
        st.caption(t("board.teacher_link_help"))
        st.code(f"{link.split('?')[0].rstrip('/')}/board?{board.CLASS_KEY}={code}&{board.TEACHER_KEY}={key}",
                language=None)


def board_pages() -> list[str]:
    from lib.tutorial.stages import STAGES
    return [*STAGES, *OTHER_PAGES]


def page_title(page: str) -> str:
    return t("board.all_pages") if page == "all" else (t(f"nav.{page}") if page in OTHER_PAGES
                                                          else t(f"stage.{page}.short_title"))


def teacher_action(action: str) -> None:
    store, code, key = board.store(), board.current_class(), board.teacher_key()
    {"clear": store.clear_class, "close": store.close_class, "reopen": store.reopen_class}[action](code, key)
    if action == "clear":
        st.session_state.pop("board_runs", None)


@st.fragment(run_every=REFRESH_S)
def live_board(code: str, key: str) -> None:
    """Read only what changed since the last read; draw the class's runs and polls."""
    held = st.session_state.setdefault("board_runs", {"since": 0, "generation": None, "runs": []})
    try:
        read = board.store().read_board(code, key, since=held["since"], generation=held["generation"])
    except CodedError as refused:
        st.error(refused.render(language), icon=":material/error:")
        return
    except Exception:
        st.warning(t("board.unreachable_teacher"), icon=":material/cloud_off:")
        read = None
    if read is not None:
        if read.generation != held["generation"]:
            held["runs"] = []
        if read.nicknames != held.get("nicknames"):   # a student renamed or left: the runs held show it
            held["runs"] = [run if run.nickname == read.nicknames[run.student]
                            else dataclasses.replace(run, nickname=read.nicknames[run.student])
                            for run in held["runs"] if run.student in read.nicknames]
            held["nicknames"] = read.nicknames
        held["runs"].extend(read.runs)
        held.update(since=read.last_id, generation=read.generation, read=read)
        st.session_state["board_closed"] = read.closed
    read = held.get("read")
    if read is None:
        return
    runs: list[PostedRun] = held["runs"]
    page = st.session_state.get("board_page", "all")
    metric = "accuracy" if page == "mnist" else "loss"   # MNIST posts its accuracy, every other page its loss
    shown = [r for r in runs if (page == "all" or r.page == page) and r.metric == metric]
    counts = st.columns(4)
    counts[0].metric(t("board.students"), read.students)
    counts[1].metric(t("board.ran"), read.ran)
    counts[2].metric(t("board.runs"), len(runs))
    counts[3].metric(t("board.state"), t("board.closed_state" if read.closed else "board.open_state"))
    if not shown:
        st.info(t("board.no_runs_yet"), icon=":material/hourglass_empty:")
    else:
        left, right = st.columns(2)
        setting = st.session_state.get("board_x", "lr")
        left.plotly_chart(board_plots.final_against_setting(shown, setting, language, metric=metric),
                          key="board_sweep", width="stretch")
        right.plotly_chart(board_plots.latest_curves(shown, language, metric=metric), key="board_curves",
                           width="stretch")
        best_run(shown)
    polls(read)


def best_run(runs: list[PostedRun]) -> None:
    finished = [r for r in runs if r.value is not None and r.diverged_at is None and r.metric == "loss"]
    if not finished:
        return
    best = min(finished, key=lambda r: r.value)
    settings = ", ".join(f"{name}={value}" for name, value in best.settings.items())
    st.success(t("board.best", nickname=board.escape(best.nickname), loss=f"{best.value:.4g}",
                 page=page_title(best.page), settings=board.escape(settings)),
               icon=":material/emoji_events:")
    if best.link.startswith("/"):
        st.markdown(f"[{t('board.open_best')}]({best.link})")


def polls(read) -> None:
    if not read.answers and not read.reveals:
        return
    st.subheader(t("board.polls_header"))
    try:
        lessons = load_lessons()
    except LessonError:
        lessons = {}
    by_lesson: dict[str, list] = {}
    for (lesson_id, step), counts in sorted(read.answers.items()):
        by_lesson.setdefault(lesson_id, []).append((step, counts))
    for lesson_id, steps in by_lesson.items():
        lesson = lessons.get(lesson_id)
        title = lesson.title[language] if lesson else lesson_id
        st.markdown(f"**{board.escape(title)}**")
        shares = []
        cols = st.columns(max(1, min(3, len(steps))))
        for i, (step, counts) in enumerate(steps):
            labels = poll_labels(lesson, step)
            answer = read.reveals.get((lesson_id, step))
            with cols[i % len(cols)]:
                st.plotly_chart(board_plots.poll_counts(counts, labels, answer, language),
                                key=f"board_poll_{lesson_id}_{step}", width="stretch")
                total = sum(counts.values())
                if answer is None:
                    st.caption(t("board.poll_hidden", step=step))
                else:
                    right = counts.get(answer, 0)
                    st.caption(t("board.poll_revealed", step=step, answer=labels.get(answer, answer),
                                 right=right, total=total))
                    shares.append((step, right / total if total else 0.0))
        if shares:
            st.caption(t("board.understood", steps=", ".join(t("board.share_at", step=s, share=f"{share:.0%}")
                                                             for s, share in shares)))


def poll_labels(lesson, step: int) -> dict[str, str]:
    if lesson is None or not 1 <= step <= len(lesson.steps):
        return {}
    found = lesson.steps[step - 1]
    return {c: t(f"lessons.answer.{found.outcome}.{c}", a="A", b="B") for c in found.choices}


if code is None:
    start_or_join()
elif key is not None and board.is_teacher():
    teacher_view(code, key)
else:
    student_view(code)
