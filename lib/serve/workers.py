"""Runs that train or compute for a page go to worker processes: one pool per server, one run per worker.

Why processes: torch's random generator is process-wide, so seeding and drawing in one process per run keeps
every run reproducible without a lock across sessions; runs of different sessions use every core; and a run that
overruns its time limit can be stopped by ending its process. The pool is pebble's `ProcessPool`: unlike
`concurrent.futures.ProcessPoolExecutor` and loky, it ends one task's worker on a timeout or a cancel and starts a
fresh one while the other workers go on (the others break or keep the overrunning task running). Workers start
from a forkserver that has imported torch and lib once, so a replacement starts in milliseconds.

A job is a plain function of lib.serve.jobs, called in a worker as `fn(*args, progress=..., time_limit_s=...)`, in
a thread of its own whose priority drops once its page's work has run DEMOTE_AFTER_S (long work gives way).
`progress(message)` sends a small picklable message over the job's own pipe (a killed worker can only break its
own pipe); the page's thread reads it while it waits. Results travel back pickled to bytes, so tensors cross as
plain data, not as shared-memory handles. Finished results are kept in bounded caches shared by every session,
and a job asked for by several sessions at once runs once.
"""
from __future__ import annotations

import math
import multiprocessing
import multiprocessing.connection
import multiprocessing.spawn
import os
import pickle
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import pebble

WORKERS_ENV = "TRAIN_WORKERS"        # how many runs at once; default: the cores this process may use
TIME_LIMIT_ENV = "RUN_TIME_LIMIT_S"  # wall-clock seconds one run may take; default DEFAULT_TIME_LIMIT_S
# bench/caps.py: the slowest run the sliders allow takes 2-4 s on a 2-core server with one worker per core,
# and ~6 s with a class training beside it; 15 s leaves room for a busy server and still frees a worker soon.
DEFAULT_TIME_LIMIT_S = 15.0
# a run checks the clock between steps; one that does not stop by itself this long after its limit is ended
KILL_GRACE_S = 5.0
_WAKE = "__done__"                   # what the parent writes into a job's pipe when its result is in
POLL_S = 0.1                         # how often a waiting page looks for progress and lets Streamlit interrupt it
TURN_GRACE_S = 2.0                   # a session's next run this soon after its last keeps its place in line
FORGET_S = 60.0                      # a session idle this long leaves the queue's books


class RunFailed(RuntimeError):
    """A run that gave no result: its worker was ended (time limit, crash) or the job raised.

    `code` names the case for the page's message (locales/*.toml), `messages` holds the progress it sent.
    """

    def __init__(self, code: str, detail: str = "", messages: list | None = None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail, self.messages = code, detail, messages or []


def worker_count() -> int:
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        return max(1, int(text))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def time_limit_s() -> float:
    text = os.environ.get(TIME_LIMIT_ENV, "").strip()
    return float(text) if text else DEFAULT_TIME_LIMIT_S


# ---------------------------------------------------------------- inside a worker
# glibc's malloc hands every block over its mmap threshold (128 KB at first, raised as blocks are freed) straight
# to the kernel and back, so a run with N×H activations of megabytes faulted fresh pages in at every step: the
# first big run of a worker took up to twice as long as the same run again (bench/caps.py). Workers keep blocks up
# to 32 MB (glibc's maximum) in their heap and give freed memory back past 64 MB of it (as fast as 128 or 512 MB
# at the caps, so a worker holds little after a big run).
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3      # mallopt's parameter numbers (malloc.h)
allocator_tuned = False                            # whether this process's malloc took the settings above


def tune_allocator() -> bool:
    """Apply MMAP_THRESHOLD and TRIM_THRESHOLD with glibc's mallopt; False where there is no glibc (nothing done)."""
    import ctypes
    import ctypes.util
    global allocator_tuned
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    allocator_tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return allocator_tuned


torch_threads = 1   # torch's threads in this worker (_init_worker)


def _init_worker(threads: int) -> None:
    import torch
    global torch_threads
    torch_threads = threads
    torch.set_num_threads(threads)
    tune_allocator()


def start_like_a_worker(threads: int = 1) -> None:
    """Make this process what a worker is when its first job comes: the forkserver's modules imported, then
    _init_worker's settings (benchmarks that time runs as the workers run them)."""
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    _init_worker(threads)


# A page's work that is still going DEMOTE_AFTER_S after its first run started is long (a sweep, Compare at the
# caps, MNIST): the thread of its run, and of each of its runs that starts later, gets DEMOTED_NICE added to its
# nice value. A student's slider rerun (a fraction of a second) and the Streamlit process drawing it then take the
# cores first, while the long work still gets every cycle nobody else wants (bench/isolation.py). Linux keeps a
# nice value per thread, so each job runs in a thread of its own and the worker's next job starts at the normal
# priority again (an unprivileged process may raise its nice value, never lower it). Elsewhere the nice value is
# the whole process's: runs are not demoted there.
DEMOTE_AFTER_S = 0.5
DEMOTED_NICE = 5
JOIN_S = 0.2   # the worker's main thread wakes this often while its job runs, so pebble's SIGTERM handler runs


def demote(thread_id: int) -> bool:
    """Raise one thread's nice value by DEMOTED_NICE (at most 19); False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, os.getpriority(os.PRIO_PROCESS, thread_id) + DEMOTED_NICE))
    except OSError:
        return False
    return True


def _execute(fn: Callable, args: tuple, kwargs: dict, conn, limit: float, demote_in: float = math.inf) -> bytes:
    """Runs in the worker: call the job with a progress sender in a thread of its own (demoted once it has run
    `demote_in` seconds), return its result pickled."""
    def progress(message) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):   # nobody listens any more (the page went away): keep computing
            pass

    outcome: dict[str, Any] = {}
    at_once = demote_in <= 0   # a later run of a long batch gives way from its first step

    def call() -> None:
        if at_once:
            demote(threading.get_native_id())
        try:
            # OpenMP's thread count is per thread: a new thread's BLAS calls would use every core (and sum in
            # another order, so the same seed would not give the same numbers) until torch is told again
            import torch
            torch.set_num_threads(torch_threads)
            outcome["result"] = pickle.dumps(fn(*args, progress=progress, time_limit_s=limit, **kwargs),
                                             protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as err:   # handed to the main thread, which raises it for pebble
            outcome["error"] = err

    job = threading.Thread(target=call, name="job", daemon=True)
    deadline = time.monotonic() + demote_in
    job.start()
    demoted = at_once
    try:
        while job.is_alive():
            if not demoted and time.monotonic() >= deadline:
                demote(job.native_id)
                demoted = True
            job.join(JOIN_S if demoted else min(JOIN_S, max(0.0, deadline - time.monotonic())))
    finally:
        conn.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


# ---------------------------------------------------------------- the pool
def _without_main(get_preparation_data):
    """Streamlit runs every page as the module __main__ with the page's file: a new process would import that
    file as its own main module, i.e. run the page (and start a pool in the worker). Our workers need only lib,
    so theirs leave the parent's main module out. Other processes are untouched."""
    def wrapper(name):
        data = get_preparation_data(name)
        if name == WORKER_NAME:
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data
    wrapper.wraps_for_workers = True
    return wrapper


WORKER_NAME = pebble.pool.process.WORKERS_NAME
if not getattr(multiprocessing.spawn.get_preparation_data, "wraps_for_workers", False):
    multiprocessing.spawn.get_preparation_data = _without_main(multiprocessing.spawn.get_preparation_data)
# what the forkserver imports once for every worker (lib.serve.jobs itself imports these only when a job runs, so a
# page that imports lib.serve.jobs to name a job pays for none of them). torch._dynamo: every torch.optim optimizer
# imports it when it is first built (2-4 s here); torchvision (lib.digits.mnist) imports it too today, named here so
# that a fresh worker's first run of stages 4-7 never pays for it (bench/caps.py's fresh processes import this list)
PRELOAD = ["torch", "torch._dynamo", "lib.serve.jobs", "lib.tutorial.stages", "lib.tutorial.gradients",
           "lib.explore.experiments", "lib.explore.optim_internals", "lib.digits.mnist"]
_pool: pebble.ProcessPool | None = None
_pool_lock = threading.Lock()


def pool() -> pebble.ProcessPool:
    """The server's pool, started on first use (workers come up in the background)."""
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.active:
            context = multiprocessing.get_context("forkserver")
            # the forkserver imports these once; every worker (and every replacement) starts with them loaded
            context.set_forkserver_preload(PRELOAD)
            threads = int(os.environ.get("TORCH_THREADS", "1"))
            _pool = pebble.ProcessPool(max_workers=worker_count(), initializer=_init_worker, initargs=(threads,),
                                       context=context)
        return _pool


class FairQueue:
    """Hands jobs to the pool only as workers come free, the owner with the fewest running jobs first.

    pebble takes tasks first come, first served: one student's learning-rate sweep (30 runs) would fill every
    worker and queue the whole class behind it. Here each owner (a session) gets a turn: a new job of an owner
    with nothing running goes before the sweep's next run; and an owner who already has a run going may not
    take the last free worker, so a student who moves a slider meanwhile starts at once. (On 2 workers a
    sweep's runs go one after another; on more cores they spread over all but one.)

    Among owners with as many runs going, the one whose turn began first goes first: a page asks for its runs one
    after another (training, then the gradients, then the graph), and its next run keeps the place in line of
    the first while it follows within TURN_GRACE_S. A class that moves a slider at once is then served page by
    page, and the server draws one page while the workers train the next (bench/load.py), instead of every
    page waiting for every other page's training before any could finish.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: list[Job] = []
        self._running: dict[Hashable, int] = {}
        self._turn: dict[Hashable, float] = {}       # when the owner's turn began
        self._last_end: dict[Hashable, float] = {}   # when the owner's last run ended

    def submit(self, job: "Job") -> None:
        with self._lock:
            now = time.monotonic()
            busy = job.owner in self._running or any(j.owner == job.owner for j in self._waiting)
            following = now - self._last_end.get(job.owner, -math.inf) < TURN_GRACE_S
            if not (busy or following) or job.owner not in self._turn:
                self._turn[job.owner] = now
            for owner in [o for o, end in self._last_end.items() if now - end > FORGET_S and o not in self._running]:
                del self._last_end[owner]
                self._turn.pop(owner, None)
            self._waiting.append(job)
        self._dispatch()

    def withdraw(self, job: "Job") -> bool:
        """Take a job that has not started out of the queue; False if it already runs."""
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                return True
            return False

    def ended(self, job: "Job") -> None:
        with self._lock:
            self._running[job.owner] -= 1
            if not self._running[job.owner]:
                del self._running[job.owner]
            self._last_end[job.owner] = time.monotonic()
        self._dispatch()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                busy, workers = sum(self._running.values()), worker_count()
                if not self._waiting or busy >= workers:
                    return
                # fewest runs going, then the earliest turn, then the oldest job (min keeps list order on ties)
                job = min(self._waiting, key=lambda j: (self._running.get(j.owner, 0), self._turn.get(j.owner, 0.0)))
                if self._running.get(job.owner, 0) and busy + 1 >= workers:
                    return   # the last free worker stays free for someone with nothing running
                self._waiting.remove(job)
                self._running[job.owner] = self._running.get(job.owner, 0) + 1
            job._start()

    def running(self) -> int:
        with self._lock:
            return sum(self._running.values())


QUEUE = FairQueue()


@dataclass(eq=False)
class Batch:
    """The runs one page asks for at once (JobCache.get_many): they give way together DEMOTE_AFTER_S after the
    first of them started."""
    started: float | None = None

    def demote_in(self) -> float:
        """Seconds until a run of this batch that starts now gives way (0: at once); marks the batch started."""
        now = time.monotonic()
        if self.started is None:
            self.started = now
        return max(0.0, self.started + DEMOTE_AFTER_S - now)


@dataclass(eq=False)
class Job:
    """One run: queued (QUEUE), then in a worker; its result future, progress pipe and messages so far."""
    fn: Callable
    args: tuple
    kwargs: dict = field(default_factory=dict)
    owner: Hashable = None            # who asked (a session): QUEUE shares the workers fairly between owners
    limit: float = field(default_factory=time_limit_s)
    batch: Batch = field(default_factory=Batch)

    def __post_init__(self):
        self._reader, self._writer = multiprocessing.Pipe(duplex=False)
        self.messages: list = []
        self.waiters = 0
        self._lock = threading.Lock()
        self._closed = False
        self.future: Future = Future()         # the job's outcome, whether it ran, was cancelled or failed
        self._task: Future | None = None       # pebble's, once a worker has it
        if self.owner is None:
            self.owner = id(self)
        self.future.add_done_callback(self._wake)
        QUEUE.submit(self)

    def _start(self) -> None:
        # pebble pickles the task (and the writer with it) when a worker takes it, so the writer stays open
        # here until the job is done; the end of the job is the future's, not the pipe's EOF
        try:
            self._task = pool().schedule(_execute, (self.fn, self.args, self.kwargs, self._writer, self.limit,
                                                    self.batch.demote_in()), timeout=self.limit + KILL_GRACE_S)
        except Exception as err:   # the pool could not take it (shutting down): the job fails, others go on
            self.future.set_exception(err)
            QUEUE.ended(self)
            return
        self._task.add_done_callback(self._task_done)

    def _task_done(self, task: Future) -> None:
        QUEUE.ended(self)
        if task.cancelled():
            self.future.cancel()
        elif task.exception() is not None:
            self.future.set_exception(task.exception())
        else:
            self.future.set_result(task.result())

    @property
    def started(self) -> bool:
        return self._task is not None

    def _wake(self, _future) -> None:
        """Wakes a page waiting on the pipe as soon as the result is in (pebble's thread calls this)."""
        with self._lock:
            if not self._closed:
                try:
                    self._writer.send(_WAKE)
                except OSError:
                    pass

    def drain(self) -> list:
        """Read what the worker has sent since last time; the new messages."""
        with self._lock:
            if self._closed:
                return []
            done = self.future.done()   # read first: whatever the job sent before it ended is in the pipe now
            new = []
            try:
                while self._reader.poll(0):
                    new.append(self._reader.recv())
            except (EOFError, OSError):
                done = True
            if done:
                self._closed = True
                self._reader.close()
                self._writer.close()
            new = [message for message in new if message != _WAKE]
            self.messages += new
        return new

    @property
    def finished(self) -> bool:
        return self._closed

    def result(self) -> Any:
        try:
            return pickle.loads(self.future.result())
        except TimeoutError:
            raise RunFailed("run.killed_time", f"ended after {self.limit + KILL_GRACE_S:.0f} s",
                            self.messages) from None
        except pebble.ProcessExpired as err:
            raise RunFailed("run.crashed", f"exit code {err.exitcode}", self.messages) from None
        except CancelledError:
            raise RunFailed("run.cancelled", "", self.messages) from None
        except Exception as err:   # the job itself raised: its type and message, for the page and the log
            raise RunFailed("run.error", f"{type(err).__name__}: {err}", self.messages) from err

    def cancel(self) -> None:
        if QUEUE.withdraw(self):
            self.future.cancel()
        elif self._task is not None:
            self._task.cancel()   # a running task's worker is ended and replaced


def wait_jobs(jobs: dict[int, Job], on_message: Callable[[int, Any], None] | None = None,
              on_done: Callable[[int, Any], None] | None = None) -> None:
    """Wait for every job, handing progress to `on_message(index, message)` in this thread (`(-1, None)` as a
    tick every POLL_S while nothing arrives, so a page can redraw and Streamlit can interrupt it; `("done",)`
    once a job is over) and each outcome, a result or a RunFailed, to `on_done(index, outcome)` as soon as it is
    in."""
    pending = dict(jobs)
    seen = {i: len(job.messages) for i, job in pending.items()}
    while pending:
        # the same job can stand at several indexes (two requests with one key)
        readers = list({id(job): job._reader for job in pending.values() if not job._closed}.values())
        if readers:
            try:
                multiprocessing.connection.wait(readers, timeout=POLL_S)
            except (OSError, ValueError):   # another session's wait closed a pipe meanwhile
                pass
        else:
            time.sleep(POLL_S / 4)
        ticked = False
        for i, job in list(pending.items()):
            job.drain()
            new = job.messages[seen[i]:]
            seen[i] += len(new)
            for message in new:
                if on_message is not None:
                    on_message(i, message)
                ticked = True
            if job.finished:
                try:
                    outcome = job.result()
                except RunFailed as failure:
                    outcome = failure
                del pending[i]
                if on_done is not None:
                    on_done(i, outcome)
                if on_message is not None:
                    on_message(i, ("done",))
                ticked = True
        if on_message is not None and not ticked:
            on_message(-1, None)


class JobCache:
    """Finished results by key (bounded, oldest out first, each kept at most `ttl_s`) and the jobs in flight.

    `get` returns a cached result, joins a job another session already started for the same key, or starts
    one. A session that stops waiting (Streamlit reruns its page) cancels the job only if no one else waits.
    """

    def __init__(self, max_entries: int, ttl_s: float = 3600.0):
        self.max_entries, self.ttl_s = max_entries, ttl_s
        self._done: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._running: dict[Hashable, Job] = {}
        self._lock = threading.Lock()

    def cached(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if key in self._done:
                stamp, value = self._done[key]
                if time.monotonic() - stamp <= self.ttl_s:
                    self._done.move_to_end(key)
                    return True, value
                del self._done[key]
        return False, None

    def start(self, key: Hashable, fn: Callable, args: tuple, kwargs: dict | None = None,
              owner: Hashable = None, batch: Batch | None = None) -> Job:
        """The job for `key`, joined or started (in `batch`); waiters += 1 (release with `finish`)."""
        with self._lock:
            job = self._running.get(key)
            if job is None:
                job = Job(fn, args, kwargs or {}, owner, batch=batch or Batch())
                self._running[key] = job
            job.waiters += 1
            return job

    def finish(self, key: Hashable, job: Job, value: Any = None, ok: bool = False) -> None:
        with self._lock:
            job.waiters -= 1
            if ok:
                self._done[key] = (time.monotonic(), value)
                self._done.move_to_end(key)
                while len(self._done) > self.max_entries:
                    self._done.popitem(last=False)
            if self._running.get(key) is job and (job.future.done() or job.waiters == 0):
                del self._running[key]
            abandon = job.waiters == 0 and not job.future.done()
        if abandon:
            job.cancel()

    def get(self, key: Hashable, fn: Callable, args: tuple, kwargs: dict | None = None,
            on_message: Callable[[Any], None] | None = None, owner: Hashable = None) -> Any:
        """One result; RunFailed is raised."""
        outcome = self.get_many([(key, fn, args, kwargs)],
                                on_message and (lambda i, message: on_message(message)), owner)[0]
        if isinstance(outcome, RunFailed):
            raise outcome
        return outcome

    def get_many(self, requests: list[tuple[Hashable, Callable, tuple, dict | None]],
                 on_message: Callable[[int, Any], None] | None = None, owner: Hashable = None) -> list[Any]:
        """Results for many keys, their uncached jobs running side by side over the workers (as many at once
        as QUEUE gives `owner`: all free workers, but never ahead of another session's next run). They are one
        Batch: once DEMOTE_AFTER_S has passed since the first started, the rest give way to other sessions' runs.

        A failed job's RunFailed stands in its place (not raised), so the others still show.
        """
        results: list[Any] = [None] * len(requests)
        jobs: dict[int, tuple[Hashable, Job]] = {}
        batch = Batch()
        for i, (key, fn, args, kwargs) in enumerate(requests):
            hit, value = self.cached(key)
            if hit:
                results[i] = value
            else:
                jobs[i] = (key, self.start(key, fn, args, kwargs, owner, batch))

        def done(i, outcome):
            key, job = jobs.pop(i)
            results[i] = outcome
            self.finish(key, job, outcome, ok=not isinstance(outcome, RunFailed))
        try:
            wait_jobs({i: job for i, (_, job) in jobs.items()}, on_message, done)
        finally:
            for key, job in list(jobs.values()):   # interrupted (a rerun): let go of what still runs
                self.finish(key, job)
        return results


def run(fn: Callable, *args, on_message: Callable[[Any], None] | None = None, owner: Hashable = None,
        **kwargs) -> Any:
    """Run one uncached job and wait for it (progress to `on_message`); RunFailed if it gave no result."""
    job = Job(fn, args, kwargs, owner)
    outcome: list = []
    try:
        wait_jobs({0: job}, on_message and (lambda i, message: on_message(message)),
                  lambda i, value: outcome.append(value))
    finally:
        if not job.future.done():
            job.cancel()
    if isinstance(outcome[0], RunFailed):
        raise outcome[0]
    return outcome[0]
