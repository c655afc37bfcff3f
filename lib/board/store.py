"""The class store: classes, their students, posted runs, poll answers and reveals, in one SQL database.

SQLite by default (one file in the data folder, WAL, a busy timeout), PostgreSQL when CLASS_DB_URL names one, so
that replicas on several machines share one class. The schema is created and versioned when a store opens; classes
expire after CLASS_HOURS; every table is bounded (students per class, runs per student, live classes).

Secrets: join codes, teacher keys and student tokens come from `secrets`; keys and tokens are stored hashed and
compared in constant time. Every stored text is validated and bounded here, whatever the page checked before.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from lib.text.messages import CodedError

SCHEMA_VERSION = 2                      # 2: runs indexed by student (the bound on a student's runs), curves thinned
URL_ENV = "CLASS_DB_URL"
HOURS_ENV = "CLASS_HOURS"
DEFAULT_HOURS = 12.0                    # a school day, then the class and everything in it is deleted
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "classes.sqlite3"   # data/ is ignored by git
BUSY_TIMEOUT_MS = 5000                  # SQLite: a writer waits this long for another replica's write

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L: read aloud and typed from a projector
CODE_LENGTH = 6
MAX_LIVE_CLASSES = 500
MAX_STUDENTS = 60                       # per class
MAX_RUNS_PER_STUDENT = 100              # oldest deleted first
NICKNAME_MAX = 24
CHOICE_MAX = 64
NAME_MAX = 32                           # a page's or a lesson's id
SETTINGS_MAX = 12                       # entries of a run's settings
VALUE_MAX = 40                          # characters of one setting's value
CURVE_POINTS = 120                      # a posted curve is thinned to at most this many points
CURVE_DIGITS = 4                        # significant digits a stored curve point keeps (the board's hover shows 4)
CURVE_LENGTH_MAX = 10_000_000           # the longest curve a post may say it was thinned from
LINK_MAX = 1500
NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
PAGES = ("tensors", "autograd", "custom_function", "nn_module", "optim", "custom_module", "dynamic_net",
         "a_vs_b", "own_network", "mnist")
METRICS = ("loss", "accuracy")


def refuse(what: str, **values) -> CodedError:
    return CodedError(f"board.{what}", **values)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _matches(secret: str | None, stored: str) -> bool:
    return bool(secret) and hmac.compare_digest(_hash(secret), stored)


def clean_nickname(text: str) -> str:
    """A nickname as stored: printable, single spaces, 1..NICKNAME_MAX characters; refused otherwise."""
    text = " ".join(unicodedata.normalize("NFC", str(text)).split())      # newlines and tabs become spaces
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not text or len(text) > NICKNAME_MAX:
        raise refuse("bad_nickname", limit=NICKNAME_MAX)
    return text


def clean_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise refuse("bad_name")
    return name


def clean_choice(choice: str) -> str:
    choice = " ".join(str(choice).split())
    if not choice or len(choice) > CHOICE_MAX:
        raise refuse("bad_choice")
    return choice


def thin_steps(length: int, points: int = CURVE_POINTS) -> list[int]:
    """Which of a curve's `length` points (0-based steps) a thinned curve of at most `points` keeps: all of them, or
    `points` evenly spread with the first and the last."""
    if length <= points or points < 2:
        return list(range(min(length, points)))
    stride = (length - 1) / (points - 1)
    return [round(i * stride) for i in range(points)]


def thin_curve(losses) -> list[float | None]:
    """At most CURVE_POINTS points (those of thin_steps), each to CURVE_DIGITS significant digits: the board draws the
    curve as a thin line, and a run's final value and its divergence are stored exactly in fields of their own.
    Non-finite values become None."""
    values = [float(v) for v in losses]
    return [float(f"{values[k]:.{CURVE_DIGITS}g}") if math.isfinite(values[k]) else None
            for k in thin_steps(len(values))]


_CHECKED = object()                     # marks a RunPost that checked() returned: checking it again returns it


@dataclass(frozen=True)
class RunPost:
    """One finished run as a student's page posts it."""
    page: str                       # one of PAGES
    settings: dict                  # the settings that differ from the tutorial's: name -> number or short text
    metric: str                     # "loss" (lower is better) or "accuracy" (MNIST, higher is better)
    value: float | None             # final loss or accuracy; None when the run gave none
    diverged_at: int | None = None
    time_limited: bool = False
    curve: tuple = ()               # the loss (or accuracy) per step or epoch
    link: str = ""                  # the query string that opens this run
    curve_length: int | None = None  # set by checked(): how many points `curve` was thinned from
    _checked: object = field(default=None, init=False, compare=False, repr=False)   # set by checked() alone

    def checked(self) -> RunPost:
        """The post as stored: validated, bounded, its curve thinned (thin_curve). A checked post is its own check,
        so the outbox's writer does not check again what the page's thread checked."""
        if self._checked is _CHECKED:
            return self
        if self.page not in PAGES or self.metric not in METRICS:
            raise refuse("bad_name")
        settings = {}
        for key, value in list(self.settings.items())[:SETTINGS_MAX]:
            key = clean_name(str(key).lower())
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                value = str(value)[:VALUE_MAX]
            elif not math.isfinite(value):
                value = str(value)
            settings[key] = value
        value = self.value if self.value is not None and math.isfinite(self.value) else None
        diverged = int(self.diverged_at) if self.diverged_at is not None else None
        link = self.link if len(self.link) <= LINK_MAX and "\n" not in self.link else ""
        curve = tuple(thin_curve(self.curve))
        checked = RunPost(self.page, settings, self.metric, value, diverged, bool(self.time_limited), curve, link,
                          min(len(self.curve), CURVE_LENGTH_MAX))
        object.__setattr__(checked, "_checked", _CHECKED)   # a copy (dataclasses.replace) is checked again
        return checked

    def stored_curve(self) -> str:
        """The curve column: the thinned points and the length they were thinned from (the board draws each point at
        its step), compact JSON."""
        return json.dumps({"of": self.curve_length or len(self.curve), "v": list(self.curve)}, separators=(",", ":"))


def read_curve(text: str) -> tuple[tuple, tuple]:
    """A stored curve's points and the step (0-based) of each; a schema-1 row holds a plain list, one point a step."""
    stored = json.loads(text)
    if isinstance(stored, list):
        return tuple(stored), tuple(range(len(stored)))
    points = tuple(stored["v"])
    return points, tuple(thin_steps(max(int(stored["of"]), len(points)), len(points)))


@dataclass(frozen=True)
class PostedRun:
    id: int
    student: int                    # the student's row id (not their token)
    nickname: str
    page: str
    settings: dict
    metric: str
    value: float | None
    diverged_at: int | None
    time_limited: bool
    curve: tuple                    # thinned (thin_curve): for drawing; `value` and `diverged_at` are exact
    link: str
    posted: float
    steps: tuple = ()               # the step (0-based) of each point of `curve`


@dataclass(frozen=True)
class NewClass:
    code: str
    teacher_key: str                # shown once, to the teacher; only its hash is stored


@dataclass(frozen=True)
class Seat:
    code: str
    token: str                      # the student's secret, in their URL; only its hash is stored
    nickname: str
    student: int


@dataclass(frozen=True)
class StudentPoll:
    """One poll as one student may see it."""
    choice: str | None              # their own prediction, None before they made one
    answer: str | None              # the run's answer, None until the teacher reveals it


@dataclass
class BoardRead:
    """What the board shows, read since `since` (the last run id it had); `generation` changes when cleared."""
    code: str
    generation: int
    closed: bool
    students: int
    ran: int                        # students with at least one run
    runs: list[PostedRun]           # new since `since`, oldest first
    last_id: int
    nicknames: dict = field(default_factory=dict)  # every student in the class: row id -> nickname as it is now
    answers: dict = field(default_factory=dict)    # (lesson, step) -> {choice: count}
    reveals: dict = field(default_factory=dict)    # (lesson, step) -> the run's answer


metadata = sa.MetaData()
meta_table = sa.Table("board_meta", metadata,
                      sa.Column("key", sa.String(32), primary_key=True),
                      sa.Column("value", sa.String(64), nullable=False))
classes = sa.Table("board_classes", metadata,
                   sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                   sa.Column("code", sa.String(CODE_LENGTH), nullable=False, unique=True),
                   sa.Column("teacher_hash", sa.String(64), nullable=False),
                   sa.Column("created", sa.Float, nullable=False),
                   sa.Column("expires", sa.Float, nullable=False, index=True),
                   sa.Column("closed", sa.Boolean, nullable=False, default=False),
                   sa.Column("generation", sa.Integer, nullable=False, default=0))
students = sa.Table("board_students", metadata,
                    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("class_id", sa.ForeignKey("board_classes.id", ondelete="CASCADE"), nullable=False),
                    sa.Column("token_hash", sa.String(64), nullable=False),
                    sa.Column("nickname", sa.String(NICKNAME_MAX), nullable=False),
                    sa.Column("joined", sa.Float, nullable=False),
                    sa.UniqueConstraint("class_id", "token_hash"))
runs = sa.Table("board_runs", metadata,
                sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("class_id", sa.ForeignKey("board_classes.id", ondelete="CASCADE"), nullable=False),
                sa.Column("student_id", sa.ForeignKey("board_students.id", ondelete="CASCADE"), nullable=False),
                sa.Column("generation", sa.Integer, nullable=False),
                sa.Column("page", sa.String(NAME_MAX), nullable=False),
                sa.Column("settings", sa.Text, nullable=False),
                sa.Column("metric", sa.String(8), nullable=False),
                sa.Column("value", sa.Float),
                sa.Column("diverged_at", sa.Integer),
                sa.Column("time_limited", sa.Boolean, nullable=False),
                sa.Column("curve", sa.Text, nullable=False),
                sa.Column("link", sa.Text, nullable=False),
                sa.Column("posted", sa.Float, nullable=False),
                sa.Index("board_runs_class_id", "class_id", "id"),
                sa.Index("board_runs_student_id", "student_id", "id"))   # schema 2: a student's runs, counted per post
answers = sa.Table("board_answers", metadata,
                   sa.Column("class_id", sa.ForeignKey("board_classes.id", ondelete="CASCADE"), primary_key=True),
                   sa.Column("student_id", sa.ForeignKey("board_students.id", ondelete="CASCADE"), primary_key=True),
                   sa.Column("lesson", sa.String(NAME_MAX), primary_key=True),
                   sa.Column("step", sa.Integer, primary_key=True),
                   sa.Column("choice", sa.String(CHOICE_MAX), nullable=False),
                   sa.Column("posted", sa.Float, nullable=False))
reveals = sa.Table("board_reveals", metadata,
                   sa.Column("class_id", sa.ForeignKey("board_classes.id", ondelete="CASCADE"), primary_key=True),
                   sa.Column("lesson", sa.String(NAME_MAX), primary_key=True),
                   sa.Column("step", sa.Integer, primary_key=True),
                   sa.Column("answer", sa.String(CHOICE_MAX), nullable=False),
                   sa.Column("revealed", sa.Float, nullable=False))


def database_url() -> str:
    """CLASS_DB_URL, else the SQLite file in the data folder (a server setting, never a visitor's)."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    DEFAULT_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_PATH}"


def class_hours() -> float:
    try:
        hours = float(os.environ.get(HOURS_ENV, DEFAULT_HOURS))
    except ValueError:
        return DEFAULT_HOURS
    return hours if 0 < hours <= 24 * 7 else DEFAULT_HOURS


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None     # SQLAlchemy's "begin" below starts every transaction itself
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _seats_of_posts() -> sa.Select:
    """The classes a group commit's posts name, each seat named in them and the runs it holds, in one statement (one
    round trip while 30 pages' threads hold the GIL): a class without a matching seat comes back once with no seat.
    Built once, its lists bound when it runs: a statement built per commit spent about half of the commit's CPU on
    SQLAlchemy's cache key."""
    own_runs = sa.select(sa.func.count()).where(runs.c.student_id == students.c.id).scalar_subquery()
    return sa.select(classes.c.id, classes.c.code, classes.c.expires, classes.c.closed, classes.c.generation,
                     students.c.id.label("seat"), students.c.token_hash, own_runs.label("held")) \
        .select_from(classes.outerjoin(students, sa.and_(
            students.c.class_id == classes.c.id, students.c.token_hash.in_(sa.bindparam("tokens", expanding=True))))) \
        .where(classes.c.code.in_(sa.bindparam("codes", expanding=True)))


_SEATS_OF_POSTS = _seats_of_posts()


class Store:
    """One database; every method is one short transaction. Thread-safe (SQLAlchemy's pool)."""

    def __init__(self, url: str | None = None, hours: float | None = None, clock=time.time):
        self.url = url or database_url()
        self.hours = hours if hours is not None else class_hours()
        self.clock = clock
        sqlite = self.url.startswith("sqlite")
        self.engine = sa.create_engine(
            self.url, pool_pre_ping=not sqlite,
            connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False} if sqlite
            else {"connect_timeout": 3})
        # SQLite: a write takes the database's write lock when it begins (BEGIN IMMEDIATE), so a busy database makes
        # it wait (busy timeout) instead of failing when a read turns into a write; one writer per process at a time
        self.sqlite = sqlite
        self._local = threading.local()
        self._writer = threading.Lock() if sqlite else contextlib.nullcontext()
        if sqlite:
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin",
                            lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("write", False)
                                                              else "BEGIN"))
        self._create_schema()

    @contextlib.contextmanager
    def _write(self, savepoint: bool = True):
        """One write transaction; inside `batch()`, a savepoint of the batch's transaction (`savepoint=False`: the
        batch's transaction itself, for a call that refuses without raising)."""
        batch = getattr(self._local, "batch", None)
        if batch is not None:
            with batch.begin_nested() if savepoint else contextlib.nullcontext():
                yield batch
            return
        with self._writer, self.engine.connect() as db:
            db.info["write"] = True
            with db.begin():
                yield db

    @contextlib.contextmanager
    def batch(self):
        """Every write this thread makes inside is one transaction, each its own savepoint (a refused one rolls back
        alone): the outbox's group commit, one commit for every post that arrived together."""
        with self._writer, self.engine.connect() as db:
            db.info["write"] = True
            with db.begin():
                self._local.batch = db
                try:
                    yield
                finally:
                    self._local.batch = None

    def _create_schema(self) -> None:
        """Create the tables once and record the schema's version; a newer schema than this code's is refused, an
        older one brought up to date (1 -> 2: the index on a student's runs; schema 1's plain-list curves still read).
        Two replicas starting at once may both try: the loser of the race finds the tables made."""
        for attempt in range(3):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                with self._write() as db:
                    row = db.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema")).first()
                    if row is None:
                        db.execute(meta_table.insert().values(key="schema", value=str(SCHEMA_VERSION)))
                    elif int(row.value) > SCHEMA_VERSION:
                        raise refuse("schema_newer", found=row.value, known=SCHEMA_VERSION)
                    elif int(row.value) < SCHEMA_VERSION:
                        for index in runs.indexes:
                            index.create(db, checkfirst=True)
                        db.execute(meta_table.update().where(meta_table.c.key == "schema")
                                   .values(value=str(SCHEMA_VERSION)))
                return
            except (IntegrityError, ProgrammingError, OperationalError):
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def schema_version(self) -> int:
        with self.engine.connect() as db:
            return int(db.execute(sa.select(meta_table.c.value).where(meta_table.c.key == "schema")).scalar_one())

    def dispose(self) -> None:
        self.engine.dispose()

    # --- the teacher ------------------------------------------------------------------------------------------

    def create_class(self) -> NewClass:
        now = self.clock()
        self.expire()
        with self._write() as db:
            live = db.execute(sa.select(sa.func.count()).select_from(classes)).scalar_one()
            if live >= MAX_LIVE_CLASSES:
                raise refuse("too_many_classes", limit=MAX_LIVE_CLASSES)
        key = secrets.token_urlsafe(18)
        for _ in range(8):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                with self._write() as db:
                    db.execute(classes.insert().values(code=code, teacher_hash=_hash(key), created=now,
                                                       expires=now + self.hours * 3600, closed=False, generation=0))
                return NewClass(code, key)
            except IntegrityError:   # that code is taken: draw another
                continue
        raise refuse("too_many_classes", limit=MAX_LIVE_CLASSES)

    def _class(self, db, code: str):
        code = normalise_code(code)
        row = db.execute(sa.select(classes).where(classes.c.code == code)).first()
        if row is None or row.expires <= self.clock():
            raise refuse("no_class", given=code)
        return row

    def _teacher_class(self, db, code: str, key: str | None):
        row = self._class(db, code)
        if not _matches(key, row.teacher_hash):
            raise refuse("not_teacher")
        return row

    def is_teacher(self, code: str, key: str | None) -> bool:
        try:
            with self.engine.connect() as db:
                self._teacher_class(db, code, key)
            return True
        except CodedError:
            return False

    def close_class(self, code: str, key: str | None) -> None:
        with self._write() as db:
            row = self._teacher_class(db, code, key)
            db.execute(classes.update().where(classes.c.id == row.id).values(closed=True))

    def reopen_class(self, code: str, key: str | None) -> None:
        with self._write() as db:
            row = self._teacher_class(db, code, key)
            db.execute(classes.update().where(classes.c.id == row.id).values(closed=False))

    def clear_class(self, code: str, key: str | None) -> None:
        """Delete every run, answer and reveal; students stay. The board starts again (a new generation)."""
        with self._write() as db:
            row = self._teacher_class(db, code, key)
            for table in (runs, answers, reveals):
                db.execute(table.delete().where(table.c.class_id == row.id))
            db.execute(classes.update().where(classes.c.id == row.id).values(generation=row.generation + 1))

    def reveal(self, code: str, key: str | None, lesson: str, step: int, answer: str) -> None:
        lesson, answer = clean_name(lesson), clean_choice(answer)
        with self._write() as db:
            row = self._teacher_class(db, code, key)
            db.execute(reveals.delete().where(sa.and_(reveals.c.class_id == row.id, reveals.c.lesson == lesson,
                                                      reveals.c.step == int(step))))
            db.execute(reveals.insert().values(class_id=row.id, lesson=lesson, step=int(step), answer=answer,
                                               revealed=self.clock()))

    def read_board(self, code: str, key: str | None, since: int = 0, generation: int | None = None) -> BoardRead:
        """The teacher's board: counts, the runs posted after run id `since`, poll counts and reveals. A board
        whose `generation` is not the class's (it was cleared) gets every run again."""
        with self.engine.connect() as db:
            row = self._teacher_class(db, code, key)
            if generation is not None and generation != row.generation:
                since = 0
            nicknames = dict(db.execute(sa.select(students.c.id, students.c.nickname)
                                        .where(students.c.class_id == row.id)).all())
            ran = db.execute(sa.select(sa.func.count(sa.distinct(runs.c.student_id)))
                             .where(runs.c.class_id == row.id)).scalar_one()
            new = db.execute(sa.select(runs, students.c.nickname).join(students, students.c.id == runs.c.student_id)
                             .where(sa.and_(runs.c.class_id == row.id, runs.c.id > since))
                             .order_by(runs.c.id)).all()
            polls: dict = {}
            for lesson, step, choice, n in db.execute(
                    sa.select(answers.c.lesson, answers.c.step, answers.c.choice, sa.func.count())
                    .where(answers.c.class_id == row.id)
                    .group_by(answers.c.lesson, answers.c.step, answers.c.choice)):
                polls.setdefault((lesson, step), {})[choice] = n
            shown = {(r.lesson, r.step): r.answer
                     for r in db.execute(sa.select(reveals).where(reveals.c.class_id == row.id))}
        posted = []
        for r in new:
            curve, steps = read_curve(r.curve)
            posted.append(PostedRun(r.id, r.student_id, r.nickname, r.page, json.loads(r.settings), r.metric, r.value,
                                    r.diverged_at, r.time_limited, curve, r.link, r.posted, steps))
        return BoardRead(row.code, row.generation, row.closed, len(nicknames), ran, posted,
                         posted[-1].id if posted else since, nicknames, polls, shown)

    # --- a student --------------------------------------------------------------------------------------------

    def join(self, code: str, nickname: str, token: str | None = None) -> Seat:
        """A student's seat: the one `token` names, or a new one (with a new token) when it names none."""
        nickname = clean_nickname(nickname)
        with self._write() as db:
            row = self._class(db, code)
            if token:
                seat = db.execute(sa.select(students).where(sa.and_(
                    students.c.class_id == row.id, students.c.token_hash == _hash(token)))).first()
                if seat is not None:
                    return Seat(row.code, token, seat.nickname, seat.id)
            if row.closed:
                raise refuse("closed")
            count = db.execute(sa.select(sa.func.count()).select_from(students)
                               .where(students.c.class_id == row.id)).scalar_one()
            if count >= MAX_STUDENTS:
                raise refuse("full", limit=MAX_STUDENTS)
            token = secrets.token_urlsafe(12)
            new_id = db.execute(students.insert().values(class_id=row.id, token_hash=_hash(token), nickname=nickname,
                                                         joined=self.clock())).inserted_primary_key[0]
            return Seat(row.code, token, nickname, new_id)

    def _seat(self, db, code: str, token: str | None):
        row = self._class(db, code)
        seat = db.execute(sa.select(students).where(sa.and_(
            students.c.class_id == row.id, students.c.token_hash == _hash(token or "")))).first()
        if seat is None:
            raise refuse("not_in_class")
        return row, seat

    def seat(self, code: str, token: str | None) -> Seat:
        with self.engine.connect() as db:
            row, seat = self._seat(db, code, token)
        return Seat(row.code, token, seat.nickname, seat.id)

    def rename(self, code: str, token: str | None, nickname: str) -> Seat:
        nickname = clean_nickname(nickname)
        with self._write() as db:
            row, seat = self._seat(db, code, token)
            db.execute(students.update().where(students.c.id == seat.id).values(nickname=nickname))
        return Seat(row.code, token, nickname, seat.id)

    def leave(self, code: str, token: str | None) -> None:
        """The student and everything they posted go."""
        with self._write() as db:
            row, seat = self._seat(db, code, token)
            for table in (runs, answers):
                db.execute(table.delete().where(table.c.student_id == seat.id))
            db.execute(students.delete().where(students.c.id == seat.id))

    def post_run(self, code: str, token: str | None, post: RunPost) -> None:
        """Store one finished run (validated, bounded: a student's oldest runs go past MAX_RUNS_PER_STUDENT)."""
        refused = self.post_runs([(code, token, post)])[0]
        if refused is not None:
            raise refused

    def post_runs(self, posts: list[tuple[str, str | None, RunPost]]) -> list[CodedError | None]:
        """Store several runs in one transaction, a few statements whatever their number (the outbox's group commit:
        a class pressing Train together is one write); per post, None or why it was refused. Per commit: the classes
        and the seats named with the runs each holds (one select, on the unique and the student indexes), one insert of
        every run, and a delete only for a poster this commit takes past its bound; no savepoint: a refusal is
        returned, not raised."""
        results: list[CodedError | None] = [None] * len(posts)
        checked = []
        for i, (code, token, post) in enumerate(posts):
            try:
                checked.append((i, normalise_code(code), _hash(token or ""), post.checked()))
            except CodedError as refusal:
                results[i] = refusal
        if not checked:
            return results
        now = self.clock()
        codes, tokens = {code for _, code, _, _ in checked}, {token for _, _, token, _ in checked}
        with self._write(savepoint=False) as db:
            found, seats, held = {}, {}, {}
            for r in db.execute(_SEATS_OF_POSTS, {"codes": sorted(codes), "tokens": sorted(tokens)}):
                found[r.code] = r
                if r.seat is not None:
                    seats[(r.id, r.token_hash)], held[r.seat] = r.seat, r.held
            rows, posted_by = [], {}
            for i, code, token, post in checked:
                row = found.get(code)
                seat = seats.get((row.id, token)) if row is not None else None
                if row is None or row.expires <= now:
                    results[i] = refuse("no_class", given=code)
                elif seat is None:
                    results[i] = refuse("not_in_class")
                elif row.closed:
                    results[i] = refuse("closed")
                else:
                    posted_by[seat] = posted_by.get(seat, 0) + 1
                    rows.append(dict(class_id=row.id, student_id=seat, generation=row.generation, page=post.page,
                                     settings=json.dumps(post.settings, separators=(",", ":")), metric=post.metric,
                                     value=post.value, diverged_at=post.diverged_at, time_limited=post.time_limited,
                                     curve=post.stored_curve(), link=post.link, posted=now))
            if rows:
                db.execute(runs.insert(), rows)
                # the bound on each poster's runs: only those this commit takes past it drop their oldest
                for student in (s for s, n in posted_by.items() if held[s] + n > MAX_RUNS_PER_STUDENT):
                    keep = sa.select(runs.c.id).where(runs.c.student_id == student).order_by(runs.c.id.desc()) \
                        .limit(MAX_RUNS_PER_STUDENT).scalar_subquery()
                    db.execute(runs.delete().where(sa.and_(runs.c.student_id == student, runs.c.id.not_in(keep))))
        return results

    def answer(self, code: str, token: str | None, lesson: str, step: int, choice: str) -> None:
        """A student's prediction for a lesson's step (their latest one counts)."""
        lesson, choice = clean_name(lesson), clean_choice(choice)
        with self._write() as db:
            row, seat = self._seat(db, code, token)
            if row.closed:
                raise refuse("closed")
            db.execute(answers.delete().where(sa.and_(answers.c.class_id == row.id, answers.c.student_id == seat.id,
                                                      answers.c.lesson == lesson, answers.c.step == int(step))))
            db.execute(answers.insert().values(class_id=row.id, student_id=seat.id, lesson=lesson, step=int(step),
                                               choice=choice, posted=self.clock()))

    def own_poll(self, code: str, token: str | None, lesson: str, step: int) -> StudentPoll:
        """What a student's lesson page reads of a poll, in one read: their own prediction (a reload shows it again)
        and the run's answer once the teacher revealed it."""
        lesson, step = clean_name(lesson), int(step)
        with self.engine.connect() as db:
            row, seat = self._seat(db, code, token)
            choice = db.execute(sa.select(answers.c.choice).where(sa.and_(
                answers.c.class_id == row.id, answers.c.student_id == seat.id, answers.c.lesson == lesson,
                answers.c.step == step))).scalar()
            answer = db.execute(sa.select(reveals.c.answer).where(sa.and_(
                reveals.c.class_id == row.id, reveals.c.lesson == lesson, reveals.c.step == step))).scalar()
        return StudentPoll(choice, answer)

    # --- housekeeping -----------------------------------------------------------------------------------------

    def expire(self) -> int:
        """Delete the classes past their hours, with all they hold; how many went."""
        now = self.clock()
        with self._write() as db:
            old = [r.id for r in db.execute(sa.select(classes.c.id).where(classes.c.expires <= now))]
            for table in (runs, answers, reveals, students):
                db.execute(table.delete().where(table.c.class_id.in_(old)))
            db.execute(classes.delete().where(classes.c.id.in_(old)))
        return len(old)

    def counts(self) -> dict[str, int]:
        """Rows per table (tests, benchmarks)."""
        with self.engine.connect() as db:
            return {t.name: db.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in (classes, students, runs, answers, reveals)}


def normalise_code(code: str) -> str:
    """A join code as typed: case and spaces do not matter; anything else outside the alphabet is refused."""
    code = "".join(str(code).split()).upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        raise refuse("no_class", given=code[:CODE_LENGTH + 2])
    return code
