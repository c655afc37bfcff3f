"""Runs that train or compute for a page go to worker processes: one pool per server, one run per worker.

Why processes: torch's random generator is process-wide, so seeding and drawing in one process per run keeps
every run reproducible without a lock across sessions; runs of different sessions use every core; and a run that
overruns its time limit can be stopped by ending its process. The pool is pebble's `ProcessPool`: unlike
`concurrent.futures.ProcessPoolExecutor` and loky, it ends one task's worker on a timeout or a cancel and starts a
fresh one while the other workers go on (the others break or keep the overrunning task running). Workers start
from a forkserver that has imported torch and lib once, so a replacement starts in milliseconds.

A job is a plain function of lib.serve.jobs, called in a worker as `fn(*args, progress=..., time_limit_s=...)`.
`progress(message)` sends a small picklable message over the job's own pipe (a killed worker can only break its
own pipe); the page's thread reads it while it waits. Results travel back pickled to bytes, so tensors cross as
plain data, not as shared-memory handles. Finished results are kept in bounded caches shared by every session,
keyed by the job and its arguments (request_key), and a job asked for by several sessions at once runs once.
With TRAIN_WORKERS=0 there is no pool: the same call runs in the thread that waits for it (a debugger's
breakpoint fires there), with the same caching, progress messages and pickled result.
"""
from __future__ import annotations

import hashlib
import math
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import multiprocessing.spawn
import os
import pickle
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import pebble

WORKERS_ENV = "TRAIN_WORKERS"        # how many runs at once; default: the cores this process may use; 0: no pool
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


def in_process() -> bool:
    """TRAIN_WORKERS=0: every job runs in the thread that asks for it, one after another (a debugger, fast tests)."""
    return os.environ.get(WORKERS_ENV, "").strip() == "0"


def worker_count() -> int:
    """The pool's size (TRAIN_WORKERS=0 starts no pool: its jobs never reach the queue)."""
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
# at the caps, so a worker holds little after a big run). glibc reads them from GLIBC_TUNABLES when a process
# starts: pool() sets it while it starts the forkserver (an exec'd process), whose workers inherit it.
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20
TUNABLES_ENV = "GLIBC_TUNABLES"
TUNABLES = f"glibc.malloc.mmap_threshold={MMAP_THRESHOLD}:glibc.malloc.trim_threshold={TRIM_THRESHOLD}"


def tunables() -> str:
    """GLIBC_TUNABLES as a worker starts with it: whatever this process's environment sets, then TUNABLES."""
    return ":".join(part for part in (os.environ.get(TUNABLES_ENV, ""), TUNABLES) if part)


@contextmanager
def _tuned_environ():
    before = os.environ.get(TUNABLES_ENV)
    os.environ[TUNABLES_ENV] = tunables()
    try:
        yield
    finally:
        if before is None:
            del os.environ[TUNABLES_ENV]
        else:
            os.environ[TUNABLES_ENV] = before


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):
        return False


def allocator_tuned() -> bool:
    """Whether this process's malloc runs with the settings above: it started with TUNABLES, and a block of half
    MMAP_THRESHOLD comes from its heap (glibc's own threshold, 128 KB at first, would map it fresh)."""
    if TUNABLES not in os.environ.get(TUNABLES_ENV, "") or not _glibc():
        return False
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                          "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = Mallinfo2
    libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
    mapped = libc.mallinfo2().hblks           # blocks malloc holds as mappings of their own
    block = libc.malloc(MMAP_THRESHOLD // 2)
    mapped = libc.mallinfo2().hblks - mapped
    libc.free(block)
    return mapped == 0


def tune_allocator() -> None:
    """Give this process a worker's malloc settings (benchmarks that time runs as a worker runs them): glibc reads
    GLIBC_TUNABLES only as a process starts, so a process that lacks them starts again, with the same command
    line and them added. Nothing happens where there is no glibc."""
    if _glibc() and TUNABLES not in os.environ.get(TUNABLES_ENV, ""):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, sys.orig_argv, {**os.environ, TUNABLES_ENV: tunables()})


def _init_worker(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def start_like_a_worker(threads: int = 1) -> None:
    """Make this process what a worker is when its first job comes: its malloc settings (tune_allocator: this may
    start the process again), the forkserver's modules imported, one torch thread (benchmarks that time runs as the
    workers run them)."""
    import importlib
    tune_allocator()
    for name in PRELOAD:
        importlib.import_module(name)
    _init_worker(threads)


def _execute(fn: Callable, args: tuple, kwargs: dict, conn, limit: float) -> bytes:
    """Runs in the worker: call the job with a progress sender, return its result pickled."""
    def progress(message) -> None:
        try:
            conn.send(message)
        except (BrokenPipeError, OSError):   # nobody listens any more (the page went away): keep computing
            pass

    try:
        return pickle.dumps(fn(*args, progress=progress, time_limit_s=limit, **kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        conn.close()


def _torch_threads() -> int:
    return int(os.environ.get("TORCH_THREADS", "1"))


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
# imports it when it is first built (2-4 s here); torchvision (lib.digits.mnist_data) imports it too today, named here so
# that a fresh worker's first run of stages 4-7 never pays for it (bench/caps.py's fresh processes import this list)
PRELOAD = ["torch", "torch._dynamo", "lib.serve.jobs", "lib.tutorial.stages", "lib.tutorial.gradients",
           "lib.explore.experiments", "lib.explore.optim_internals", "lib.digits.mnist_training"]
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
            with _tuned_environ():   # the forkserver reads GLIBC_TUNABLES as it starts; its workers inherit it
                multiprocessing.forkserver.ensure_running()
            _pool = pebble.ProcessPool(max_workers=worker_count(), initializer=_init_worker,
                                       initargs=(_torch_threads(),), context=context)
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
class Job:
    """One run: queued (QUEUE), then in a worker; its result future, progress pipe and messages so far. With
    TRAIN_WORKERS=0 (`here`) it waits for a thread that waits for it to run it (run_here), without pipe or queue."""
    fn: Callable
    args: tuple
    kwargs: dict = field(default_factory=dict)
    owner: Hashable = None            # who asked (a session): QUEUE shares the workers fairly between owners
    limit: float = field(default_factory=time_limit_s)
    here: bool = field(default_factory=in_process)

    def __post_init__(self):
        self._reader, self._writer = (None, None) if self.here else multiprocessing.Pipe(duplex=False)
        self.messages: list = []
        self.waiters = 0
        self._lock = threading.Lock()
        self._closed = False
        self._taken = False                    # run_here has begun (TRAIN_WORKERS=0)
        self.future: Future = Future()         # the job's outcome, whether it ran, was cancelled or failed
        self._task: Future | None = None       # pebble's, once a worker has it
        if self.owner is None:
            self.owner = id(self)
        if not self.here:
            self.future.add_done_callback(self._wake)
            QUEUE.submit(self)

    def run_here(self, on_progress: Callable[[], Any]) -> None:
        """Run the job in this thread as a worker would call it (TRAIN_WORKERS=0), unless another thread has begun
        it: its progress goes into `messages`, then `on_progress()` hands it on, and its result is pickled. An
        exception out of `on_progress` (Streamlit stopping the page) cancels the job and goes on up."""
        with self._lock:
            if self._taken or self.future.done():
                return
            self._taken = True
        escaped: list[BaseException] = []

        def progress(message) -> None:
            with self._lock:
                self.messages.append(message)
            try:
                on_progress()
            except BaseException as err:
                escaped.append(err)
                raise

        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(_torch_threads())   # as in a worker: the same sums in the same order
        try:
            value = pickle.dumps(self.fn(*self.args, progress=progress, time_limit_s=self.limit, **self.kwargs),
                                 protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as err:
            if escaped or not isinstance(err, Exception):
                self.future.cancel()
                raise
            self.future.set_exception(err)   # the job raised: its RunFailed, as from a worker
        else:
            self.future.set_result(value)
        finally:
            torch.set_num_threads(threads)

    @property
    def waits_for_this_thread(self) -> bool:
        return self.here and not self._taken and not self.future.done()

    def _start(self) -> None:
        # pebble pickles the task (and the writer with it) when a worker takes it, so the writer stays open
        # here until the job is done; the end of the job is the future's, not the pipe's EOF
        try:
            self._task = pool().schedule(_execute, (self.fn, self.args, self.kwargs, self._writer, self.limit),
                                         timeout=self.limit + KILL_GRACE_S)
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
        return self._task is not None or self._taken

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
            if self.here:               # run_here put its messages in place itself
                self._closed = done
                return []
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
        if self.here:
            with self._lock:
                if not self._taken:   # begun in another thread: it stops at its time limit, as a worker's run
                    self.future.cancel()
        elif QUEUE.withdraw(self):
            self.future.cancel()
        elif self._task is not None:
            self._task.cancel()   # a running task's worker is ended and replaced


def wait_jobs(jobs: dict[int, Job], on_message: Callable[[int, Any], None] | None = None,
              on_done: Callable[[int, Any], None] | None = None) -> None:
    """Wait for every job, handing progress to `on_message(index, message)` in this thread (`(-1, None)` as a
    tick every POLL_S while nothing arrives, so a page can redraw and Streamlit can interrupt it; `("done",)`
    once a job is over) and each outcome, a result or a RunFailed, to `on_done(index, outcome)` as soon as it is
    in. A job of TRAIN_WORKERS=0 that no other thread has begun runs here, its progress handed on as it comes."""
    pending = dict(jobs)
    seen = {i: len(job.messages) for i, job in pending.items()}
    while pending:
        here = next((job for job in pending.values() if job.waits_for_this_thread), None)
        if here is not None:
            here.run_here(lambda: _hand_over(pending, seen, on_message, on_done))
        else:
            # the same job can stand at several indexes (two requests with one key)
            readers = list({id(job): job._reader for job in pending.values()
                            if not job._closed and job._reader is not None}.values())
            if readers:
                try:
                    multiprocessing.connection.wait(readers, timeout=POLL_S)
                except (OSError, ValueError):   # another session's wait closed a pipe meanwhile
                    pass
            else:
                time.sleep(POLL_S / 4)
        if not _hand_over(pending, seen, on_message, on_done) and on_message is not None:
            on_message(-1, None)


def _hand_over(pending: dict[int, Job], seen: dict[int, int], on_message, on_done) -> bool:
    """wait_jobs: hand on the pending jobs' new messages and the outcomes of those that ended (then no longer
    pending); whether there was any."""
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
    return ticked


class JobCache:
    """Finished results by key (bounded, oldest out first, each kept at most `ttl_s`) and the jobs in flight.

    `get` (and get_many, over several caches) returns a cached result, joins a job another session already started
    for the same key (request_key), or starts one. A session that stops waiting (Streamlit reruns its page)
    cancels the job only if no one else waits.
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
              owner: Hashable = None) -> Job:
        """The job for `key`, joined or started; waiters += 1 (release with `finish`)."""
        with self._lock:
            job = self._running.get(key)
            if job is None:
                job = Job(fn, args, kwargs or {}, owner)
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

    def get(self, fn: Callable, *args, on_message: Callable[[Any], None] | None = None,
            owner: Hashable = None) -> Any:
        """One result, from this cache or computed into it; RunFailed is raised."""
        outcome = get_many([(self, fn, args)], on_message and (lambda i, message: on_message(message)), owner)[0]
        if isinstance(outcome, RunFailed):
            raise outcome
        return outcome


def request_key(fn: Callable, args: tuple) -> Hashable:
    """A request's cache key: the job, by module and name, and its arguments (frozen dataclasses, tuples, numbers,
    strings; a tensor, or a dict of them such as a model's state, stands as its dtype, shape and bytes' digest)."""
    return fn.__module__, fn.__qualname__, _frozen(args)


def _frozen(value) -> Hashable:
    if isinstance(value, (tuple, list)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return ("dict", *((k, _frozen(v)) for k, v in value.items()))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        data = value.detach().cpu().contiguous().reshape(-1)
        return "tensor", str(data.dtype), tuple(value.shape), hashlib.sha1(data.view(torch.uint8).numpy()).hexdigest()
    hash(value)   # a TypeError here names an argument no cache can key
    return value


def get_many(requests: list[tuple[JobCache, Callable, tuple]], on_message: Callable[[int, Any], None] | None = None,
             owner: Hashable = None) -> list[Any]:
    """Results of (cache, job, args) requests, each from its cache or computed into it (keyed by request_key);
    the uncached jobs run side by side over the workers (as many at once as QUEUE gives `owner`: all free
    workers, but never ahead of another session's next run).

    A failed job's RunFailed stands in its place (not raised), so the others still show.
    """
    results: list[Any] = [None] * len(requests)
    jobs: dict[int, tuple[JobCache, Hashable, Job]] = {}
    for i, (cache, fn, args) in enumerate(requests):
        key = request_key(fn, args)
        hit, value = cache.cached(key)
        if hit:
            results[i] = value
        else:
            jobs[i] = (cache, key, cache.start(key, fn, args, owner=owner))

    def done(i, outcome):
        cache, key, job = jobs.pop(i)
        results[i] = outcome
        cache.finish(key, job, outcome, ok=not isinstance(outcome, RunFailed))
    try:
        wait_jobs({i: job for i, (_, _, job) in jobs.items()}, on_message, done)
    finally:
        for cache, key, job in list(jobs.values()):   # interrupted (a rerun): let go of what still runs
            cache.finish(key, job)
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
