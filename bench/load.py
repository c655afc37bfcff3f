"""Load test: K students at once on the real Streamlit server, over loopback.

For each K it starts a fresh server (`streamlit run app.py` on 127.0.0.1, a free port), so every K starts with
cold caches and its own memory peak. K light clients (bench/streamlit_client.py) then speak Streamlit's own
websocket protocol (/_stcore/stream, protobuf BackMsg/ForwardMsg; one asyncio loop in this process, so the load
generator leaves the cores to the server). Each client:

  1. connects and asks for the stage page by its URL path, as a browser opening http://host/<page> does;
  2. waits for the run to finish (script_finished) -- the page-load time;
  3. once every client has loaded (a barrier: the whole class moves the slider at the same moment, the hard
     case), moves the N slider to a value no other client uses (20 + its index, skipping the default 64), so
     the server really trains instead of replaying st.cache_data;
  4. waits for the script_finished of that rerun -- the time-to-result.

A session fails if it errors, times out, or its final run shows an exception element, lacks the plotly chart,
or does not show "N=<its value>" in the "Settings used" caption.

Before the K sessions, one visitor opens /<page> on the fresh server and is reported on its own line: the
first visitor of a server meets the app's pages/-directory start-up path (see ui/frame.py). --no-warmup
skips it, so the K sessions are themselves the first visitors.

A browser cross-check (--browser K, default 10; 0 skips it) does the same with one headless chromium and K
pages: goto /<page>, wait for the chart, focus the N slider (a stage page's, over its chart), fill it with
its value - 1 (which moves the thumb without sending anything) and press ArrowRight, which sends one rerun with
the session's own value; the time runs from that key press to the script_finished of the run that shows
N=<new value> (read from the page's own websocket frames, so the end of the run is the same event the light
client waits for). One press, not i+1 presses: quick presses while a run is going send one rerun each,
and the app can then show, and keep, an older N than the last key sent. Chromium shares the 2 cores with the
server, so its times include the browser's own load; it gets its own budget (--browser-budget).

The server runs with --server.fileWatcherType none unless --watch: with the watcher on, saving a file under
lib/ or pages/ while sessions run makes Streamlit drop those modules from sys.modules, and sessions that
re-import them at the same moment fail with ImportError ("cannot import name 'STAGES' from 'lib.tutorial.stages'") or
"AttributeError: 'NoneType' object has no attribute '__dict__'" (dataclasses looking up a half-imported
module) -- which measures whoever is editing the code, not the app under load.

The server's memory is sampled every 0.2 s (VmRSS of the server and any children, from /proc) and its VmHWM is
read at the end. Everything stays on 127.0.0.1 and is bounded: each K at most --k-budget s (default 180), the
whole run at most --total-budget s (default 600; the browser check at most --browser-budget s, default 300,
within it); a K that would start past the total budget is skipped.

A server that is already running, such as scripts/serve.sh's HAProxy with its replicas: --url URL loads it
instead of starting one (every K then meets the same, warm server: the first-visitor line is that server's next
visitor). --pid PID (serve.sh's pid) measures the memory and CPU of that process's whole tree (HAProxy, every
replica and its workers); without it those columns show —. Behind serve.sh each light session also records
which replica HAProxy chose (its X-Served-By header), printed per K. --kill-replica PID (a replica's pid from
serve.sh's log) SIGKILLs that replica and its workers --kill-after S seconds into the light sessions of the last
K; that row is reported but not judged (the killed replica's sessions may fail), and K new sessions opened
after the kill get their own row, "light, new after kill", whose target is 0 failed.

Run from the repository root:
    python bench/load.py                      # K = 1, 10, 30 light; browser at K = 10
    python bench/load.py --k 30 --browser 0   # one K, no browser
    python bench/load.py --page autograd --k 1 10
    python bench/load.py --k 30 --browser 0 --query tab=gradients   # the stage page's gradients tab open
    REPLICAS=2 PORT=8501 bash scripts/serve.sh &   # then, with the pids it logs:
    python bench/load.py --url http://127.0.0.1:8501 --pid <serve.sh pid> --k 30 --browser 0
    python bench/load.py --url http://127.0.0.1:8501 --k 30 --browser 0 --kill-replica <r1 pid> --kill-after 5
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.streamlit_client import (DEFAULT_N, FINISHED_COMPILE_ERROR, FINISHED_FRAGMENT, FINISHED_OK,  # noqa: E402
                                    LightSession, Run, forward_msg)

STAGE_PAGES = ["tensors", "autograd", "custom_function", "nn_module", "optim", "custom_module", "dynamic_net"]
TARGET_K, TARGET_P95_S, TARGET_RSS_MB = 30, 6.0, 3 * 1024
TARGET_CPU_PER_RERUN_S, TARGET_FIRST_VISIT_S = 0.30, 2.5
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
KILLED = "light, replica killed"     # the client label of the run during which --kill-replica is killed


# --------------------------------------------------------------------------- the server and its memory
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(root: int) -> list[int]:
    """`root` and every process under it (from /proc's children lists), root first."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return pids


class Server:
    """`streamlit run app.py` on 127.0.0.1:<free port>, with a thread sampling its memory every 0.2 s."""

    def __init__(self, log_path: Path, watch: bool = False, plain: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.peak_rss_kb = 0
        self.peak_pss_kb = 0
        self.hwm_kb = 0
        self.cpu_s = 0.0
        # (monotonic time, server CPU seconds, of which the Streamlit process itself)
        self.cpu_samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        env = dict(os.environ)
        data = ROOT.parent / "shared" / "data"
        if data.is_dir():
            env.setdefault("MNIST_ROOT", str(data))
        self._log = open(log_path, "wb")
        # scripts/launch.py is how scripts/run.sh and serve.sh start it (warm: imports, workers, calibration done
        # before the health check answers); --plain measures a bare `streamlit run app.py`
        start = [sys.executable, "-m", "streamlit", "run", "app.py"] if plain else [sys.executable, "scripts/launch.py"]
        self.proc = subprocess.Popen(
            start + ["--server.headless", "true",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false"] + ([] if watch else ["--server.fileWatcherType", "none"]),
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the server was not healthy after {timeout_s:.0f} s; see {self.log_path}")

    def _tree(self) -> list[int]:
        return process_tree(self.pid)

    @staticmethod
    def _status_kb(pid: int, field: str) -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _cpu_s(self) -> float:
        """CPU seconds of the server and every process under it (its training workers)."""
        total = 0.0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                # utime + stime, and cutime + cstime of children it has reaped (workers ended and replaced)
                total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return max(total, self.cpu_s)

    @staticmethod
    def _pss_kb(pid: int) -> int:
        """Proportional set size: pages shared by the workers and their forkserver count once in the sum."""
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            tree = self._tree()
            rss = sum(self._status_kb(pid, "VmRSS") for pid in tree)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, sum(self._pss_kb(pid) for pid in tree))
            self.hwm_kb = max(self.hwm_kb, self._hwm_kb())
            self.cpu_s = self._cpu_s()
            self.cpu_samples.append((time.monotonic(), self.cpu_s, self._own_cpu_s()))
            self._stop.wait(0.2)

    def cpu_at(self, t: float, own: bool = False) -> float:
        """Server CPU seconds used by monotonic time t (the last sample before it); `own`: the Streamlit process's
        alone, without its training workers."""
        before = [cpu[2 if own else 1] for cpu in self.cpu_samples if cpu[0] <= t]
        return before[-1] if before else 0.0

    def _own_cpu_s(self) -> float | None:
        """CPU seconds of the Streamlit process itself (drawing pages, the websocket), its workers left out."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return None

    def _hwm_kb(self) -> int:
        return self._status_kb(self.pid, "VmHWM")

    def stop(self) -> None:
        self.hwm_kb = max(self.hwm_kb, self._hwm_kb())
        self.cpu_s = self._cpu_s()
        self._stop.set()
        self._sampler.join(timeout=2)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)       # its own session: only the server and its children
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


class RunningServer(Server):
    """A server that is already running (--url), e.g. scripts/serve.sh's HAProxy: nothing is started or stopped.

    With a pid (--pid: serve.sh's, or one `streamlit run`'s), its whole process tree is sampled: peak RSS is the
    sum over the tree (HAProxy, every replica, their workers), server CPU the sum of the tree's CPU time, and
    VmHWM the largest high-water mark of one process in it. Without one, nothing is measured (—)."""

    def __init__(self, url: str, pid: int | None):
        self.url = url.rstrip("/")
        self.pid = pid
        self.log_path = None
        self.peak_rss_kb = self.hwm_kb = self.peak_pss_kb = 0
        self.cpu_s = 0.0
        self.cpu_samples = []
        self._stop = threading.Event()
        if pid is not None:
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as r:
                    if r.read() == b"ok":
                        return
            except OSError as err:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.url} is not healthy: {err}") from None
            time.sleep(0.5)

    def _cpu_s(self) -> float:
        # the last CPU time seen of every process of the tree, so that one that ends (a killed replica) keeps
        # counting what it used
        seen = self.__dict__.setdefault("_cpu_ticks", {})
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                seen[(pid, fields[19])] = int(fields[11]) + int(fields[12])    # (pid, start time): utime + stime
            except OSError:
                pass
        return sum(seen.values()) / os.sysconf("SC_CLK_TCK")

    def _hwm_kb(self) -> int:
        return max((self._status_kb(pid, "VmHWM") for pid in self._tree()), default=0)

    def stop(self) -> None:
        if self.pid is not None:
            self.hwm_kb = max(self.hwm_kb, self._hwm_kb())
            self.cpu_s = self._cpu_s()
            self._stop.set()
            self._sampler.join(timeout=2)

    @property
    def measured(self) -> bool:
        return self.pid is not None


def kill_replica(pid: int) -> str:
    """SIGKILL a replica and its workers: the process group it leads (serve.sh starts each replica as one)."""
    try:
        group = os.getpgid(pid)
        if group == os.getpgrp():     # never this benchmark's own group
            os.kill(pid, signal.SIGKILL)
        else:
            os.killpg(group, signal.SIGKILL)
        return f"killed process group {group}"
    except ProcessLookupError:
        return f"no process {pid}: nothing was killed"


# --------------------------------------------------------------------------- the light client
@dataclasses.dataclass
class Result:
    index: int
    ok: bool = False
    load_s: float | None = None
    result_s: float | None = None
    result_kb: float | None = None     # ForwardMsg bytes the slider rerun sent this client (light client only)
    error: str = ""
    served_by: str = ""                # HAProxy's X-Served-By on the websocket upgrade (serve.sh), if any


async def light_session(i: int, n: int, url: str, page: str, timeout_s: float, loaded: asyncio.Event,
                        on_loaded, result: Result, query: str = "") -> None:
    s = LightSession(url, page, timeout_s, query=query)
    try:
        t0 = time.monotonic()
        await s.connect()
        result.served_by = s.served_by
        await s.rerun(page_name=page)       # what the frontend sends for http://host/<page>
        run = await s.until_finished(t0 + timeout_s)
        bad = run.problem(DEFAULT_N)
        result.load_s = time.monotonic() - t0
        on_loaded()
        if bad:
            raise RuntimeError(f"page load: {bad}")
        if not s.n_slider_id:
            raise RuntimeError("page load: no N slider on the page")
        await loaded.wait()
        t1 = time.monotonic()
        s.received_bytes = 0
        # a stage page's N sits in the lesson's fragment (ui.stage_page.lesson): its move reruns that, as in a browser
        await s.rerun(page_hash=s.page_hash, page_name="" if s.page_hash else page, widget=(s.n_slider_id, n),
                      fragment_id=s.n_slider_fragment)
        run = await s.until_finished(t1 + timeout_s, fragment=bool(s.n_slider_fragment))
        result.result_s = time.monotonic() - t1
        result.result_kb = s.received_bytes / 1024
        bad = run.problem(n)
        if bad:
            raise RuntimeError(f"after moving N to {n}: {bad}")
        result.ok = True
    except BaseException as err:      # noqa: BLE001 -- every way a session can end is reported
        on_loaded()
        result.error = result.error or f"{type(err).__name__}: {err}"[:300]
        if isinstance(err, asyncio.CancelledError):
            result.error = "cancelled: over the K's time budget"
    finally:
        await s.close()


def slider_values(k: int) -> list[int]:
    values = [v for v in range(20, 1025) if v != DEFAULT_N]
    if k > len(values):
        raise SystemExit(f"K={k}: at most {len(values)} distinct N values")
    return values[:k]


async def run_light(url: str, page: str, k: int, timeout_s: float, budget_s: float, marks: dict,
                    query: str = "") -> list[Result]:
    results = [Result(i) for i in range(k)]
    loaded = asyncio.Event()
    pending = [k]

    def on_loaded():
        pending[0] -= 1
        if pending[0] <= 0:
            marks["barrier"] = time.monotonic()
            loaded.set()

    async def guarded(i, n):
        done = [False]

        def once():
            if not done[0]:
                done[0] = True
                on_loaded()
        await light_session(i, n, url, page, timeout_s, loaded, once, results[i], query)

    tasks = [asyncio.create_task(guarded(i, n)) for i, n in enumerate(slider_values(k))]
    _, late = await asyncio.wait(tasks, timeout=budget_s)
    for t in late:
        t.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    return results


async def first_visit(url: str, page: str, timeout_s: float) -> tuple[str, float]:
    """One visitor opening /<page> directly on a fresh server: 'ok' or what went wrong, and the time."""
    s = LightSession(url, page, timeout_s)
    t0 = time.monotonic()
    try:
        await s.connect()
        await s.rerun(page_name=page)
        run = await s.until_finished(t0 + timeout_s)
        return run.problem(DEFAULT_N) or "ok", time.monotonic() - t0
    except Exception as err:      # noqa: BLE001
        return f"{type(err).__name__}: {err}"[:300], time.monotonic() - t0
    finally:
        await s.close()


# --------------------------------------------------------------------------- the browser cross-check
async def run_browser(url: str, page: str, k: int, timeout_s: float, budget_s: float, marks: dict) -> list[Result]:
    from playwright.async_api import async_playwright

    results = [Result(i) for i in range(k)]
    targets = slider_values(k)
    loaded = asyncio.Event()
    pending = [k]

    def on_loaded(res):
        if not getattr(res, "_counted", False):
            res._counted = True
            pending[0] -= 1
            if pending[0] <= 0:
                marks["barrier"] = time.monotonic()
                loaded.set()

    async def student(browser, i: int):
        res = results[i]
        target = targets[i]
        finished: asyncio.Queue = asyncio.Queue()
        current = [Run()]

        def on_frame(payload):
            if isinstance(payload, str):
                return
            try:
                msg = forward_msg(payload)
            except Exception:     # noqa: BLE001
                return
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                current[0] = Run()
                return
            current[0].feed(msg)
            if kind == "script_finished":
                current[0].status = msg.script_finished
                if msg.script_finished in (FINISHED_OK, FINISHED_COMPILE_ERROR, FINISHED_FRAGMENT):
                    finished.put_nowait(current[0])

        def on_ws(ws):
            if ws.url.endswith("/_stcore/stream"):
                ws.on("framereceived", on_frame)

        async def wait_run(n: int, deadline: float) -> Run:
            while True:   # a run that finishes before the one showing N=n is skipped
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no finished run showing N={n}")
                run = await asyncio.wait_for(finished.get(), left)
                if run.exceptions or run.status not in (FINISHED_OK, FINISHED_FRAGMENT) or any(
                        f"N={n}," in c for c in run.captions):
                    return run

        ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            pg = await ctx.new_page()
            pg.on("websocket", on_ws)
            t0 = time.monotonic()
            await pg.goto(f"{url}/{page}", timeout=timeout_s * 1000)
            run = await wait_run(DEFAULT_N, t0 + timeout_s)
            await pg.wait_for_selector("[data-testid='stPlotlyChart']", timeout=timeout_s * 1000)
            res.load_s = time.monotonic() - t0
            on_loaded(res)
            bad = run.problem(DEFAULT_N)
            if bad:
                raise RuntimeError(f"page load: {bad}")
            await loaded.wait()
            # Streamlit's slider is react-aria's hidden <input type=range> (older frontends: a [role=slider] div)
            # the N slider: a stage page's, in the lesson's row over the chart; another page's, the sidebar's first
            slider = pg.locator(".st-key-n input[type='range'], [data-testid='stSidebar'] input[type='range'], "
                                "[data-testid='stSidebar'] [role='slider']").first
            await slider.focus()
            await slider.fill(str(target - 1))     # moves react-aria's thumb; Streamlit sends nothing yet
            t1 = time.monotonic()
            await slider.press("ArrowRight")       # commits target: one rerun_script
            run = await wait_run(target, t1 + timeout_s)
            res.result_s = time.monotonic() - t1
            bad = run.problem(target)
            if bad:
                raise RuntimeError(f"after moving N to {target}: {bad}")
            if await pg.locator("[data-testid='stException']").count():
                raise RuntimeError("an stException element is on the page")
            res.ok = True
        except BaseException as err:     # noqa: BLE001
            on_loaded(res)
            res.error = f"{type(err).__name__}: {err}".splitlines()[0][:300]
            if isinstance(err, asyncio.CancelledError):
                res.error = "cancelled: over the K's time budget"
        finally:
            try:
                await asyncio.wait_for(ctx.close(), 10)
            except BaseException:     # noqa: BLE001
                pass

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tasks = [asyncio.create_task(student(browser, i)) for i in range(k)]
            _, late = await asyncio.wait(tasks, timeout=budget_s)
            for t in late:
                t.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        finally:
            await browser.close()
    return results


# --------------------------------------------------------------------------- reporting
def pct(values: list[float], q: float) -> float | None:
    """The q-quantile by linear interpolation (q=0.5 is the median)."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


@dataclasses.dataclass
class Row:
    k: int
    client: str
    results: list[Result]
    peak_mb: float | None           # None: not measured (--url without --pid)
    hwm_mb: float | None
    cpu_s: float
    wall_s: float
    first: str = ""
    cpu_rerun_s: float | None = None     # server CPU from the barrier to the end, per session
    own_rerun_s: float | None = None     # of which the Streamlit process (one server started here, not --url)
    pss_mb: float | None = None          # peak of the summed PSS of the server and its workers
    first_s: float | None = None

    @property
    def completed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> int:
        return len(self.results) - self.completed

    def times(self) -> list[float]:
        return [r.result_s for r in self.results if r.ok]

    def loads(self) -> list[float]:
        return [r.load_s for r in self.results if r.load_s is not None]


async def with_kill(sessions, pid: int, after_s: float, marks: dict):
    """Run the sessions; after_s seconds in, SIGKILL the replica `pid` (its process group)."""
    async def killer():
        await asyncio.sleep(after_s)
        marks["killed"] = kill_replica(pid)
        print(f"  {after_s:.0f} s in: replica pid {pid}: {marks['killed']}", flush=True)

    task = asyncio.create_task(killer())
    try:
        return await sessions
    finally:
        if not task.done():
            task.cancel()
            marks["killed"] = "not killed: the sessions ended first"


def run_one(client: str, k: int, args, remaining_s: float, label: str = "", kill: bool = False) -> Row:
    budget = min(args.k_budget if client == "light" else args.browser_budget, remaining_s)
    marks: dict = {}
    log = Path(args.log_dir) / f"load-server-{client}-k{k}.log"
    started = time.monotonic()
    server = RunningServer(args.url, args.pid) if args.url else Server(log, watch=args.watch, plain=args.plain)
    try:
        server.wait_healthy(min(60.0, budget))
        first, first_s = "", None
        if args.warmup:
            first, first_s = asyncio.run(first_visit(server.url, args.page, args.timeout))
            first = f"{first} ({first_s:.1f} s)"
        left = budget - (time.monotonic() - started)
        if client == "light":
            sessions = run_light(server.url, args.page, k, args.timeout, left, marks, args.query)
        else:
            sessions = run_browser(server.url, args.page, k, args.timeout, left, marks)
        if kill:
            sessions = with_kill(sessions, args.kill_replica, args.kill_after, marks)
        results = asyncio.run(sessions)
        ended = time.monotonic()
    finally:
        server.stop()
    measured = getattr(server, "measured", True)
    row = Row(k, label or client, results, server.peak_rss_kb / 1024 if measured else None,
              server.hwm_kb / 1024 if measured else None, server.cpu_s, time.monotonic() - started, first,
              pss_mb=server.peak_pss_kb / 1024 if measured else None, first_s=first_s)
    if "barrier" in marks and measured:
        row.cpu_rerun_s = (server.cpu_at(ended + 0.25) - server.cpu_at(marks["barrier"])) / k
        if not args.url:
            row.own_rerun_s = (server.cpu_at(ended + 0.25, own=True) - server.cpu_at(marks["barrier"], own=True)) / k
    served = {}
    for r in results:
        if r.served_by:
            served[r.served_by] = served.get(r.served_by, 0) + 1
    if served:
        print(f"  K={k} {row.client}: sessions per replica (X-Served-By): "
              + ", ".join(f"{name} {n}" for name, n in sorted(served.items())), flush=True)
    errors = [f"    session {r.index}: {r.error}" for r in results if not r.ok]
    kbs = [r.result_kb for r in results if r.result_kb is not None]
    print(f"  K={k} {row.client}: {row.completed}/{k} completed in {row.wall_s:.0f} s wall "
          f"(server CPU {fmt(row.cpu_s if measured else None, 0)} s, {fmt(row.cpu_rerun_s)} s per slider rerun"
          + (f" = {row.own_rerun_s:.2f} s Streamlit + {row.cpu_rerun_s - row.own_rerun_s:.2f} s workers"
             if row.own_rerun_s is not None and row.cpu_rerun_s is not None else "") + "; "
          + (f"{pct(kbs, .5):.0f} KB of ForwardMsgs per rerun; " if kbs else "")
          + f"page load p50 {fmt(pct(row.loads(), .5))} s, max {fmt(max(row.loads(), default=None))} s)"
          + (f"; first visitor on the {'running' if args.url else 'fresh'} server: {first}" if first else ""),
          flush=True)
    for line in errors[:10]:
        print(line, flush=True)
    if len(errors) > 10:
        print(f"    ... and {len(errors) - 10} more", flush=True)
    return row


FLOOR_SCRIPT = """
import sys, time, dataclasses
from lib.serve import jobs
from lib.serve.workers import start_like_a_worker
from lib.tutorial.config import default_config
start_like_a_worker()   # one torch thread and the workers' malloc settings, as a worker runs
stage, values = sys.argv[1], [int(v) for v in sys.argv[2:]]
base = default_config(stage)
jobs.train_stage(stage, base, progress=lambda m: None, time_limit_s=None)   # first use: imports, allocator
cpu = time.process_time()
for n in values:
    jobs.train_stage(stage, dataclasses.replace(base, n=n), progress=lambda m: None, time_limit_s=None)
print((time.process_time() - cpu) / len(values))
"""


def training_floor(page: str, values: list[int]) -> float | None:
    """CPU seconds per run of the same training runs the sessions asked for, one after another in one process
    with one thread, a worker's malloc settings and no server: what the workers cannot do with less (the
    tutorial's own loop)."""
    done = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, page, *map(str, values)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"(the training floor could not be measured: {done.stderr.strip()[-300:]})")
        return None


def report(rows: list[Row], floor_s: float | None = None) -> bool:
    print()
    print("| K | client | completed | failed | p50 s | p95 s | max s | load p50 s | server CPU s/rerun "
          "| server peak RSS MB | peak PSS MB | VmHWM MB | first visitor s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = r.times()
        print(f"| {r.k} | {r.client} | {r.completed} | {r.failed} | {fmt(pct(t, .5))} | {fmt(pct(t, .95))} | "
              f"{fmt(max(t, default=None))} | {fmt(pct(r.loads(), .5))} | {fmt(r.cpu_rerun_s)} | {fmt(r.peak_mb, 0)} | "
              f"{fmt(r.pss_mb, 0)} | {fmt(r.hwm_mb, 0)} | {fmt(r.first_s)} |")
    print("\nserver = the Streamlit process and every process under it (the forkserver and the training workers): "
          "CPU and RSS are summed over all of them; RSS counts the pages the workers share with their forkserver "
          "once per process, PSS splits them, so the PSS sum is the memory the server really holds.")
    print("\ntime-to-result = from sending the N-slider change (light) or the ArrowRight press (browser) to "
          "script_finished of the run showing the new N; all K move the slider at the same moment.")
    print()
    ok = True
    at_target = [r for r in rows if r.client == "light" and r.k == TARGET_K]
    # (a light run with a replica killed has its own rows: the killed run, then new sessions after the kill)
    if not at_target:
        print(f"(no light run at K={TARGET_K}: the K={TARGET_K} targets are not checked)")
    for r in at_target:
        p95 = pct(r.times(), .95)
        checks = [
            (f"K={r.k}: 0 failed sessions", r.failed == 0, f"{r.failed} failed"),
            (f"K={r.k}: p95 time-to-result <= {TARGET_P95_S:.0f} s", p95 is not None and p95 <= TARGET_P95_S,
             f"p95 {fmt(p95)} s"),
            (f"K={r.k}: server CPU per slider rerun <= {TARGET_CPU_PER_RERUN_S:.2f} s",
             r.cpu_rerun_s is not None and r.cpu_rerun_s <= TARGET_CPU_PER_RERUN_S, f"{fmt(r.cpu_rerun_s)} s"),
        ]
        if r.peak_mb is not None:
            checks.append((f"K={r.k}: server peak memory, workers included (PSS) <= {TARGET_RSS_MB / 1024:.0f} GB",
                           r.pss_mb <= TARGET_RSS_MB, f"PSS {r.pss_mb:.0f} MB, RSS sum {r.peak_mb:.0f} MB"))
        else:
            print(f"NOTE  K={r.k}: memory not measured (--url without --pid)")
        for name, passed, got in checks:
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  {name} ({got})")
        if r.own_rerun_s is not None and r.cpu_rerun_s is not None:
            print(f"NOTE  K={r.k}: per slider rerun {r.own_rerun_s:.2f} s in the Streamlit process (drawing the page) "
                  f"+ {r.cpu_rerun_s - r.own_rerun_s:.2f} s in the training workers"
                  + (f"; the same {r.k} training runs alone (one process, one thread, no server): {floor_s:.2f} s "
                     f"each" if floor_s is not None else ""))
    for r in rows:
        if r.client.startswith(KILLED):
            print(f"NOTE  K={r.k} {r.client}: {r.failed} failed (sessions on the killed replica may fail; the "
                  f"target is on the sessions opened after the kill)")
        elif r.client != "light" or r.k != TARGET_K:
            passed = r.failed == 0
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  K={r.k} {r.client}: 0 failed sessions ({r.failed} failed)")
        if r.first and not r.first.startswith("ok"):
            print(f"NOTE  K={r.k} {r.client}: the first visitor of the fresh server got: {r.first}")
        elif r.first_s is not None:
            passed = r.first_s <= TARGET_FIRST_VISIT_S
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  K={r.k} {r.client}: first visitor <= {TARGET_FIRST_VISIT_S} s "
                  f"({r.first_s:.2f} s)")
    return ok


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 10, 30], help="numbers of concurrent light sessions")
    ap.add_argument("--page", default="tensors", choices=STAGE_PAGES, help="the stage page every session opens")
    ap.add_argument("--query", default="", help="the light sessions' query string, e.g. tab=gradients (the stage "
                    "page's gradients tab open: its comparison and heatmap computed on every rerun too)")
    ap.add_argument("--browser", type=int, default=10, help="K for the chromium cross-check; 0 skips it")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds a session may wait for one run")
    ap.add_argument("--k-budget", type=float, default=180.0, help="seconds for one K, server start included")
    ap.add_argument("--browser-budget", type=float, default=300.0,
                    help="seconds for the browser cross-check, server and chromium start included")
    ap.add_argument("--total-budget", type=float, default=600.0, help="seconds for the whole benchmark")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="no single first visitor before the K sessions: they are the server's first visitors")
    ap.add_argument("--plain", action="store_true",
                    help="start a bare `streamlit run app.py` instead of scripts/launch.py (which warms up first)")
    ap.add_argument("--watch", action="store_true",
                    help="keep Streamlit's file watcher on (its default); see the module docstring")
    ap.add_argument("--log-dir", default=os.environ.get("TMPDIR", "/tmp"), help="where the server logs go")
    ap.add_argument("--url", help="load this running server (e.g. scripts/serve.sh's http://127.0.0.1:8501) "
                                  "instead of starting a fresh one per K; every K then meets the same server")
    ap.add_argument("--pid", type=int, help="with --url: the server's pid (serve.sh's, or streamlit's), whose "
                                            "process tree's memory and CPU are measured; without it: —")
    ap.add_argument("--kill-replica", type=int, metavar="PID",
                    help="with --url: SIGKILL this replica's process group (serve.sh logs each replica's pid) "
                         "--kill-after seconds into the light sessions of the last K, then open K new sessions "
                         "and report them on their own row: the target is 0 failed there")
    ap.add_argument("--kill-after", type=float, default=5.0, metavar="S",
                    help="seconds after the last K's sessions start to kill --kill-replica (default 5)")
    args = ap.parse_args(argv)
    if any(k < 1 for k in args.k) or args.browser < 0:
        ap.error("K must be at least 1")
    if (args.pid or args.kill_replica) and not args.url:
        ap.error("--pid and --kill-replica go with --url")


    plan = [("light", k, "", False) for k in args.k]
    if args.kill_replica:
        k = args.k[-1]
        plan[-1] = ("light", k, f"{KILLED} at {args.kill_after:g} s", True)
        plan.append(("light", k, "light, new after kill", False))
    if args.browser:
        if Path(CHROMIUM).exists():
            plan.append(("browser", args.browser, "", False))
        else:
            print(f"(no {CHROMIUM}: the browser cross-check is skipped)")
    where = f"the running server {args.url}" if args.url else "fresh server per K on 127.0.0.1"
    print(f"load benchmark: page /{args.page}, {where}, {os.cpu_count()} cores, "
          f"load average before {os.getloadavg()[0]:.2f}, warm-up visitor: {'yes' if args.warmup else 'no'}, "
          f"file watcher: {'on' if args.watch else 'off'}",
          flush=True)
    start = time.monotonic()
    rows = []
    for client, k, label, kill in plan:
        remaining = args.total_budget - (time.monotonic() - start)
        if remaining < 30:
            print(f"  K={k} {label or client}: skipped, the total budget of {args.total_budget:.0f} s is spent",
                  flush=True)
            continue
        rows.append(run_one(client, k, args, remaining, label, kill))
    print(f"\ntotal {time.monotonic() - start:.0f} s; load average after {os.getloadavg()[0]:.2f}")
    measured = any(r.client == "light" and r.k == TARGET_K and r.own_rerun_s is not None for r in rows)
    floor_s = training_floor(args.page, slider_values(TARGET_K)) if measured else None
    return 0 if report(rows, floor_s) else 1


if __name__ == "__main__":
    sys.exit(main())
