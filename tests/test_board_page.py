"""The class board through the pages (AppTest): a teacher starts a class, students join from its link, their runs
and predictions reach the board, the answer stays hidden from students until the teacher reveals."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

import ui.board
from lib.board import store as board_store
from lib.board.store import Store
from lib.text import i18n
from tests.page_support import open_box

pytestmark = pytest.mark.slow

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def class_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'classes.sqlite3'}"
    monkeypatch.setenv("CLASS_DB_URL", url)
    monkeypatch.setattr(ui.board, "_store", None)
    ui.board.outbox.cache_clear()
    yield Store(url)
    ui.board.outbox.cache_clear()


def session(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query or {})
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.markdown, *at.caption, *at.info, *at.success, *at.warning,
                                             *at.error, *at.title, *at.metric])


def start_class(lang: str = "en") -> tuple[AppTest, str, str]:
    teacher = session("pages/board.py", {"lang": lang})
    teacher.button(key="board_start").click().run()
    assert not teacher.exception, [e.value for e in teacher.exception]
    code, key = teacher.session_state["board_class"], teacher.session_state["board_teacher_key"]
    return teacher, code, key


def wait_sent() -> None:
    box = ui.board.outbox()
    box.send("sync", lambda s: None).done.wait(10)


def test_a_student_run_reaches_the_board_and_the_key_never_reaches_the_url(class_db):
    teacher, code, key = start_class()
    assert code in texts(teacher) or " ".join(code) in texts(teacher)
    assert key not in str(dict(teacher.query_params))
    student = session("pages/tensors.py", {"class": code, "n": "32", "steps": "40"})
    seat = student.session_state["board_seat"]
    assert seat is not None and student.query_params["me"] in (seat.token, [seat.token])
    wait_sent()
    read = class_db.read_board(code, key)
    assert read.students == 1 and len(read.runs) == 1
    run = read.runs[0]
    assert run.page == "tensors" and run.settings["n"] == 32 and run.settings["steps"] == 40
    assert run.value is not None and run.value > 0 and len(run.curve) == 40
    student.run()                                           # a rerun shows the same cached run: not posted again
    wait_sent()
    assert len(class_db.read_board(code, key).runs) == 1
    teacher.run()
    assert teacher.metric[0].value == "1" and teacher.metric[1].value == "1"
    assert [c.proto.spec for c in teacher.get("plotly_chart")]   # the sweep and the curves are drawn


def test_the_student_moves_between_pages_and_stays_in_the_class(class_db):
    _, code, key = start_class()
    student = session("pages/home.py", {"class": code})
    token = student.session_state["board_seat"].token
    student.switch_page("pages/autograd.py").run()
    assert not student.exception
    assert student.query_params["class"] in (code, [code]) and student.query_params["me"] in (token, [token])
    wait_sent()
    assert [r.page for r in class_db.read_board(code, key).runs] == ["autograd"]
    # a reload on another replica: a fresh session from the same URL keeps the seat (the database holds it)
    again = session("pages/home.py", {"class": code, "me": token})
    assert again.session_state["board_seat"].student == student.session_state["board_seat"].student
    assert class_db.read_board(code, key).students == 1


def test_a_poll_stays_hidden_from_students_until_the_teacher_reveals(class_db):
    teacher, code, key = start_class()
    student = session("pages/lessons.py", {"class": code, "lesson": "lr", "step": "1"})
    student.radio(key="lesson_predict_lr_1").set_value("down").run()
    assert not student.exception
    wait_sent()
    assert sum(class_db.read_board(code, key).answers[("lr", 1)].values()) == 1
    assert student.button(key="lesson_reveal").disabled                  # nothing to see before the teacher reveals
    assert i18n.t("lessons.class_wait", "en") in texts(student)
    assert class_db.read_board(code, key).reveals == {}
    # the teacher runs and reveals on the lessons page
    teacher.switch_page("pages/lessons.py")
    teacher.query_params.update({"lesson": "lr", "step": "1"})
    teacher.run()
    teacher.button(key="lesson_reveal").click().run()
    assert not teacher.exception, [e.value for e in teacher.exception]
    revealed = class_db.read_board(code, key).reveals
    assert list(revealed) == [("lr", 1)]
    student.run()
    assert not student.button(key="lesson_reveal").disabled


def test_a_student_session_cannot_reveal_clear_or_read_the_board(class_db):
    _, code, key = start_class()
    student = session("pages/board.py", {"class": code})
    assert student.session_state["board_teacher_key"] if "board_teacher_key" in student.session_state else True
    assert not [b for b in student.button if b.key in ("board_clear", "board_close_toggle")]
    assert i18n.t("board.not_teacher_here", "en", code=code) in texts(student)
    # guessing the teacher link's shape with a wrong key shows no board either
    guess = session("pages/board.py", {"class": code, "tk": "A" * 24})
    assert not [b for b in guess.button if b.key in ("board_clear", "board_close_toggle")]
    assert not guess.get("plotly_chart")


def test_the_board_in_korean(class_db):
    teacher, code, _ = start_class("ko")
    assert i18n.t("board.students", "ko") in [m.label for m in teacher.metric]
    assert i18n.t("board.no_runs_yet", "ko") in texts(teacher)


def test_a_against_b_and_your_own_network_post_their_runs(class_db):
    teacher, code, key = start_class()
    student = session("pages/a_vs_b.py", {"class": code, "stage": "autograd", "vary": "lr", "b": "1e-05",
                                          "steps": "30", "n": "16"})
    token = student.session_state["board_seat"].token
    own = session("pages/own_network.py", {"class": code, "me": token, "net_layers": "2", "net_steps": "20"})
    assert own.session_state["board_seat"].student == student.session_state["board_seat"].student
    wait_sent()
    runs = class_db.read_board(code, key).runs
    assert sorted(r.page for r in runs) == ["a_vs_b", "a_vs_b", "own_network"]
    versus = [r for r in runs if r.page == "a_vs_b"]
    assert sorted(r.settings["lr"] for r in versus) == [1e-6, 1e-5] and {r.settings["vary"] for r in versus} == {"lr"}
    network = next(r for r in runs if r.page == "own_network")
    assert network.settings["layers"] == 2 and "class" not in network.link and token not in network.link
    teacher.session_state["board_page"] = "own_network"
    teacher.run()
    assert not teacher.exception and len(teacher.get("plotly_chart")) >= 2


def rename(at: AppTest, nickname: str) -> AppTest:
    """Open the class box's "Change nickname", type a nickname and press its button (a form: both in one submit)."""
    open_box(at, ui.board.RENAME_OPEN)
    at.text_input(key="board_nickname").set_value(nickname)
    at.button(key="board_rename").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_student_changes_their_nickname_from_any_page_and_the_board_shows_it(class_db, lang):
    teacher, code, key = start_class(lang)
    student = session("pages/tensors.py", {"class": code, "n": "32", "steps": "40", "lang": lang})
    old = student.session_state["board_seat"].nickname
    assert "board_nickname" not in [w.key for w in student.sidebar.text_input]   # drawn when its popover opens
    open_box(student, ui.board.RENAME_OPEN)
    field = student.sidebar.text_input(key="board_nickname")                 # the class box, on a stage page
    assert field.value == old and field.proto.max_chars == board_store.NICKNAME_MAX
    wait_sent()
    teacher.run()
    assert ui.board.escape(old) in texts(teacher)                           # the best run, under the old name
    student.switch_page("pages/home.py").run()                              # and renamed from another page
    new = "<b>Neo</b> *1*"
    rename(student, new)
    assert student.session_state["board_seat"].nickname == new
    sidebar = "\n".join(m.value for m in student.sidebar.markdown)
    assert i18n.t("board.sidebar_student", lang, code=code, nickname=ui.board.escape(new)) in sidebar
    assert "<b>" not in sidebar                                             # shown escaped, never as markup
    assert class_db.read_board(code, key).nicknames == {student.session_state["board_seat"].student: new}
    teacher.run()                                                           # the board's next refresh
    assert ui.board.escape(new) in texts(teacher) and ui.board.escape(old) not in texts(teacher)
    # a reload (a fresh session from the URL) keeps the new name: it is the database's
    again = session("pages/home.py", {"class": code, "me": student.session_state["board_seat"].token, "lang": lang})
    assert again.session_state["board_seat"].nickname == new


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_nickname_the_store_refuses_is_said_and_the_old_one_kept(class_db, lang):
    _, code, _ = start_class(lang)
    student = session("pages/autograd.py", {"class": code, "lang": lang})
    old = student.session_state["board_seat"].nickname
    for bad in ("   ", "\u200b\u200b"):                                   # nothing left once cleaned
        rename(student, bad)
        assert student.session_state["board_seat"].nickname == old
        assert i18n.t("board.bad_nickname", lang, limit=board_store.NICKNAME_MAX) in [e.value for e in student.error]
    rename(student, "  Otter \t 9 ")                                        # cleaned as the store cleans it
    assert student.session_state["board_seat"].nickname == "Otter 9"
    assert student.text_input(key="board_nickname").value == "Otter 9" and not student.error
    rename(student, "x" * (board_store.NICKNAME_MAX + 5))                   # the field stops at the store's bound
    assert student.session_state["board_seat"].nickname == "x" * board_store.NICKNAME_MAX


def test_a_reload_shows_the_prediction_already_made_and_does_not_post_it_again(class_db):
    teacher, code, key = start_class()
    query = {"class": code, "lesson": "lr", "step": "1"}
    student = session("pages/lessons.py", query)
    student.radio(key="lesson_predict_lr_1").set_value("down").run()
    wait_sent()
    posted = stored_answers(class_db)
    assert [(lesson, step, choice) for lesson, step, choice, _ in posted] == [("lr", 1, "down")]
    token = student.session_state["board_seat"].token
    again = session("pages/lessons.py", query | {"me": token})             # a reload: a new session, the same URL
    assert again.radio(key="lesson_predict_lr_1").value == "down"
    assert i18n.t("lessons.class_wait", "en") in texts(again)               # still waiting for the teacher
    assert "board_tickets" not in again.session_state or not again.session_state["board_tickets"]   # no post
    again.run()
    wait_sent()
    assert stored_answers(class_db) == posted                               # not posted again (the same row, time)
    again.radio(key="lesson_predict_lr_1").set_value("diverges").run()      # a changed mind still goes to the board
    wait_sent()
    assert class_db.read_board(code, key).answers == {("lr", 1): {"diverges": 1}}


def stored_answers(store: Store) -> list[tuple]:
    with store.engine.connect() as db:
        return [tuple(r) for r in db.execute(sa.select(board_store.answers.c.lesson, board_store.answers.c.step,
                                                       board_store.answers.c.choice, board_store.answers.c.posted))]


def test_a_move_in_the_lessons_row_says_when_the_board_is_not_receiving(class_db, monkeypatch):
    """A move in a stage page's row reruns its fragment alone, so the sidebar's class box is not redrawn: the note
    that posts are waiting for an unreachable board goes under the chart then (ui.stage_page.lesson)."""
    from tests.page_support import rerun_fragment
    _, code, _ = start_class()
    student = session("pages/tensors.py", {"class": code, "steps": "30"})
    wait_sent()
    waiting = i18n.t("board.not_receiving", "en", count=1)
    assert waiting not in texts(student)

    class Down:   # the outbox of a process whose database went away: the post waits
        reachable = False

        def send_run(self, *args):
            return ui.board.Ticket("run")

    student.slider(key="n").set_value(33)
    with monkeypatch.context() as down:
        down.setattr(ui.board, "outbox", lambda: Down())
        rerun_fragment(student, "stage_lesson")
        assert any(w.value == waiting for w in student.warning), texts(student)
