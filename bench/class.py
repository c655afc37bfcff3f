"""The class board's costs: post latency with 30 students posting at once, the board's server CPU per refresh, and
bench/load.py's K=30 with everyone in one class and the board open beside K=30 without a class, in one run.

    python bench/class.py                 # all three (the load part starts a server: a few minutes)
    python bench/class.py --board-browser # ... with the board drawn in Chromium on this machine
    python bench/class.py --skip-load     # the first two only (seconds)
    python bench/class.py --db-url postgresql+psycopg://...   # the first two against PostgreSQL

The board in the load part is a light session that reruns the board's fragment as the browser's timer does
(BoardWatcher): the teacher's browser draws on the teacher's machine, so a Chromium on the server's two cores
would add its drawing to the server's load.

Targets: post p95 <= 20 ms on SQLite; board refresh <= 50 ms of CPU; K=30 p95 with the class <= 1.1x without.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.board.outbox import Outbox         # noqa: E402
from lib.board.store import RunPost, Store   # noqa: E402
from lib.figures import board_plots          # noqa: E402

STUDENTS = 30
POSTS_EACH = 10
TARGET_POST_P95_MS = 20.0
TARGET_REFRESH_MS = 50.0
TARGET_LOAD_RATIO = 1.1


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def a_run(i: int) -> RunPost:
    curve = tuple(600.0 * 0.97 ** k for k in range(500))
    return RunPost("tensors", {"lr": 10 ** -(4 + i % 4), "n": 64, "hidden": 100, "steps": 500}, "loss", curve[-1],
                   curve=curve, link="/tensors?lr=1e-06")


def post_latency(url: str) -> list[float]:
    """Every student posts POSTS_EACH runs, one after another, all starting at the same moment, the way a page
    posts: handed to the process's outbox (lib.board.outbox), which writes what has arrived in one commit. Each
    post's time (ms) from being handed over to being committed (the writer marks its ticket when the commit
    returns: the time the student's thread then takes to be woken, behind 29 others in one interpreter, is not
    the database's)."""
    store = Store(url)
    box = Outbox(lambda: store)
    made = store.create_class()
    seats = [store.join(made.code, f"S{i}") for i in range(STUDENTS)]
    start = threading.Barrier(STUDENTS)
    times: list[float] = []
    lock = threading.Lock()

    def student(i: int) -> None:
        start.wait()
        for k in range(POSTS_EACH):
            post = a_run(i + k)
            began = time.monotonic()
            ticket = box.send_run(made.code, seats[i].token, post)
            ticket.done.wait(30)
            took = (ticket.finished - began) * 1000
            assert ticket.state == "sent", ticket.state
            with lock:
                times.append(took)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(STUDENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.clear_class(made.code, made.teacher_key)
    return times


def refresh_cost(url: str, refreshes: int = 40) -> tuple[float, float]:
    """CPU ms of one board refresh as pages/board.py's fragment does it (read what changed, build both charts, turn
    them into the JSON Streamlit sends): with nothing new, and with one new run from every student since the last."""
    store = Store(url)
    made = store.create_class()
    seats = [store.join(made.code, f"S{i}") for i in range(STUDENTS)]
    for i, seat in enumerate(seats):
        for k in range(3):
            store.post_run(made.code, seat.token, a_run(i + k))
    held = store.read_board(made.code, made.teacher_key)
    runs = list(held.runs)

    def refresh(since: int) -> int:
        read = store.read_board(made.code, made.teacher_key, since=since, generation=held.generation)
        runs.extend(read.runs)
        board_plots.final_against_setting(runs, "lr", "en").to_json()
        board_plots.latest_curves(runs, "en").to_json()
        return read.last_id

    quiet, busy = [], []
    since = held.last_id
    for _ in range(refreshes):
        cpu = time.process_time()
        since = refresh(since)
        quiet.append((time.process_time() - cpu) * 1000)
    for _ in range(refreshes // 4):
        for i, seat in enumerate(seats):
            store.post_run(made.code, seat.token, a_run(i))
        cpu = time.process_time()
        since = refresh(since)
        busy.append((time.process_time() - cpu) * 1000)
    store.clear_class(made.code, made.teacher_key)
    return statistics.median(quiet), statistics.median(busy)


def wait_healthy(url: str, timeout_s: float = 120) -> None:
    import urllib.request
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not come up")


def load_p95(url: str, pid: int, query: str) -> float | None:
    """bench/load.py's K=30 light row against the running server: its p95 time-to-result."""
    argv = [sys.executable, str(ROOT / "bench" / "load.py"), "--url", url, "--pid", str(pid), "--k", "30",
            "--browser", "0", "--total-budget", "300"]
    if query:
        argv += ["--query", query]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=400)
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 5 and cells[0] == "30" and cells[1] == "light":
            try:
                return float(cells[5])
            except ValueError:
                return None
    print(done.stdout[-2000:], done.stderr[-2000:])
    return None


class BoardWatcher:
    """The teacher's board, open as the frontend keeps it: one session on /board?class=..&tk=.. that reruns the
    board's fragment every run_every seconds (the AutoRerun the server sends; bench/streamlit_client.py), in a
    thread of this process. No browser: the board is drawn on the teacher's machine, not on the server's cores,
    so what it costs the server is what is measured (--board-browser draws it in Chromium on this machine)."""

    def __init__(self, url: str, code: str, key: str):
        self.url, self.query = url, f"class={code}&tk={key}"
        self.stop = threading.Event()
        self.refreshes: list[float] = []   # each refresh's time (s), asked -> its fragment run finished
        self.error: str | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._watch()), daemon=True)
        self.thread.start()

    async def _watch(self) -> None:
        from bench.streamlit_client import LightSession
        session = LightSession(self.url, "board", 60, query=self.query)
        try:
            await session.connect()
            await session.rerun(page_name="board")
            run = await session.until_finished(time.monotonic() + 60)
            if not run.auto_reruns:
                raise RuntimeError("the board page sent no auto-rerun fragment")
            fragment, every = next(iter(run.auto_reruns.items()))
            while not self.stop.is_set():
                await asyncio.sleep(every)
                began = time.monotonic()
                await session.rerun(page_name="board", page_hash=session.page_hash, fragment_id=fragment)
                await session.until_finished(began + 60, fragment=True)
                self.refreshes.append(time.monotonic() - began)
        except Exception as err:   # reported by the round, never silent
            self.error = f"{type(err).__name__}: {err}"
        finally:
            await session.close()

    def close(self) -> list[float]:
        self.stop.set()
        self.thread.join(timeout=90)
        if self.error:
            raise RuntimeError(f"the board session failed: {self.error}")
        return self.refreshes


def load_with_and_without_class(rounds: int, board_browser: bool) -> tuple[list[float], list[float]]:
    """One server; a class whose board is open (BoardWatcher, or Chromium with `board_browser`) while 30 light
    sessions in the class move the N slider; and 30 without a class and no board; `rounds` pairs, in ABBA order."""
    folder = Path(tempfile.mkdtemp(prefix="class-bench-"))
    env = os.environ | {"CLASS_DB_URL": f"sqlite:///{folder / 'classes.sqlite3'}"}
    port = 8761
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                               "--server.port", str(port), "--server.address", "127.0.0.1"], cwd=ROOT, env=env,
                              stdout=open(folder / "server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    with_class, without = [], []
    browser = playwright = None
    try:
        wait_healthy(url)
        store = Store(env["CLASS_DB_URL"])
        if board_browser:
            from playwright.sync_api import sync_playwright

            from tests.browser_support import CHROMIUM_ARGS
            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        load_p95(url, server.pid, "")   # a warm-up round, not counted: the server's first runs and caches
        def class_round() -> None:
            made = store.create_class()   # a class of its own each round: a class holds at most MAX_STUDENTS
            if browser is not None:
                board = browser.new_page(viewport={"width": 1280, "height": 720})
                board.goto(f"{url}/board?class={made.code}&tk={made.teacher_key}")
                board.wait_for_timeout(3000)
            else:
                watcher = BoardWatcher(url, made.code, made.teacher_key)
                time.sleep(3)
            with_class.append(load_p95(url, server.pid, f"class={made.code}"))
            if browser is not None:
                board.close()
                refreshed = "in Chromium"
            else:
                times = watcher.close()
                refreshed = (f"refreshed {len(times)} times, median {statistics.median(times):.2f} s, "
                             f"max {max(times):.2f} s" if times else "never refreshed")
            posted = store.read_board(made.code, made.teacher_key)
            print(f"with the class: p95 {with_class[-1]} s; {posted.students} students, {len(posted.runs)} runs on "
                  f"its board (board {refreshed})", flush=True)

        def plain_round() -> None:
            without.append(load_p95(url, server.pid, ""))
            print(f"no class: p95 {without[-1]} s", flush=True)

        for i in range(rounds):   # ABBA: neither kind always runs first, so neither always meets a warmer server
            for one in ((class_round, plain_round) if i % 2 == 0 else (plain_round, class_round)):
                one()
    finally:
        if browser is not None:
            browser.close()
            playwright.stop()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return with_class, without


def ratio_interval(with_class: list[float], without: list[float], draws: int = 2000) -> tuple[float, float]:
    """The 5th and 95th percentiles of median(with) / median(without) over bootstrap resamples of the rounds: how
    far the verdict's ratio could move on another sitting of as many rounds (a fixed seed: the same rounds give the
    same interval)."""
    pick = random.Random(0)
    ratios = sorted(statistics.median(pick.choices(with_class, k=len(with_class)))
                    / statistics.median(pick.choices(without, k=len(without))) for _ in range(draws))
    return pct(ratios, .05), pct(ratios, .95)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db-url", help="the database (default: a SQLite file in a temp folder)")
    ap.add_argument("--skip-load", action="store_true", help="skip the K=30 part (a server and Chromium)")
    ap.add_argument("--rounds", type=int, default=2, help="K=30 runs with and without the class, alternating")
    ap.add_argument("--board-browser", action="store_true",
                    help="draw the board in Chromium on this machine (its drawing then shares the server's cores)")
    args = ap.parse_args()
    url = args.db_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='class-bench-')) / 'classes.sqlite3'}"
    kind = url.split(":")[0]
    ok = True

    times = post_latency(url)
    p50, p95 = pct(times, .5), pct(times, .95)
    print(f"| posts ({STUDENTS} students x {POSTS_EACH}, all at once, {kind}) | p50 {p50:.1f} ms | p95 {p95:.1f} ms "
          f"| max {max(times):.1f} ms |")
    if kind.startswith("sqlite"):
        passed = p95 <= TARGET_POST_P95_MS
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  post p95 <= {TARGET_POST_P95_MS:.0f} ms on SQLite ({p95:.1f} ms)")

    quiet, busy = refresh_cost(url)
    print(f"| board refresh CPU ({STUDENTS} students, 3 runs each) | nothing new {quiet:.1f} ms | "
          f"{STUDENTS} new runs {busy:.1f} ms |")
    passed = max(quiet, busy) <= TARGET_REFRESH_MS
    ok &= passed
    print(f"{'PASS' if passed else 'FAIL'}  board refresh <= {TARGET_REFRESH_MS:.0f} ms CPU "
          f"(worst {max(quiet, busy):.1f} ms)")

    if not args.skip_load:
        with_class, without = load_with_and_without_class(args.rounds, args.board_browser)
        print(f"| K=30 p95 s, in one class with the board open | {with_class} |")
        print(f"| K=30 p95 s, no class | {without} |")
        if all(v is not None for v in with_class + without):
            ratio = statistics.median(with_class) / statistics.median(without)
            passed = ratio <= TARGET_LOAD_RATIO
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  K=30 p95 with the class <= {TARGET_LOAD_RATIO}x without "
                  f"(medians: {ratio:.2f}x)")
            low, high = ratio_interval(with_class, without)
            pairs = sorted(a / b for a, b in zip(with_class, without))
            print(f"      how sure: 90% bootstrap interval of that ratio {low:.2f}x-{high:.2f}x over {len(without)} "
                  f"rounds each; round by round (each pair side by side) {pairs[0]:.2f}x-{pairs[-1]:.2f}x, "
                  f"median {statistics.median(pairs):.2f}x")
        else:
            ok = False
            print("FAIL  a K=30 run gave no p95")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
