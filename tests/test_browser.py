"""End to end in a real browser: start the server, visit every page, move a slider, no exception anywhere."""
import io
from pathlib import Path

import pytest

from lib.text.i18n import KO
from tests.browser_support import ARTIFACTS, settle, page, server, require_chromium  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
require_chromium()


PAGES = ["", "tensors", "autograd", "custom_function", "nn_module", "optim", "custom_module", "dynamic_net",
         "compare", "optimizers", "mnist", "experiments", "step", "own_network", "lessons", "a_vs_b"]
CHARTLESS = {"", "mnist", "step", "lessons"}   # pages that draw no loss chart before the visitor acts


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_without_exception(server, page, path):
    page.goto(f"{server}/{path}")
    settle(page)
    if path not in CHARTLESS:   # every stage page, Compare, A against B, ... draw a chart once training is done
        page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
        settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("h1").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{path or 'home'}.png"), full_page=False)


def test_moving_a_slider_retrains(server, page):
    page.goto(f"{server}/tensors")
    settle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    final_before = page.locator("[data-testid='stMetricValue']").nth(1).inner_text()
    # the N slider, in the lesson's row over the chart: set 60 without committing, then one key press commits 61
    # (one rerun, of the row's fragment)
    slider = page.locator("[data-testid='stMain'] .st-key-n input[type='range']")
    slider.fill("60")
    slider.press("ArrowRight")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".some(e => e.innerText.includes('N=61,'))", timeout=60_000)
    settle(page)
    # the rerun's metrics can reach the screen a little after the status widget stops saying "Running"
    page.wait_for_function(
        "before => document.querySelectorAll('[data-testid=\"stMetricValue\"]')[1].innerText !== before",
        arg=final_before, timeout=30_000)
    assert page.locator("[data-testid='stMetricValue']").nth(1).inner_text() != final_before
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "slider-moved.png"))


def test_a_shared_link_opens_with_its_settings(server, page):
    page.goto(f"{server}/optim?n=32&hidden=50&lr=0.001&optimizer=rmsprop&momentum=0.5&steps=40&seed=7")
    settle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    settle(page)
    captions = " ".join(page.locator("[data-testid='stCaptionContainer']").all_inner_texts())
    assert "N=32, D_IN=1000, H=50" in captions and "lr=1e-03" in captions and "RMSprop, momentum 0.5" in captions
    assert page.locator("[data-testid='stMain'] .st-key-n input[type='range']").input_value() == "32"
    assert page.locator("[data-testid='stException']").count() == 0
    assert "n=32" in page.url and "optimizer=rmsprop" in page.url


INK_COLUMNS_JS = """(() => {
    // the "what the model sees" heatmap: how many of its 28 columns hold ink (> 0.5)
    const plot = [...document.querySelectorAll('.js-plotly-plot')].find(
        p => p.layout && p.layout.title && String(p.layout.title.text || p.layout.title).includes('28×28'));
    if (!plot) return -1;
    const z = Array.from(plot._fullData[0].z, row => Array.from(row));   // decoded, whatever the transport
    let columns = 0;
    for (let c = 0; c < 28; c++) if (z.some(row => row[c] > 0.5)) columns++;
    return columns;
})"""
def _ink_at(canvas, dx, dy) -> bool:
    """Is the canvas dark around (dx, dy) from its top centre, as shown on screen (black ink on white)?"""
    from PIL import Image
    shot = Image.open(io.BytesIO(canvas.screenshot())).convert("L")
    x, y = shot.width // 2 + dx, dy
    return shot.crop((x - 2, y - 2, x + 3, y + 3)).getextrema()[0] < 200   # grey while a rerun runs


def _stroke(pg, points):
    pg.mouse.move(*points[0])
    pg.mouse.down()
    for point in points[1:]:
        pg.mouse.move(*point)
    pg.mouse.up()


def _strokes_caption(pg, n):
    pg.wait_for_function(
        "n => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".some(e => e.innerText.startsWith('Strokes on the canvas: ' + n + '.'))", arg=n, timeout=60_000)
    settle(pg)


def test_mnist_keeps_a_drawing_of_two_strokes_and_an_upload_tab_open(server, page, tmp_path):
    page.goto(f"{server}/mnist")
    settle(page)
    page.get_by_role("button", name="Train").click()
    page.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
    settle(page)
    canvas = page.locator("canvas.upper-canvas").first   # the drawing canvas: fabric.js takes the mouse there

    def at(dx, dy):
        """A point of the canvas, from its top centre, where it is on screen now (a rerun may scroll the page)."""
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        return box["x"] + box["width"] / 2 + dx, box["y"] + dy

    _stroke(page, [at(0, 40 + i * 10) for i in range(21)])             # a vertical stroke: a "1"
    _strokes_caption(page, 1)
    page.get_by_text("Predicted probabilities: 1").first.wait_for(timeout=30_000)   # a straight stroke: a one
    page.wait_for_function(INK_COLUMNS_JS + "() > 0", timeout=30_000)
    assert page.evaluate(INK_COLUMNS_JS) <= 8
    # a second stroke across the first, after the rerun the first one caused: a "+"
    start = at(-100, 140)
    _stroke(page, [(start[0] + i * 10, start[1]) for i in range(21)])
    _strokes_caption(page, 2)
    assert _ink_at(canvas, 0, 60), "the first stroke is still on the canvas"
    assert _ink_at(canvas, -80, 140), "the second stroke is on the canvas"
    # the model sees both strokes, not only the last one (a plotly chart draws a moment after the rerun)
    page.wait_for_function(INK_COLUMNS_JS + "() >= 15", timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "mnist-drawn-digit.png"))

    page.get_by_role("button", name="Clear the drawing").click()
    page.wait_for_function(
        "() => ![...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".some(e => e.innerText.startsWith('Strokes on the canvas'))", timeout=60_000)
    settle(page)
    assert not _ink_at(canvas, 0, 60), "Clear empties the canvas"
    assert page.get_by_text("Predicted probabilities").count() == 0

    # an upload keeps the upload tab open, with its result
    from PIL import Image
    picture = Image.new("L", (120, 160), 255)
    picture.paste(0, (50, 20, 70, 140))
    picture.save(tmp_path / "one.png")
    page.get_by_role("tab", name="Upload").click()
    settle(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(tmp_path / "one.png"))
    page.get_by_text("Predicted probabilities: 1").first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_role("tab", name="Upload").get_attribute("aria-selected") == "true"
    assert page.get_by_text("Predicted probabilities: 1").first.is_visible()
    # a file that is no picture: the error is shown, in the upload tab, which stays open
    (tmp_path / "notes.png").write_bytes(b"not a picture at all")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(tmp_path / "notes.png"))
    page.wait_for_selector("[data-testid='stAlertContentError']", timeout=60_000)
    settle(page)
    assert page.get_by_role("tab", name="Upload").get_attribute("aria-selected") == "true"
    assert page.get_by_text("This upload cannot be read as a digit").first.is_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "mnist-upload.png"))


def test_a_korean_browser_opens_the_app_in_korean(server, page):
    context = page.context.browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
    try:
        pg = context.new_page()
        pg.goto(f"{server}/tensors")
        settle(pg)
        assert any("\uac00" <= ch <= "\ud7a3" for ch in pg.locator("h1").first.inner_text()), "a Korean title"
        pg.wait_for_function("() => location.search.includes('lang=ko')", timeout=30_000)
        pg.goto(f"{server}/tensors?lang=en")   # a link's ?lang= still wins (a fresh session)
        settle(pg)
        assert not any("\uac00" <= ch <= "\ud7a3" for ch in pg.locator("h1").first.inner_text())
    finally:
        context.close()


@pytest.mark.parametrize("path, title", [("", "home.title"), ("custom_function", "stage.custom_function.title")])
def test_korean_pages_in_the_browser(server, page, path, title):
    """?lang=ko draws the page in Korean; the screenshot is readable when the Noto CJK fonts are installed
    (scripts/test.sh installs Debian's fonts-noto-cjk)."""
    page.goto(f"{server}/{path}?lang=ko")
    settle(page)
    if path:
        page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
        settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert KO[title] in page.locator("h1").first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-ko-{path or 'home'}.png"), full_page=False)


def test_downloads_are_made_when_clicked(server, page):
    """The stage page's downloads are made on the click (deferred), not on every rerun, and a click does not rerun
    the page: one download right after another, both arrive whole."""
    page.goto(f"{server}/tensors?steps=25&lang=en")
    settle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    page.get_by_role("button", name="Take it with you").click()   # the popover that holds them
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Loss curves (CSV)").click(timeout=30_000)
    lines = Path(info.value.path()).read_text().strip().splitlines()
    assert lines[0].startswith("step,") and len(lines) == 1 + 25
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="This stage as a script (.py)").click()
    script = Path(info.value.path()).read_text()
    compile(script, "tensors.py", "exec")
    assert "range(25)" in script


def _section_shot(pg, header: str, name: str, height: int = 1000, role: str = "heading") -> None:
    """A screenshot of a viewport `height` tall with the section under `header` (a heading, or a tab) at its top."""
    pg.set_viewport_size({"width": 1400, "height": height})
    try:
        pg.get_by_role(role, name=header).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        pg.wait_for_timeout(800)
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / name), full_page=False)
    finally:
        pg.set_viewport_size({"width": 1400, "height": 1000})


def test_the_gradients_and_graph_tabs_of_a_stage_page(server, page):
    """A stage page opens on its loss curve; the other tabs are computed when clicked, and the open tab is in the
    URL (so "Link to this setup" opens it). MyReLU's backward broken: the w1 row turns red (README's picture)."""
    page.goto(f"{server}/custom_function?broken=1")
    settle(page)
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=60_000)
    assert page.locator("[data-testid='stGraphVizChart']").count() == 0
    page.get_by_role("tab", name="Hand-written vs autograd").click()
    page.wait_for_selector("[data-testid='stDataFrame']", timeout=120_000)
    settle(page)
    assert "tab=gradients" in page.url
    _section_shot(page, "Hand-written vs autograd", "gradients-tab.png", height=1500, role="tab")
    page.get_by_role("tab", name="Computation graph").click()
    page.wait_for_selector("[data-testid='stGraphVizChart'] svg", timeout=120_000)
    settle(page)
    svg = page.locator("[data-testid='stGraphVizChart'] svg").first.inner_html()
    assert "BrokenMyReLUBackward" in svg and "w1" in svg   # the broken backward is still its own node
    assert page.locator("[data-testid='stException']").count() == 0
    _section_shot(page, "Computation graph", "graph-section.png", height=2100, role="tab")


def test_the_step_mode_after_forward_and_backward(server, page):
    page.goto(f"{server}/step")
    settle(page)
    for button in ("Forward", "Backward"):
        page.get_by_role("button", name=button, exact=True).click()
        settle(page)
    # autograd's copies sit in a folded box under the hand-written ones (the matrices the buttons light up first)
    page.get_by_text("Autograd's gradients of the same numbers, to check these against").first.click()
    page.get_by_text("autograd: grad_w1").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    _section_shot(page, "One step, every number", "step-mode-backward.png", height=1500)


def test_the_histograms_and_the_landscape(server, page):
    page.goto(f"{server}/tensors?lr=5e-06&hist=w1")
    settle(page)
    page.get_by_role("tab", name="Weights and gradients", selected=True).wait_for(timeout=120_000)
    page.locator("[data-testid='stPlotlyChart']").last.wait_for(timeout=120_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("heading", name="Weights and gradients").count() == 0   # the tab says it
    _section_shot(page, "Weights and gradients", "histograms.png", role="tab")
    page.goto(f"{server}/optimizers")
    settle(page)
    page.get_by_role("heading", name="The landscape the optimizers walk").first.wait_for(timeout=120_000)
    settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    _section_shot(page, "The landscape the optimizers walk", "landscape.png")
