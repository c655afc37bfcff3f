"""Posts to the class store written off the page's path: a page hands a post over and goes on; one thread per
process writes them in order. Every post ends sent or not sent (never silently dropped): while the database is
unreachable a post waits and is retried until its deadline, then it is reported as not sent."""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError, OperationalError

from lib.text.messages import CodedError

RETRY_FOR_S = 120.0        # how long a post waits for an unreachable database before it counts as not sent
BACKOFF_S = (0.25, 4.0)    # first and longest wait between tries
QUEUE_MAX = 5000           # posts waiting in one process; past that a post is not sent at once
BATCH_MAX = 200            # posts written in one commit


@dataclass
class Ticket:
    """One post's fate, for the page that made it."""
    what: str
    state: str = "waiting"      # waiting -> sent | refused (the store said no) | failed (never reached it)
    error: CodedError | None = None
    tries: int = 0
    made: float = field(default_factory=time.monotonic)
    finished: float | None = None   # time.monotonic() when its fate was known (for a sent post: its commit)
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def finish(self, state: str, error: CodedError | None = None) -> None:
        self.state, self.error, self.finished = state, error, time.monotonic()
        self.done.set()


class Outbox:
    """A queue of store calls and the thread that makes them. `store` is a callable giving the Store (opened on
    first use, so a database that is down at start costs nothing until a post)."""

    def __init__(self, store, retry_for_s: float = RETRY_FOR_S, backoff_s=BACKOFF_S, clock=time.monotonic):
        self.store, self.retry_for_s, self.backoff_s, self.clock = store, retry_for_s, backoff_s, clock
        self.queue: queue.Queue = queue.Queue(QUEUE_MAX)
        self.reachable = True       # the last try reached the database
        self.thread = threading.Thread(target=self._work, name="board-outbox", daemon=True)
        self.thread.start()

    def send_run(self, code: str, token: str, post) -> Ticket:
        """Queue one finished run; runs waiting together are written in one statement (Store.post_runs). The run is
        checked and its curve thinned here, in the page's thread, so the writer only writes."""
        try:
            post = post.checked()
        except CodedError as refusal:
            ticket = Ticket("run")
            ticket.finish("refused", refusal)
            return ticket
        return self.send("run", RunCall(code, token, post))

    def send(self, what: str, call) -> Ticket:
        """Queue `call(store)`; returns at once with its ticket."""
        ticket = Ticket(what)
        try:
            self.queue.put_nowait((ticket, call))
        except queue.Full:
            ticket.finish("failed")
        return ticket

    def _work(self) -> None:
        while True:
            items = [self.queue.get()]
            while len(items) < BATCH_MAX:          # every post that is already waiting goes in the same commit
                try:
                    items.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._deliver(items)

    def _deliver(self, pending: list) -> None:
        """Write `pending` in one transaction; while the database is unreachable, wait and try again, and give up on
        each post at its own deadline."""
        wait = self.backoff_s[0]
        while pending:
            outcomes = []
            try:
                store = self.store()
                with getattr(store, "batch", contextlib.nullcontext)():
                    grouped = [(ticket, call) for ticket, call in pending if isinstance(call, RunCall)]
                    if grouped and hasattr(store, "post_runs"):
                        refusals = store.post_runs([(c.code, c.token, c.post) for _, c in grouped])
                        for (ticket, _), refusal in zip(grouped, refusals):
                            ticket.tries += 1
                            outcomes.append((ticket, "sent" if refusal is None else "refused", refusal))
                    else:
                        grouped = []
                    for ticket, call in pending:
                        if grouped and isinstance(call, RunCall):
                            continue
                        ticket.tries += 1
                        try:
                            call(store)
                            outcomes.append((ticket, "sent", None))
                        except CodedError as refusal:      # the store refused it: final, no retry
                            outcomes.append((ticket, "refused", refusal))
            except (OperationalError, DBAPIError, OSError):
                self.reachable = False
                now = self.clock()
                for ticket, _ in pending:
                    if now - ticket.made + wait > self.retry_for_s:
                        ticket.finish("failed")
                pending = [(ticket, call) for ticket, call in pending if not ticket.done.is_set()]
                if pending:
                    time.sleep(wait)
                    wait = min(wait * 2, self.backoff_s[1])
                continue
            except Exception:                               # a bug must not stop the thread: these are not sent
                for ticket, _ in pending:
                    ticket.finish("failed")
                return
            self.reachable = True
            for ticket, state, error in outcomes:
                ticket.finish(state, error)
            return


@dataclass(frozen=True)
class RunCall:
    """A run to post: written with the others waiting (Store.post_runs), or alone as a plain call."""
    code: str
    token: str
    post: object

    def __call__(self, store) -> None:
        store.post_run(self.code, self.token, self.post)


class RateLimit:
    """A token bucket per session: `burst` posts at once, then one per `every_s`."""

    def __init__(self, burst: int = 10, every_s: float = 2.0, clock=time.monotonic):
        self.burst, self.every_s, self.clock = burst, every_s, clock
        self.tokens, self.at = float(burst), clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) / self.every_s)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
