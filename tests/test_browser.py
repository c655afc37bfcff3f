"""End to end in a real browser: start the server, visit every page, move a slider, no exception anywhere."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lib.i18n import KO

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail("Debian's chromium is missing: .ci/run must install it (apt-get install chromium)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "MNIST_ROOT": str(ROOT.parent / "shared" / "data")}
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
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield pg
        browser.close()


def _settle(pg, timeout_ms=60_000):
    """Wait until the script has finished running (the status widget says 'Running' while it works)."""
    pg.wait_for_selector("h1", timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms)
    pg.wait_for_timeout(500)


PAGES = ["", "tensors", "autograd", "custom_function", "nn_module", "optim", "custom_module", "dynamic_net",
         "compare", "optimizers", "mnist", "experiments"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_exception(server, page, path):
    page.goto(f"{server}/{path}")
    _settle(page)
    if path and path != "mnist":   # every stage page and Compare draw a loss chart once training is done
        page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
        _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("h1").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{path or 'home'}.png"), full_page=False)


def test_moving_a_slider_retrains(server, page):
    page.goto(f"{server}/tensors")
    _settle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    final_before = page.locator("[data-testid='stMetricValue']").nth(1).inner_text()
    # the N slider: set 60 without committing, then one key press commits 61 (one rerun)
    slider = page.locator("[data-testid='stSidebar'] input[type='range']").first
    slider.fill("60")
    slider.press("ArrowRight")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".some(e => e.innerText.includes('N=61,'))", timeout=60_000)
    _settle(page)
    # the rerun's metrics can reach the screen a little after the status widget stops saying "Running"
    page.wait_for_function(
        "before => document.querySelectorAll('[data-testid=\"stMetricValue\"]')[1].innerText !== before",
        arg=final_before, timeout=30_000)
    assert page.locator("[data-testid='stMetricValue']").nth(1).inner_text() != final_before
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "slider-moved.png"))


def test_a_shared_link_opens_with_its_settings(server, page):
    page.goto(f"{server}/optim?n=32&hidden=50&lr=0.001&optimizer=rmsprop&momentum=0.5&steps=40&seed=7")
    _settle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    _settle(page)
    captions = " ".join(page.locator("[data-testid='stCaptionContainer']").all_inner_texts())
    assert "N=32, D_IN=1000, H=50" in captions and "lr=1e-03" in captions and "RMSprop, momentum 0.5" in captions
    sliders = page.locator("[data-testid='stSidebar'] input[type='range']")
    assert sliders.first.input_value() == "32"
    assert page.locator("[data-testid='stException']").count() == 0
    assert "n=32" in page.url and "optimizer=rmsprop" in page.url


def test_mnist_trains_and_reads_a_drawn_digit(server, page):
    page.goto(f"{server}/mnist")
    _settle(page)
    page.get_by_role("button", name="Train").click()
    page.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
    _settle(page)
    tables_before = page.locator("[data-testid='stDataFrame']").count()
    canvas = page.locator("canvas").last           # the drawing canvas (fabric.js draws on its upper canvas)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 40
    page.mouse.move(x, y)
    page.mouse.down()
    for i in range(1, 21):                          # a vertical stroke: a "1"
        page.mouse.move(x, y + i * 10)
    page.mouse.up()
    # the drawing is read as a digit: its probabilities table appears
    page.wait_for_function(
        "n => document.querySelectorAll(\"[data-testid='stDataFrame']\").length > n", arg=tables_before,
        timeout=60_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Predicted probabilities: 1").count() == 1   # a straight stroke reads as a one
    page.screenshot(path=str(ARTIFACTS / "mnist-drawn-digit.png"))


@pytest.mark.parametrize("path, title", [("", "home.title"), ("custom_function", "stage.custom_function.title")])
def test_korean_pages_in_the_browser(server, page, path, title):
    """?lang=ko draws the page in Korean; the screenshot is readable when the Noto CJK fonts are installed
    (scripts/test.sh installs Debian's fonts-noto-cjk)."""
    page.goto(f"{server}/{path}?lang=ko")
    _settle(page)
    if path:
        page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
        _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert KO[title] in page.locator("h1").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-ko-{path or 'home'}.png"), full_page=False)
