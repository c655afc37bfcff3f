"""scripts/serve.sh end to end: two Streamlit replicas behind HAProxy on loopback.

Sessions land on both replicas (each serves a whole Streamlit session over the websocket, with bench/load.py's
light client); an MNIST upload works through the proxy in a real browser; after one replica is killed, new
sessions and a reload of a session that was on it work on the other; SIGTERM stops everything serve.sh started.
The tests run in file order on one serve.sh (the kill comes after the checks that need both replicas).
"""
import asyncio
import concurrent.futures
import gzip
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from bench.streamlit_client import DEFAULT_N, LightSession   # the light client bench/load.py runs
from tests.browser_support import CHROMIUM, CHROMIUM_ARGS, settle

pytestmark = pytest.mark.serve   # two of these drive Chromium through the proxy as well
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
MNIST_RAW = ROOT.parent / "shared" / "data" / "MNIST" / "raw"
COOKIE = "STREAMLIT_REPLICA"

if not (shutil.which("haproxy") or Path("/usr/sbin/haproxy").exists()):
    if os.environ.get("CI") == "true":
        pytest.fail("Debian's haproxy is missing: .ci/run must install it (scripts/test.sh does, as root)")
    pytest.skip("HAProxy is not installed (apt-get install haproxy)", allow_module_level=True)


def _free_ports(n: int) -> int:
    """A port p such that p .. p+n-1 are all free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        try:
            socks = []
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no run of free ports")


class Serve:
    """scripts/serve.sh with REPLICAS=2, in its own session (process group), stopped by stop()."""

    def __init__(self, tmp: Path):
        self.port = _free_ports(3)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "serve.out"
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), "REPLICAS": "2",
               "SERVE_DIR": str(tmp / "run"), "STARTUP_TIMEOUT": "150",
               "CLASS_DB_URL": f"sqlite:///{tmp / 'classes.sqlite3'}"}   # one class database for both replicas
        self.class_db = env["CLASS_DB_URL"]
        if (MNIST_RAW.parent.parent / "MNIST").is_dir():
            env["MNIST_ROOT"] = str(MNIST_RAW.parent.parent)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["bash", "scripts/serve.sh"], cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.replicas: dict[str, tuple[int, int]] = {}     # name -> (port, pid)
        self.haproxy_pid = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_s: float = 240) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.log()
            m = re.search(r"HAProxy listens on \S+, pid (\d+); ready", text)
            if m:
                self.haproxy_pid = int(m.group(1))
                for name, port, pid in re.findall(r"replica (r\d+) listens on 127\.0\.0\.1:(\d+), pid (\d+)", text):
                    self.replicas[name] = (int(port), int(pid))
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve.sh exited with {self.proc.returncode}:\n{text[-3000:]}")
            time.sleep(0.5)
        raise RuntimeError(f"serve.sh was not ready in {timeout_s:.0f} s:\n{self.log()[-3000:]}")

    def started_pids(self) -> list[int]:
        return [pid for _, pid in self.replicas.values()] + ([self.haproxy_pid] if self.haproxy_pid else [])

    def stop(self) -> int | None:
        """SIGTERM serve.sh (as Ctrl-C would) and wait; if it hangs, SIGKILL it and every group it started."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                for pgid in [self.proc.pid] + self.started_pids():
                    try:
                        os.killpg(pgid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.wait(timeout=10)
        self._log.close()
        return self.proc.returncode


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def serve(tmp_path_factory):
    s = Serve(tmp_path_factory.mktemp("serve"))
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


def _http_get(url: str, cookie: str | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


def _session(url: str, cookie: str | None = None, page: str = "tensors", timeout_s: float = 120):
    """One whole Streamlit session through the proxy: connect the websocket, run /<page>, wait for its end.
    Returns (the replica that served it, the cookie HAProxy set, the problem with the page or None)."""
    async def go():
        s = LightSession(url, page, timeout_s, cookie=cookie)
        t0 = time.monotonic()
        try:
            await s.connect()
            await s.rerun(page_name=page)
            run = await s.until_finished(t0 + timeout_s)
            return s.served_by, s.set_cookie, run.problem(DEFAULT_N)
        finally:
            await s.close()
    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _class_session(url: str, query: str, timeout_s: float = 120):
    """A light session of a student in a class (the class and seat in its query), on /tensors: (replica, problem,
    its seat token as the page wrote it to the URL, or None)."""
    async def go():
        s = LightSession(url, "tensors", timeout_s, query=query)
        t0 = time.monotonic()
        try:
            await s.connect()
            await s.rerun(page_name="tensors")
            run = await s.until_finished(t0 + timeout_s)
            return s.served_by, run.problem(int(re.search(r"n=(\d+)", query).group(1)))
        finally:
            await s.close()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _runs_on_board(store, made, want: int, timeout_s: float = 20) -> int:
    """How many runs the board holds once `want` have arrived (or the timeout passed): posts are written off the
    pages' path, a moment after each run."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = len(store.read_board(made.code, made.teacher_key).runs)
        if got >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


CLASS: dict = {}   # the class the tests below share: its store, the class, the posts made


def test_a_class_spread_over_both_replicas_has_every_run_on_one_board(serve):
    from lib.board.store import Store
    store = Store(serve.class_db)
    made = store.create_class()
    CLASS.update(store=store, made=made, posts=0)
    served = set()
    for i in range(6):
        by, problem = _class_session(serve.url, f"class={made.code}&n={24 + i}&steps=30")
        assert problem is None
        served.add(by)
        CLASS["posts"] += 1
    assert served == set(serve.replicas)                     # the class is on both replicas
    assert _runs_on_board(store, made, CLASS["posts"]) == CLASS["posts"]
    read = store.read_board(made.code, made.teacher_key)
    assert read.students == 6 and sorted(r.settings["n"] for r in read.runs) == list(range(24, 30))


def _cookie_value(set_cookie: str) -> str | None:
    m = re.match(rf"{COOKIE}=([^;]+)", set_cookie or "")
    return m.group(1) if m else None


# ------------------------------------------------------------------------------------------------- both replicas
def test_serve_logs_two_replicas_and_haproxy(serve):
    assert sorted(serve.replicas) == ["r1", "r2"]
    assert all(_alive(pid) for pid in serve.started_pids())
    # each replica answers on its own port, on loopback
    for port, _ in serve.replicas.values():
        assert _http_get(f"http://127.0.0.1:{port}/_stcore/health")[2] == b"ok"
    assert _http_get(f"{serve.url}/_stcore/health")[2] == b"ok"


def test_new_sessions_land_on_both_replicas_and_each_serves_a_whole_session(serve):
    served = []
    for _ in range(4):      # fresh sessions, no cookie: HAProxy picks a replica and says which in a cookie
        by, set_cookie, problem = _session(serve.url)
        assert problem is None, problem
        assert _cookie_value(set_cookie) == by, (by, set_cookie)
        served.append(by)
    assert set(served) == {"r1", "r2"}, served


def test_the_cookie_keeps_a_browser_on_its_replica(serve):
    for name in ("r1", "r2"):
        for _ in range(3):      # page, static files and the websocket all follow the cookie
            status, headers, _ = _http_get(f"{serve.url}/", cookie=f"{COOKIE}={name}")
            assert status == 200 and headers["x-served-by"] == name
            assert "set-cookie" not in headers          # it already has the right one
        by, set_cookie, problem = _session(serve.url, cookie=f"{COOKIE}={name}")
        assert (by, set_cookie, problem) == (name, "", None)


# ------------------------------------------------------------------------------------------------- an upload
def _digit_png(index: int) -> tuple[bytes, int]:
    """The MNIST test set's digit `index`, 4x larger, as a PNG, and its label."""
    from PIL import Image

    def raw(name):
        path = MNIST_RAW / name
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()

    images = raw(next(p.name for p in MNIST_RAW.glob("t10k-images-idx3-ubyte*")))
    labels = raw(next(p.name for p in MNIST_RAW.glob("t10k-labels-idx1-ubyte*")))
    pixels = images[16 + 784 * index: 16 + 784 * (index + 1)]
    img = Image.frombytes("L", (28, 28), pixels).resize((112, 112))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue(), labels[8 + index]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: .ci/run must install it")
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _replica_cookie(ctx) -> str | None:
    return next((c["value"] for c in ctx.cookies() if c["name"] == COOKIE), None)


@pytest.mark.skipif(not MNIST_RAW.is_dir(), reason="no MNIST data in ../shared/data")
def test_an_mnist_upload_works_through_the_proxy(serve, browser, tmp_path):
    png, label = _digit_png(0)
    path = tmp_path / "digit.png"
    path.write_bytes(png)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        pg.goto(f"{serve.url}/mnist")
        settle(pg, 90_000)
        replica = _replica_cookie(ctx)
        assert replica in serve.replicas
        pg.get_by_role("button", name="Train").click()        # the MLP, the form's default
        pg.wait_for_selector("[data-testid='stMetric']", timeout=180_000)
        settle(pg, 90_000)
        pg.get_by_role("tab", name="Upload").click()
        # Streamlit's uploader PUTs the file to /_stcore/upload_file/<session>/<file> with its XSRF token: the
        # session lives on one replica only, so this works only if the upload follows the websocket there
        pg.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
        pg.get_by_text(re.compile(r"Predicted probabilities: \d")).first.wait_for(state="attached", timeout=90_000)
        settle(pg, 90_000)
        assert pg.locator("[data-testid='stException']").count() == 0
        assert pg.get_by_text(f"Predicted probabilities: {label}").count() >= 1
        assert _replica_cookie(ctx) == replica                 # the whole time on one replica
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "serve-mnist-upload.png"))
    finally:
        ctx.close()


# ------------------------------------------------------------------------------------------------- one replica dies
def test_after_a_replica_is_killed_new_and_reloaded_sessions_work_on_the_other(serve, browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        link = f"{serve.url}/optim?n=32&hidden=50&steps=40&seed=7"
        pg.goto(link)
        settle(pg, 90_000)
        pg.wait_for_selector("[data-testid='stPlotlyChart']", timeout=90_000)
        dead = _replica_cookie(ctx)
        assert dead in serve.replicas
        live = next(name for name in serve.replicas if name != dead)
        _, dead_pid = serve.replicas[dead]
        os.killpg(dead_pid, signal.SIGKILL)        # a crash: the replica and its workers, no goodbye
        deadline = time.monotonic() + 30
        while _alive(dead_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(dead_pid)
        assert _alive(serve.haproxy_pid) and _alive(serve.replicas[live][1]) and serve.proc.poll() is None

        # new sessions, at once: the live replica serves them all
        for _ in range(3):
            by, set_cookie, problem = _session(serve.url)
            assert (by, problem) == (live, None)
        # the class goes on: every run posted before the kill is on the board, and new ones join it from the live one
        if CLASS:
            store, made = CLASS["store"], CLASS["made"]
            assert len(store.read_board(made.code, made.teacher_key).runs) == CLASS["posts"]
            for i in range(3):
                by, problem = _class_session(serve.url, f"class={made.code}&n={40 + i}&steps=30")
                assert (by, problem) == (live, None)
                CLASS["posts"] += 1
            assert _runs_on_board(store, made, CLASS["posts"]) == CLASS["posts"]   # counts equal the posts made
        # a light session still holding the dead replica's cookie is sent to the live one, with a new cookie
        by, set_cookie, problem = _session(serve.url, cookie=f"{COOKIE}={dead}")
        assert (by, _cookie_value(set_cookie), problem) == (live, live, None)

        # the browser's session on the dead replica: a reload lands on the live one and shows the same view
        pg.reload()
        settle(pg, 90_000)
        pg.wait_for_selector("[data-testid='stPlotlyChart']", timeout=90_000)
        settle(pg, 90_000)
        assert _replica_cookie(ctx) == live
        captions = " ".join(pg.locator("[data-testid='stCaptionContainer']").all_inner_texts())
        assert "N=32, D_IN=1000, H=50" in captions
        assert pg.locator("[data-testid='stException']").count() == 0
        assert "serve.sh: replica " + dead in serve.log()        # serve.sh noticed and said so
    finally:
        ctx.close()


def test_sigterm_stops_everything_serve_sh_started(serve):
    started = serve.started_pids()
    assert started
    serve.stop()
    assert serve.proc.returncode == 143, serve.log()[-2000:]
    left = [pid for pid in started if _alive(pid)]
    assert not left, f"still running after serve.sh stopped: {left}"
    # nor anything in their process groups (a replica's training workers)
    in_groups = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in started and fields[0] != "Z":
                in_groups.append(int(entry.name))
    assert not in_groups, f"processes of serve.sh's groups still running: {in_groups}"
    assert "serve.sh: stopped" in serve.log()
