"""The class store against SQLite and a real PostgreSQL (a throwaway cluster): the same tests for both."""
from __future__ import annotations

import dataclasses
import threading
import time

import pytest
import sqlalchemy as sa

from lib.board import store as board
from lib.board.outbox import Outbox, RateLimit
from lib.board.store import RunPost, Store
from lib.text.messages import CodedError
from tests.postgres_support import Cluster


@pytest.fixture(scope="module")
def cluster():
    running = Cluster()
    yield running
    running.remove()


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def make_store(request, tmp_path):
    made = []

    def make(**kwargs):
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'classes.sqlite3'}"
        else:
            url = request.getfixturevalue("cluster").url
        opened = Store(url, **kwargs)
        made.append(opened)
        return opened

    yield make
    for opened in made:
        with opened.engine.begin() as db:
            for table in reversed(board.metadata.sorted_tables):
                db.execute(table.delete())
        opened.dispose()


def post(value=1.0, page="tensors", **settings):
    return RunPost(page=page, settings=settings, metric="loss", value=value, curve=(3.0, 2.0, value))


def code_of(error: CodedError) -> str:
    return error.code


def test_a_class_has_a_short_code_and_a_key_only_its_teacher_holds(make_store):
    store = make_store()
    first, second = store.create_class(), store.create_class()
    assert len(first.code) == board.CODE_LENGTH and set(first.code) <= set(board.CODE_ALPHABET)
    assert first.code != second.code and len(first.teacher_key) >= 20
    assert store.is_teacher(first.code, first.teacher_key)
    assert store.is_teacher(first.code.lower(), first.teacher_key)         # a code typed in lower case
    assert not store.is_teacher(first.code, second.teacher_key)           # another class's key
    assert not store.is_teacher(first.code, None) and not store.is_teacher(first.code, "")
    assert not store.is_teacher(first.code, first.teacher_key[:-1])
    with store.engine.connect() as db:                                     # only the key's hash is stored
        stored = db.execute(sa.select(board.classes.c.teacher_hash)).scalars().all()
    assert first.teacher_key not in stored and len(stored[0]) == 64


def test_every_teacher_action_needs_the_key(make_store):
    store = make_store()
    cls, other = store.create_class(), store.create_class()
    seat = store.join(cls.code, "Otter")
    actions = [lambda key: store.close_class(cls.code, key), lambda key: store.clear_class(cls.code, key),
               lambda key: store.reveal(cls.code, key, "lr", 1, "diverges"),
               lambda key: store.read_board(cls.code, key), lambda key: store.reopen_class(cls.code, key)]
    for act in actions:
        for key in (None, "", seat.token, other.teacher_key, cls.teacher_key + "x"):
            with pytest.raises(CodedError) as refused:
                act(key)
            assert code_of(refused.value) == "board.not_teacher"
    store.reveal(cls.code, cls.teacher_key, "lr", 1, "diverges")
    assert store.read_board(cls.code, cls.teacher_key).reveals == {("lr", 1): "diverges"}


def test_students_join_rejoin_rename_and_leave(make_store):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "  Otter \t 7 ")
    assert seat.nickname == "Otter 7"
    again = store.join(cls.code, "someone else", token=seat.token)          # the same seat, from the URL
    assert (again.student, again.nickname) == (seat.student, "Otter 7")
    assert store.rename(cls.code, seat.token, "Penguin").nickname == "Penguin"
    assert store.seat(cls.code, seat.token).nickname == "Penguin"
    with pytest.raises(CodedError) as refused:
        store.seat(cls.code, "a guessed token")
    assert code_of(refused.value) == "board.not_in_class"
    store.post_run(cls.code, seat.token, post())
    store.leave(cls.code, seat.token)
    assert store.counts()["board_students"] == 0 and store.counts()["board_runs"] == 0


def test_nicknames_are_validated_and_bounded(make_store):
    store = make_store()
    cls = store.create_class()
    assert store.join(cls.code, "A\x00B\u200bC\nD").nickname == "ABC D"   # control and format characters go
    assert store.join(cls.code, "<b>x</b>").nickname == "<b>x</b>"          # kept as text: pages show it escaped
    for bad in ("", "   ", "x" * (board.NICKNAME_MAX + 1)):
        with pytest.raises(CodedError) as refused:
            store.join(cls.code, bad)
        assert code_of(refused.value) == "board.bad_nickname"


def test_a_closed_or_full_class_takes_no_new_student_and_codes_are_checked(make_store, monkeypatch):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    monkeypatch.setattr(board, "MAX_STUDENTS", 2)
    store.join(cls.code, "Penguin")
    with pytest.raises(CodedError) as refused:
        store.join(cls.code, "Third")
    assert code_of(refused.value) == "board.full"
    store.close_class(cls.code, cls.teacher_key)
    with pytest.raises(CodedError) as refused:
        store.post_run(cls.code, seat.token, post())
    assert code_of(refused.value) == "board.closed"
    assert store.join(cls.code, "x", token=seat.token).student == seat.student   # a seat held is kept
    for bad in ("ABC", "'; DROP", "AAAAA0", "ZZZZZZ"):
        with pytest.raises(CodedError) as refused:
            store.join(bad, "Otter")
        assert code_of(refused.value) == "board.no_class"


def test_runs_are_validated_bounded_and_read_incrementally(make_store, monkeypatch):
    store = make_store()
    cls = store.create_class()
    a, b = store.join(cls.code, "A"), store.join(cls.code, "B")
    monkeypatch.setattr(board, "MAX_RUNS_PER_STUDENT", 3)
    for i in range(5):
        store.post_run(cls.code, a.token, post(value=float(i), lr=10.0 ** -(i + 3)))
    first = store.read_board(cls.code, cls.teacher_key)
    assert [r.value for r in first.runs] == [2.0, 3.0, 4.0]                  # the oldest two went
    assert (first.students, first.ran) == (2, 1)
    long = RunPost("tensors", {f"k{i}": i for i in range(30)} | {"note": "x" * 100}, "loss", float("nan"),
                   curve=tuple(range(1000)), link="a=1\nb")
    store.post_run(cls.code, b.token, long)
    later = store.read_board(cls.code, cls.teacher_key, since=first.last_id, generation=first.generation)
    assert len(later.runs) == 1 and later.ran == 2
    stored = later.runs[0]
    assert stored.value is None and stored.link == "" and stored.nickname == "B"
    assert len(stored.settings) == board.SETTINGS_MAX and len(stored.curve) == board.CURVE_POINTS
    assert stored.curve[0] == 0 and stored.curve[-1] == 999
    with pytest.raises(CodedError):
        store.post_run(cls.code, b.token, RunPost("../etc", {}, "loss", 1.0))
    store.clear_class(cls.code, cls.teacher_key)
    cleared = store.read_board(cls.code, cls.teacher_key, since=later.last_id, generation=later.generation)
    assert cleared.generation == later.generation + 1 and cleared.runs == [] and cleared.ran == 0
    store.post_run(cls.code, a.token, post(value=9.0))
    assert [r.value for r in store.read_board(cls.code, cls.teacher_key, since=later.last_id,
                                              generation=later.generation).runs] == [9.0]


def test_a_poll_is_counted_for_the_teacher_and_hidden_from_students_until_revealed(make_store):
    store = make_store()
    cls = store.create_class()
    seats = [store.join(cls.code, f"S{i}") for i in range(4)]
    for seat, choice in zip(seats, ["down", "down", "diverges", "flat"]):
        store.answer(cls.code, seat.token, "lr", 2, choice)
    store.answer(cls.code, seats[3].token, "lr", 2, "diverges")               # a changed mind: the latest counts
    assert store.read_board(cls.code, cls.teacher_key).answers == {("lr", 2): {"down": 2, "diverges": 2}}
    assert store.own_poll(cls.code, seats[0].token, "lr", 2).answer is None
    store.reveal(cls.code, cls.teacher_key, "lr", 2, "diverges")
    assert store.own_poll(cls.code, seats[0].token, "lr", 2).answer == "diverges"
    assert store.own_poll(cls.code, seats[0].token, "lr", 3).answer is None


def test_classes_expire_with_everything_in_them(make_store):
    clock = Clock()
    store = make_store(hours=2, clock=clock)
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    store.post_run(cls.code, seat.token, post())
    store.answer(cls.code, seat.token, "lr", 1, "down")
    clock.now += 2 * 3600 + 1
    with pytest.raises(CodedError) as refused:
        store.seat(cls.code, seat.token)
    assert code_of(refused.value) == "board.no_class"
    assert store.expire() == 1
    assert set(store.counts().values()) == {0}


def test_the_schema_is_versioned_and_a_newer_one_refused(make_store):
    store = make_store()
    assert store.schema_version() == board.SCHEMA_VERSION
    assert make_store().schema_version() == board.SCHEMA_VERSION        # a second replica opening the same database
    with store.engine.begin() as db:
        db.execute(board.meta_table.update().values(value=str(board.SCHEMA_VERSION + 1)))
    with pytest.raises(CodedError) as refused:
        make_store()
    assert code_of(refused.value) == "board.schema_newer"


def test_thirty_students_posting_at_once_all_land(make_store):
    store = make_store()
    cls = store.create_class()
    seats = [store.join(cls.code, f"S{i}") for i in range(30)]
    errors = []

    def student(seat):
        try:
            for i in range(3):
                store.post_run(cls.code, seat.token, post(value=float(i)))
        except Exception as err:   # noqa: BLE001 - any failure fails the test below
            errors.append(err)

    threads = [threading.Thread(target=student, args=(seat,)) for seat in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    read = store.read_board(cls.code, cls.teacher_key)
    assert (len(read.runs), read.students, read.ran) == (90, 30, 30)


def test_the_outbox_sends_reports_refusals_and_never_drops_a_post(make_store):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    box = Outbox(lambda: store)
    sent = box.send("run", lambda s: s.post_run(cls.code, seat.token, post()))
    refused = box.send("run", lambda s: s.post_run(cls.code, "not a seat", post()))
    assert sent.done.wait(10) and refused.done.wait(10)
    assert sent.state == "sent" and refused.state == "refused" and refused.error.code == "board.not_in_class"
    assert len(store.read_board(cls.code, cls.teacher_key).runs) == 1


def test_a_post_made_while_the_database_is_down_is_delivered_when_it_returns_or_reported_not_sent():
    """The database unreachable for a while (simulated: the store's calls fail as a dropped connection does)."""
    up, refused_twice, refusals = threading.Event(), threading.Event(), []   # it comes back when the test says
    delivered = []

    class Flaky:
        def post_run(self, *args):
            if not up.is_set():
                refusals.append(args)
                if len(refusals) >= 2:
                    refused_twice.set()
                raise sa.exc.OperationalError("INSERT", {}, Exception("connection refused"))
            delivered.append(args)

    box = Outbox(lambda: Flaky(), retry_for_s=30, backoff_s=(0.05, 0.2))
    ticket = box.send("run", lambda s: s.post_run("C", "t", post()))
    assert refused_twice.wait(10)                # retried: the first refusal has been taken in
    assert ticket.state == "waiting" and not box.reachable
    up.set()
    assert ticket.done.wait(10) and ticket.state == "sent" and ticket.tries > 1 and len(delivered) == 1
    up.clear()
    short = Outbox(lambda: Flaky(), retry_for_s=0.5, backoff_s=(0.05, 0.1))
    lost = short.send("run", lambda s: s.post_run("C", "t", post()))
    assert lost.done.wait(10) and lost.state == "failed" and len(delivered) == 1


@pytest.mark.postgres
@pytest.mark.postgres
def test_postgres_going_away_and_coming_back(cluster):
    """The real thing: PostgreSQL stopped while a post waits, then started again; the post arrives."""
    store = Store(cluster.url)
    try:
        cls = store.create_class()
        seat = store.join(cls.code, "Otter")
        box = Outbox(lambda: store, retry_for_s=60, backoff_s=(0.2, 1.0))
        cluster.stop()
        ticket = box.send("run", lambda s: s.post_run(cls.code, seat.token, post(value=4.0)))
        time.sleep(1.0)
        assert ticket.state == "waiting" and not box.reachable
        cluster.start()
        assert ticket.done.wait(30) and ticket.state == "sent"
        assert [r.value for r in store.read_board(cls.code, cls.teacher_key).runs] == [4.0]
    finally:
        with store.engine.begin() as db:
            for table in reversed(board.metadata.sorted_tables):
                db.execute(table.delete())
        store.dispose()


def test_the_rate_limit_lets_a_burst_through_then_one_per_period():
    clock = Clock()
    limit = RateLimit(burst=3, every_s=2.0, clock=clock)
    assert [limit.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += 1.9
    assert not limit.allow()
    clock.now += 0.2
    assert limit.allow() and not limit.allow()


def test_a_stored_curve_is_bounded_keeps_its_first_and_last_points_at_their_steps_and_the_final_values_exact(
        make_store):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    losses = [600.0 * 0.97 ** k for k in range(500)]
    final = 0.123456789
    store.post_run(cls.code, seat.token, RunPost("tensors", {"lr": 1e-4}, "loss", final, diverged_at=437,
                                                 curve=(*losses[:-1], final)))
    store.post_run(cls.code, seat.token, RunPost("tensors", {"lr": 1e-4}, "loss", 2.0, curve=tuple(losses[:40])))
    long, short = store.read_board(cls.code, cls.teacher_key).runs
    assert len(long.curve) == len(long.steps) == board.CURVE_POINTS < 500
    assert long.steps[0] == 0 and long.steps[-1] == 499 and list(long.steps) == sorted(set(long.steps))
    assert long.curve[0] == 600.0 and long.curve[-1] == pytest.approx(final, rel=1e-3)
    assert all(v == pytest.approx(losses[k], rel=1e-3) for k, v in zip(long.steps[:-1], long.curve[:-1]))
    assert long.value == final and long.diverged_at == 437          # exact: their own fields, never the curve's
    assert short.steps == tuple(range(40)) and short.curve[-1] == pytest.approx(losses[39], rel=1e-3)
    with store.engine.connect() as db:                              # a few bytes a point, whatever the run's length
        stored = db.execute(sa.select(board.runs.c.curve).order_by(board.runs.c.id)).scalars().first()
    assert len(stored) < 12 * board.CURVE_POINTS


def test_thinning_keeps_every_point_of_a_short_curve_and_the_ends_of_a_long_one():
    for length in (0, 1, 2, board.CURVE_POINTS, board.CURVE_POINTS + 1, 501, 10_007):
        steps = board.thin_steps(length)
        assert len(steps) == min(length, board.CURVE_POINTS)
        assert steps == sorted(set(steps)) and (not steps or (steps[0], steps[-1]) == (0, length - 1))
    assert board.thin_curve([1.0, float("nan"), float("inf"), 3.14159265]) == [1.0, None, None, 3.142]
    checked = RunPost("tensors", {}, "loss", 1.0, curve=tuple(range(1000))).checked()
    assert checked.checked() is checked and checked.curve_length == 1000 and len(checked.curve) == board.CURVE_POINTS
    altered = dataclasses.replace(checked, page="../etc")                   # a copy is not taken as checked
    with pytest.raises(CodedError):
        altered.checked()


def test_a_refused_post_in_a_group_commit_leaves_the_others_written(make_store):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    with store.batch():
        results = store.post_runs([(cls.code, seat.token, post(1.0)), (cls.code, "not a seat", post(2.0)),
                                   ("ZZZZZZ", seat.token, post(3.0)), (cls.code, seat.token, post(4.0))])
    assert [None if r is None else r.code for r in results] == [None, "board.not_in_class", "board.no_class", None]
    assert [r.value for r in store.read_board(cls.code, cls.teacher_key).runs] == [1.0, 4.0]


def test_a_group_commit_keeps_each_poster_s_bound_and_tells_seats_of_other_classes_apart(make_store, monkeypatch):
    store = make_store()
    first, second = store.create_class(), store.create_class()
    a, b = store.join(first.code, "A"), store.join(first.code, "B")
    elsewhere = store.join(second.code, "C")
    monkeypatch.setattr(board, "MAX_RUNS_PER_STUDENT", 3)
    store.post_run(first.code, a.token, post(0.0))
    store.post_run(first.code, a.token, post(1.0))
    # A holds 2 and posts 3 in one commit (past the bound: the oldest two go); B posts 1 (inside it); C's seat is in
    # the other class, so under the first class's code it is no seat at all
    results = store.post_runs([(first.code, a.token, post(2.0)), (first.code, b.token, post(10.0)),
                               (first.code, a.token, post(3.0)), (first.code, elsewhere.token, post(20.0)),
                               (second.code, elsewhere.token, post(30.0)), (first.code, a.token, post(4.0))])
    assert [None if r is None else r.code for r in results] == [None, None, None, "board.not_in_class", None, None]
    assert sorted(r.value for r in store.read_board(first.code, first.teacher_key).runs) == [2.0, 3.0, 4.0, 10.0]
    assert [r.value for r in store.read_board(second.code, second.teacher_key).runs] == [30.0]


def test_a_schema_1_database_is_brought_up_to_date_and_its_curves_still_read(make_store):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    with store.engine.begin() as db:                                # the database as schema 1 left it
        db.execute(sa.text("DROP INDEX board_runs_student_id"))
        db.execute(board.meta_table.update().values(value="1"))
        class_id = db.execute(sa.select(board.classes.c.id)).scalar_one()
        db.execute(board.runs.insert().values(
            class_id=class_id, student_id=seat.student, generation=0, page="tensors", settings="{}", metric="loss",
            value=1.0, time_limited=False, curve="[3.0, 2.0, 1.0]", link="", posted=0.0))
    assert "board_runs_student_id" not in {i["name"] for i in sa.inspect(store.engine).get_indexes("board_runs")}
    reopened = make_store()
    assert reopened.schema_version() == board.SCHEMA_VERSION == 2
    assert "board_runs_student_id" in {i["name"] for i in sa.inspect(reopened.engine).get_indexes("board_runs")}
    old = reopened.read_board(cls.code, cls.teacher_key).runs[0]
    assert old.curve == (3.0, 2.0, 1.0) and old.steps == (0, 1, 2)


def test_a_student_reads_back_their_own_prediction_and_nothing_of_the_others(make_store):
    store = make_store()
    cls = store.create_class()
    me, other = store.join(cls.code, "Otter"), store.join(cls.code, "Penguin")
    assert store.own_poll(cls.code, me.token, "lr", 1) == board.StudentPoll(None, None)
    store.answer(cls.code, other.token, "lr", 1, "diverges")
    assert store.own_poll(cls.code, me.token, "lr", 1) == board.StudentPoll(None, None)
    store.answer(cls.code, me.token, "lr", 1, "down")
    assert store.own_poll(cls.code, me.token, "lr", 1) == board.StudentPoll("down", None)
    assert store.own_poll(cls.code, me.token, "lr", 2).choice is None
    store.reveal(cls.code, cls.teacher_key, "lr", 1, "diverges")
    assert store.own_poll(cls.code, me.token, "lr", 1) == board.StudentPoll("down", "diverges")
    with pytest.raises(CodedError):
        store.own_poll(cls.code, "a guessed token", "lr", 1)


def test_the_board_reads_every_student_s_nickname_as_it_is_now(make_store):
    store = make_store()
    cls = store.create_class()
    seat = store.join(cls.code, "Otter")
    store.post_run(cls.code, seat.token, post())
    first = store.read_board(cls.code, cls.teacher_key)
    assert first.nicknames == {seat.student: "Otter"} and first.runs[0].nickname == "Otter"
    store.rename(cls.code, seat.token, "Neo")
    later = store.read_board(cls.code, cls.teacher_key, since=first.last_id, generation=first.generation)
    assert later.runs == [] and later.nicknames == {seat.student: "Neo"} and later.students == 1


def test_the_board_draws_each_thinned_point_at_its_own_step():
    from lib.figures import board_plots
    from tests.page_support import plotly_values

    checked = RunPost("tensors", {}, "loss", 1.0, curve=tuple(1.0 + 1 / (k + 1) for k in range(500))).checked()
    curve, steps = board.read_curve(checked.stored_curve())
    runs = [board.PostedRun(1, 1, "Otter", "tensors", {}, "loss", 1.0, None, False, curve, "", 0.0, steps),
            board.PostedRun(2, 2, "Seal", "tensors", {}, "loss", 1.0, None, False, (3.0, 2.0), "", 0.0)]
    xs = plotly_values(board_plots.latest_curves(runs, "en").to_plotly_json()["data"][0]["x"])
    assert xs[0] == 0 and xs[len(curve) - 1] == 499 and xs[len(curve):] == [None, 0, 1, None]
