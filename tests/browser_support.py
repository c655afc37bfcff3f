"""What the browser tests share: Debian's Chromium (skipped, or failed under CI, without it), a fresh server and
one page per test module, and a wait for a script run to end. Test modules import the fixtures by name, and call
require_chromium() first if they need nothing but the browser."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def require_chromium(module_level: bool = True):
    """playwright's sync API, once Debian's Chromium is known to be there: else skip (fail under CI)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: .ci/run must install it (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=module_level)
    return pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(**env: str):
    """`streamlit run app.py` in a process of its own on a free port (its URL), with these environment variables."""
    port = _free_port()
    env = {**os.environ, "MNIST_ROOT": str(ROOT.parent / "shared" / "data"), **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not become healthy in 60 s")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def page():
    with require_chromium(module_level=False).sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium itself, for tests that open pages of their own sizes (one context each: a fresh session)."""
    with require_chromium(module_level=False).sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def settle(pg, timeout_ms=60_000):
    """Wait until the script has finished running (the status widget says 'Running' while it works)."""
    pg.wait_for_selector("h1", timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms)
    pg.wait_for_timeout(500)
