"""The class on every page: which class this session is in (from the URL), its seat and nickname, and the posts
its finished runs and predictions make, off the page's path (lib.board.outbox). Students' pages never poll."""
from __future__ import annotations

import dataclasses
import functools
import secrets
import threading
from urllib.parse import urlencode

import streamlit as st

from lib.board.outbox import Outbox, RateLimit, Ticket
from lib.board.store import NICKNAME_MAX, RunPost, Seat, Store, StudentPoll, normalise_code
from lib.text.messages import CodedError
from lib.tutorial.config import CONFIG_FIELDS, config_to_query
from ui.frame import write_query
from ui.text import t

CLASS_KEY, SEAT_KEY, TEACHER_KEY = "class", "me", "tk"   # URL keys: the class's code, a student's token, the key
TICKETS_KEPT = 50                                       # a session's latest posts, whose fate its pages show
NICKNAME_KEY = "board_nickname"                         # the sidebar's nickname field

_lock = threading.Lock()
_store: Store | None = None


def store() -> Store:
    """This process's store, opened on first use (a database that is down is tried again at the next use)."""
    global _store
    with _lock:
        if _store is None:
            _store = Store()
        return _store


@functools.cache
def outbox() -> Outbox:
    return Outbox(store)


def anonymous_nickname() -> str:
    """An animal and a number, in the reader's language (board.animals)."""
    animals = [word.strip() for word in t("board.animals").split(",") if word.strip()]
    return f"{secrets.choice(animals)} {secrets.randbelow(90) + 10}"


def teacher_key() -> str | None:
    """The teacher's key, from this session (a board link puts it there); never written to other pages' URLs."""
    return st.session_state.get("board_teacher_key")


def current_class() -> str | None:
    return st.session_state.get("board_class")


def current_seat() -> Seat | None:
    return st.session_state.get("board_seat")


def class_frame(auto_join: bool = True) -> None:
    """Called by app.py on every page: join the class the link names (an anonymous nickname; not on the board
    page itself, which is the teacher's), keep the class and the seat in the URL, and say in the sidebar which class
    this is and whether the board is receiving. A teacher key read from a link goes into the session and out of the
    URL at once: the board is on a projector."""
    link_code, link_token = st.query_params.get(CLASS_KEY), st.query_params.get(SEAT_KEY)
    link_key = st.query_params.get(TEACHER_KEY)
    if link_code is not None:
        try:
            code = normalise_code(link_code)
        except CodedError as refused:
            st.sidebar.warning(refused.render(_lang()), icon=":material/group_off:")
            del st.query_params[CLASS_KEY]
            return
        if code != current_class():
            st.session_state["board_class"], st.session_state["board_seat"] = code, None
            st.session_state.pop("board_teacher_key", None)
        if link_key:
            st.session_state["board_teacher_key"] = link_key[:64]
    if TEACHER_KEY in st.query_params:
        del st.query_params[TEACHER_KEY]
    code = current_class()
    if code is None:
        return
    if auto_join and teacher_key() is None and current_seat() is None:
        try:
            seat = store().join(code, anonymous_nickname(), token=link_token)
        except CodedError as refused:
            st.sidebar.warning(refused.render(_lang()), icon=":material/group_off:")
            forget_class()
            return
        except Exception:   # the database is unreachable: the page goes on; the next rerun tries again
            st.sidebar.warning(t("board.unreachable"), icon=":material/cloud_off:")
            return
        st.session_state["board_seat"] = seat
        st.session_state.pop(NICKNAME_KEY, None)     # the nickname field starts from this seat's name
    seat = current_seat()
    values = {CLASS_KEY: code}
    if seat is not None:
        values[SEAT_KEY] = seat.token
    write_query(values)
    status_in_sidebar(code, seat)


def forget_class() -> None:
    for key in ("board_class", "board_seat", "board_teacher_key", NICKNAME_KEY):
        st.session_state.pop(key, None)
    for key in (CLASS_KEY, SEAT_KEY, TEACHER_KEY):
        if key in st.query_params:
            del st.query_params[key]


def status_in_sidebar(code: str, seat: Seat | None) -> None:
    box = st.sidebar.container(border=True)
    if seat is None:
        box.markdown(t("board.sidebar_teacher", code=code))
    else:
        box.markdown(t("board.sidebar_student", code=code, nickname=escape(seat.nickname)))
        nickname_form(box)
    post_problems(box)


def post_problems(where=st) -> None:
    """What is wrong with this session's posts, if anything: waiting while the board is not receiving, or lost."""
    tickets: list[Ticket] = st.session_state.get("board_tickets", [])
    waiting = sum(ticket.state == "waiting" for ticket in tickets)
    lost = sum(ticket.state in ("failed", "refused") for ticket in tickets)
    if waiting and not outbox().reachable:
        where.warning(t("board.not_receiving", count=waiting), icon=":material/cloud_off:")
    if lost:
        where.error(t("board.not_sent", count=lost), icon=":material/error:")


RENAME_OPEN = "board_rename_open"   # the "Change nickname" popover's open state (st.popover's key)


def nickname_form(where) -> None:
    """A student changes their nickname from any page (the class box in the sidebar): validated and bounded by the
    store (clean_nickname), the new one on the board from its next refresh; its refusal shown, never raised."""
    box = where.popover(t("board.rename"), icon=":material/edit:", key=RENAME_OPEN, on_change="rerun")
    if box.open:   # the form is drawn when opened: a class's every rerun on every page would re-send it
        st.session_state.setdefault(NICKNAME_KEY, current_seat().nickname)
        with box, st.form("board_nickname_form", border=False):
            st.text_input(t("board.nickname"), max_chars=NICKNAME_MAX, key=NICKNAME_KEY)
            st.form_submit_button(t("board.rename"), key="board_rename", on_click=rename)
    refused = st.session_state.pop("board_rename_refused", None)
    if refused is not None:
        where.error(refused.render(_lang()), icon=":material/error:")


def rename() -> None:
    """The nickname form's callback, before the rerun draws the sidebar: the seat takes the stored (cleaned) name."""
    seat, code = current_seat(), current_class()
    if seat is None or code is None:
        return
    limit = st.session_state.setdefault("board_rename_rate", RateLimit(burst=5, every_s=5.0))
    if not limit.allow():
        st.session_state["board_rename_refused"] = CodedError("board.rename_too_fast")
        return
    try:
        seat = store().rename(code, seat.token, st.session_state.get(NICKNAME_KEY, ""))
    except CodedError as refused:
        st.session_state["board_rename_refused"] = refused
        return
    except Exception:   # the database is unreachable: the name stays as it was
        st.session_state["board_rename_refused"] = CodedError("board.rename_unreachable")
        return
    replace_seat(seat)
    st.session_state[NICKNAME_KEY] = seat.nickname


def escape(text: str) -> str:
    """A visitor's text shown in markdown: every markdown and HTML character escaped."""
    return "".join(f"\\{ch}" if ch in "\\`*_{}[]()<>#+-.!|~&$:" else ch for ch in text)


def _lang() -> str:
    from ui.text import lang
    return lang()


def _send(what: str, call) -> None:
    """Hand a post to the outbox (`call(outbox)` queues it and gives its ticket) unless this session posts too fast
    (then it is reported as not sent)."""
    limit = st.session_state.setdefault("board_rate", RateLimit())
    tickets: list[Ticket] = st.session_state.setdefault("board_tickets", [])
    if limit.allow():
        ticket = call(outbox())
    else:
        ticket = Ticket(what)
        ticket.finish("refused", CodedError("board.too_fast"))
    tickets.append(ticket)
    del tickets[:-TICKETS_KEPT]


def post_run_once(identity, post: RunPost) -> None:
    """Post a finished run to the class board once per session (a rerun shows the same cached run again)."""
    seat, code = current_seat(), current_class()
    if seat is None or code is None:
        return
    posted: set = st.session_state.setdefault("board_posted", set())
    if identity in posted:
        return
    posted.add(identity)
    _send("run", lambda box: box.send_run(code, seat.token, post))


def post_stage_run(stage: str, cfg, result, broken: bool = False) -> None:
    """A stage page's finished run, as the board shows it: every setting, the final loss, its curve, its link."""
    settings = {name: getattr(cfg, name) for name in CONFIG_FIELDS if name != "device"}
    if broken:
        settings["broken"] = "1"
    query = config_to_query(cfg) | ({"broken": "1"} if broken else {})
    post_run_once(("stage", stage, cfg, broken), RunPost(
        page=stage, settings=settings, metric="loss", value=result.final_loss, diverged_at=result.diverged_at,
        time_limited=result.time_limited_at is not None, curve=tuple(result.losses),
        link=f"/{stage}?{urlencode(query)}"))


def post_answer(lesson: str, step: int, choice: str) -> None:
    seat, code = current_seat(), current_class()
    if seat is None or code is None or choice is None:
        return
    token = seat.token
    _send("answer", lambda box: box.send("answer", lambda s: s.answer(code, token, lesson, step, choice)))


def own_poll(lesson: str, step: int) -> StudentPoll | None:
    """A poll as this student sees it: their own prediction (from the database, so a reload or another replica shows
    it again) and the answer once the teacher revealed it. Read when a student's lesson page draws; never polled.
    None outside a class or when it cannot be read."""
    seat, code = current_seat(), current_class()
    if seat is None or code is None:
        return None
    try:
        return store().own_poll(code, seat.token, lesson, step)
    except Exception:   # refused (the seat went) or unreachable: the page goes on as if nothing was read
        return None


def remember_answer(lesson: str, step: int, choice: str) -> None:
    """A prediction already on the board (read back after a reload): not posted again."""
    st.session_state.setdefault("board_answered", {})[(lesson, step)] = choice


def post_answer_once(lesson: str, step: int, choice: str | None) -> None:
    """Post a prediction unless this session already posted (or read back) that very choice for this step."""
    answered = st.session_state.setdefault("board_answered", {})
    if current_seat() is None or choice is None or answered.get((lesson, step)) == choice:
        return
    answered[(lesson, step)] = choice
    post_answer(lesson, step, choice)


def is_teacher() -> bool:
    code, key = current_class(), teacher_key()
    return code is not None and key is not None and store().is_teacher(code, key)


def reveal(lesson: str, step: int, answer: str) -> None:
    """The teacher's reveal, written at once (the teacher waits for it: it is what the class will see)."""
    store().reveal(current_class(), teacher_key(), lesson, step, answer)


def replace_seat(seat: Seat) -> None:
    st.session_state["board_seat"] = dataclasses.replace(seat)


def post_versus_runs(stage: str, vary: str, a, b, results) -> None:
    """A against B: both runs, each with its settings and which setting was varied."""
    for name, cfg, result in (("a", a, results[0]), ("b", b, results[1])):
        settings = {field: getattr(cfg, field) for field in CONFIG_FIELDS if field != "device"} | {"vary": vary}
        post_run_once(("versus", stage, cfg), RunPost(
            page="a_vs_b", settings=settings, metric="loss", value=result.final_loss,
            diverged_at=result.diverged_at, time_limited=result.time_limited_at is not None,
            curve=tuple(result.losses), link=f"/{stage}?{urlencode(config_to_query(cfg))}"))


def post_network_run(cfg, result, query: dict[str, str]) -> None:
    """Your own network: its layers, activation and the tutorial's settings it shares (the link without the
    session's class and seat)."""
    query = {k: v for k, v in query.items() if k not in (CLASS_KEY, SEAT_KEY, TEACHER_KEY)}
    settings = {"layers": len(cfg.widths), "widths": "-".join(map(str, cfg.widths)), "activation": cfg.activation,
                "reduction": cfg.reduction, "n": cfg.n, "lr": cfg.lr, "steps": cfg.steps, "seed": cfg.seed,
                "dtype": cfg.dtype, "d_in": cfg.d_in, "d_out": cfg.d_out}
    post_run_once(("own", cfg), RunPost(
        page="own_network", settings=settings, metric="loss", value=result.final_loss,
        diverged_at=result.diverged_at, time_limited=result.time_limited_at is not None,
        curve=tuple(result.losses), link=f"/own_network?{urlencode(query)}"))


def post_mnist_run(config, result) -> None:
    """MNIST: the held-out accuracy after the last epoch, the accuracy per epoch as its curve."""
    settings = {"model": config.model, "hidden": config.hidden, "optimizer": config.optimizer, "lr": config.lr,
                "batch_size": config.batch_size, "epochs": config.epochs, "seed": config.seed,
                "schedule": config.schedule}
    post_run_once(("mnist", config), RunPost(
        page="mnist", settings=settings, metric="accuracy", value=result.final_accuracy,
        diverged_at=result.diverged_at, time_limited=result.time_limited_at is not None,
        curve=tuple(h["test_accuracy"] for h in result.history), link="/mnist"))
