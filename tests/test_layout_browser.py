"""One screen, one lesson (issue 22): on every stage page, at a classroom's screen sizes, in normal and projector mode,
the lr control and the loss chart are inside the viewport on load, with nothing scrolled; moving the control redraws
the chart, still without scrolling; in projector mode the chart's texts are large enough for the back of a room."""
import pytest

from lib.text.i18n import t
from lib.tutorial.stages import STAGES
from tests.browser_support import ARTIFACTS, browser, server, settle, require_chromium  # noqa: F401 (fixtures)

require_chromium()
pytestmark = pytest.mark.browser

SMALL, LARGE = (1280, 720), (1920, 1080)
MODES = {"normal": "", "projector": "?projector=1"}
# every stage on the small screen; three cases on the large one (each case is a page load and two training runs)
CASES = ([(stage, SMALL, mode) for stage in STAGES for mode in MODES]
         + [("tensors", LARGE, "normal"), ("tensors", LARGE, "projector"), ("optim", LARGE, "projector")])
PROJECTOR_MIN_PX = 18   # chart title, axis titles and tick labels on a projected 1280x720 screen

# The lr control: a keyed widget in the main area (Streamlit's st-key-<key> class; a key named lr, or ..._lr / lr_...),
# else a widget labelled as the sidebar's lr slider; the main area before the sidebar.
FIND_LR_JS = """(label) => {
  const keyed = /^st-key-(.+_)?lr(_.+)?$/;
  for (const root of ['[data-testid="stMain"]', '[data-testid="stSidebar"]']) {
    const area = document.querySelector(root);
    if (!area) continue;
    const byKey = [...area.querySelectorAll('[class*="st-key-"]')].find(e => [...e.classList].some(c => keyed.test(c)));
    const byLabel = [...area.querySelectorAll('[data-testid="stWidgetLabel"]')]
      .find(l => l.innerText.trim() === label)?.closest('[data-testid="stElementContainer"]');
    const found = byKey || byLabel;
    if (found) { found.setAttribute('data-layout-test', 'lr'); return true; }
  }
  return false;
}"""
LR = "[data-layout-test='lr']"
# The loss chart: the stage page's keyed plotly chart, else the first plotly chart of the main area
FIND_CHART = """(() => document.querySelector('[data-testid="stMain"] .st-key-loss_chart [data-testid="stPlotlyChart"]')
  || document.querySelector('[data-testid="stMain"] [data-testid="stPlotlyChart"]'))"""
MARK_CHART_JS = f"() => {{ const c = {FIND_CHART}(); if (c) c.setAttribute('data-layout-test', 'chart'); return !!c; }}"
CHART = "[data-layout-test='chart']"
# the chart's curves as drawn, looked up afresh (a rerun may replace the chart's element)
CHART_PATHS_JS = f"""() => {{
  const chart = {FIND_CHART}();
  return chart ? [...chart.querySelectorAll('path.js-line')].map(p => p.getAttribute('d')).join('|') : null;
}}"""
METRICS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetricValue"]')]
  .map(m => m.innerText).join('|')"""
SCROLLED_JS = """(selectors) => {
  // the window, and every element around the control and the chart that scrolls (Streamlit's main area does)
  const scrolled = window.scrollY > 0 ? ['window:' + window.scrollY] : [];
  for (const sel of selectors) {
    for (let e = document.querySelector(sel)?.parentElement; e; e = e.parentElement) {
      if (e.scrollTop > 0 || e.scrollLeft > 0) scrolled.push(`${e.dataset.testid || e.tagName}:${e.scrollTop}`);
    }
  }
  return scrolled;
}"""
# where a box sits against the viewport and below Streamlit's fixed header (which would cover it)
PLACEMENT_JS = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  const header = document.querySelector('[data-testid="stHeader"]');
  const top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
  return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
          innerWidth: window.innerWidth, innerHeight: window.innerHeight, headerBottom: top};
}"""
CHART_TEXT_SIZES_JS = """(sel) => {
  const chart = document.querySelector(sel);
  const sizes = (css) => [...chart.querySelectorAll(css)].filter(t => t.textContent.trim())
    .map(t => [t.textContent.trim(), parseFloat(getComputedStyle(t).fontSize)]);
  return {title: sizes('text.gtitle'), axis_titles: sizes('text.xtitle, text.ytitle'),
          ticks: sizes('g.xtick text, g.ytick text')};
}"""


# the row the lr control sits in (the stage page's lesson row): labels that wrap to a second line, and boxes whose
# value is cut off (a selectbox's input wider inside than shown); Streamlit's widget labels, its combobox input
ROW_TEXT_JS = """(sel) => {
  const row = document.querySelector(sel).closest('[data-testid="stHorizontalBlock"]');
  if (!row) return null;
  const wrapped = [...row.querySelectorAll('[data-testid="stWidgetLabel"] p')]
    .filter(p => p.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(p).lineHeight))
    .map(p => p.innerText);
  const cut = [...row.querySelectorAll('input[role="combobox"]')]
    .filter(i => i.scrollWidth > i.clientWidth + 1).map(i => i.value);
  return {wrapped, cut};
}"""


def row_reads_whole(page) -> None:
    text = page.evaluate(ROW_TEXT_JS, LR)
    if text is not None:   # the lr control in a row of controls (a stage page's)
        assert text == {"wrapped": [], "cut": []}, f"the lesson's row wraps a label or cuts a value: {text}"


ROW_HEIGHTS_JS = """sel => { const row = document.querySelector(sel);
  return [row.getBoundingClientRect().height, Math.max(...[...row.children].map(c => c.getBoundingClientRect().height))]; }"""


def in_view(page, selector: str, what: str) -> None:
    box = page.evaluate(PLACEMENT_JS, selector)
    assert box["width"] > 0 and box["height"] > 0, f"{what} is not drawn: {box}"
    assert box["left"] >= 0 and box["right"] <= box["innerWidth"], f"{what} is cut off at a side: {box}"
    assert box["top"] >= box["headerBottom"] and box["bottom"] <= box["innerHeight"], \
        f"{what} is not wholly on the screen without scrolling: {box}"


def not_scrolled(page) -> None:
    scrolled = page.evaluate(SCROLLED_JS, [LR, CHART])
    assert scrolled == [], f"the page scrolled: {scrolled}"


def open_stage(browser, server, stage: str, size: tuple[int, int], mode: str):  # noqa: F811 (fixture name)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.goto(f"{server}/{stage}{MODES[mode]}")
    settle(page, timeout_ms=120_000)
    page.wait_for_selector("[data-testid='stMain'] [data-testid='stPlotlyChart'] .main-svg", timeout=120_000)
    settle(page, timeout_ms=120_000)
    return context, page


@pytest.mark.parametrize("stage, size, mode", CASES, ids=[f"{s}-{w}x{h}-{m}" for s, (w, h), m in CASES])
def test_lr_control_and_loss_chart_share_one_screen(browser, server, stage, size, mode):  # noqa: F811
    context, page = open_stage(browser, server, stage, size, mode)
    try:
        name = f"layout-{stage}-{size[0]}x{size[1]}-{mode}"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.evaluate(FIND_LR_JS, t("settings.lr", "en")), "no lr control on the page"
        assert page.evaluate(MARK_CHART_JS), "no loss chart in the main area"
        not_scrolled(page)
        in_view(page, LR, "the lr control")
        in_view(page, CHART, "the loss chart")
        row_reads_whole(page)
        if mode == "normal":   # the chart's own controls over it, on the first screen too (projector: under it)
            in_view(page, ".st-key-loss_controls", "the loss chart's controls (log axis)")
        chart_top = page.locator(CHART).bounding_box()["y"]
        if mode == "projector":
            sizes = page.evaluate(CHART_TEXT_SIZES_JS, CHART)
            for part, texts in sizes.items():
                assert texts, f"the chart has no {part}"
                small = [(text, px) for text, px in texts if px < PROJECTOR_MIN_PX]
                assert not small, f"projector mode: the chart's {part} under {PROJECTOR_MIN_PX} px: {small}"
            # its controls under the chart, below the fold: their row takes their own height, no room held for more
            row, tallest = page.evaluate(ROW_HEIGHTS_JS, ".st-key-loss_controls")
            assert row <= tallest + 1, f"projector mode: the loss controls' row is {row} px for {tallest} px of controls"

        before = page.evaluate(CHART_PATHS_JS)
        assert before, "the loss chart draws no curve"
        metrics_before = page.evaluate(METRICS_JS)
        thumb = page.locator(f"{LR} input[type='range']")
        assert thumb.count() == 1, "the lr control is no slider"
        lr_before = page.locator(f"{LR} [data-testid='stSliderThumbValue']").inner_text()
        # one step down the log scale: a smaller lr trains everywhere the larger one did
        thumb.press("ArrowLeft")
        page.wait_for_function(f"before => {{ const now = ({CHART_PATHS_JS})(); return now && now !== before; }}",
                               arg=before, timeout=120_000)
        settle(page, timeout_ms=120_000)
        if metrics_before:   # the final loss says so too (a replayed curve also moves by itself)
            page.wait_for_function(f"before => ({METRICS_JS})() !== before", arg=metrics_before, timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / f"{name}-moved.png"))
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.evaluate(FIND_LR_JS, t("settings.lr", "en")) and page.evaluate(MARK_CHART_JS)
        assert page.locator(f"{LR} [data-testid='stSliderThumbValue']").inner_text() != lr_before, "lr did not move"
        not_scrolled(page)
        in_view(page, LR, "the lr control, after the move")
        in_view(page, CHART, "the loss chart, after the move")
        # the first move makes an earlier run, so the overlay's control appears: the chart under it stays put
        assert abs(page.locator(CHART).bounding_box()["y"] - chart_top) < 1, "the loss chart jumped on the move"
        if mode == "normal":
            assert page.locator(".st-key-loss_controls [data-testid='stMultiSelect']").count() == 1, "no overlay"
            in_view(page, ".st-key-loss_controls", "the loss chart's controls with the overlay of earlier runs")
    finally:
        context.close()


def test_the_code_and_the_link_are_one_click_away(browser, server):  # noqa: F811
    """The popover beside the title and the sidebar's link box draw what they hold when opened (a rerun: every
    setting changes the code and the link, and re-sending them closed cost each move a re-render): one click shows
    the tutorial's code, on screen, and the link with the page's settings and its QR code."""
    context, page = open_stage(browser, server, "tensors", SMALL, "normal")
    try:
        main = page.locator("[data-testid='stMain']")
        assert main.locator("[data-testid='stCode']").count() == 0   # closed: nothing of it is sent
        main.get_by_role("button", name=t("layout.whats_new_code", "en")).click()
        code = page.locator("[data-testid='stPopoverBody'] [data-testid='stCode']").first
        code.wait_for(timeout=60_000)
        assert "w1 -= learning_rate * grad_w1" in code.inner_text()
        in_view(page, "[data-testid='stPopoverBody']", "the code's popover")
        page.keyboard.press("Escape")
        sidebar = page.locator("[data-testid='stSidebar']")
        sidebar.get_by_text(t("settings.link", "en")).click()
        link = sidebar.locator(".st-key-share_link [data-testid='stCode']")
        link.wait_for(timeout=60_000)
        assert "/tensors?" in link.inner_text() and "lr=" in link.inner_text()
        qr = sidebar.locator("[data-testid='stImage'] img")
        qr.first.wait_for(timeout=30_000)   # its QR code, drawn once the link is
        assert qr.count() == 1
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()


TABS_JS = """() => [...document.querySelectorAll("[data-testid='stMain'] [role='tablist']")]
  .map(list => [list.scrollWidth, list.clientWidth, [...list.querySelectorAll('[role=tab]')].map(tab => tab.innerText)])"""


@pytest.mark.parametrize("page_path", ["tensors", "own_network"])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_tab_label_reads_whole_at_1280x720(browser, server, page_path, lang):  # noqa: F811
    """The stage pages' tabs (the own network's sit in the right of two columns): at 1280x720, sidebar open, every
    label on screen, none behind the tab list's scroll arrow."""
    context, page = open_stage(browser, server, f"{page_path}?lang={lang}", SMALL, "normal")
    try:
        (scroll_width, width, labels), = page.evaluate(TABS_JS)
        assert labels == [t(f"stage_page.tab.{tab}", lang) for tab in ("loss", "gradients", "graph", "histograms")]
        assert scroll_width <= width + 1, f"the tabs {labels} need {scroll_width} px of {width}"
    finally:
        context.close()
