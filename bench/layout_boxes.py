"""Issue 22, item 3: on each teaching page beyond the stages, is the control a student changes on one 1280x720 screen
with the picture it changes, nothing clipped? Opens each page in Chromium at that size (sidebar open) and prints a
table: page, control box, chart box (x, y, width, height in CSS px, at the top of the page), fits yes/no.

    .venv/bin/streamlit run app.py --server.headless true --server.port 8602 &
    .venv/bin/python bench/layout_boxes.py [--url http://127.0.0.1:8602] [--shots DIR] [--only compare,step]

"fits" means both boxes lie wholly inside the viewport without scrolling, and neither the chart nor any of its
matrices scrolls sideways (scrollWidth > clientWidth: a column cut off). MNIST trains one epoch first (a minute or
more on a busy machine) and draws one stroke on the canvas; One step clicks Forward, Backward and Update in turn.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser_support import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

WIDTH, HEIGHT = 1280, 720

# page: (path with query, [(what, control selector, chart selector)], preparation)
CASES = {
    "compare": ("compare", [("log axis", ".st-key-log_y", ".st-key-compare_chart")]),
    "a_vs_b": ("a_vs_b", [("B's value", "[class*='st-key-vs_b_']", ".st-key-versus_chart")]),
    "optimizers": ("optimizers", [("k", ".st-key-opt_k", ".st-key-update_chart"),
                                  ("update of", ".st-key-opt_update_param", ".st-key-update_chart"),
                                  ("state of", ".st-key-opt_state_param", ".st-key-state_heatmap")]),
    "experiments": ("experiments", [("sweep low", ".st-key-sweep_low", ".st-key-sweep_chart")]),
    "own_network": ("own_network", [("layers", ".st-key-own_layers", ".st-key-own_loss_chart")]),
    "mnist": ("mnist?m_epochs=1", [("train form", "[data-testid='stForm']", ".st-key-mnist_loss_chart"),
                                   ("canvas", "canvas.upper-canvas", ".st-key-mnist_drawn_probabilities")]),
    # One step: each button, clicked, and the section of matrices it lights up
    "step": ("step", [(phase, f".st-key-sm_do_{phase}", f".st-key-sm_section_{phase}")
                      for phase in ("forward", "backward", "update")]),
}

MAIN = "[data-testid='stMainBlockContainer']"
CLIPPED_JS = """(sel) => {
  const root = document.querySelector(sel);
  if (!root) return null;
  const boxes = [root, ...root.querySelectorAll('div')];
  return boxes.filter(el => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
              .map(el => `${el.scrollWidth}>${el.clientWidth}`);
}"""


def settle(page, timeout_ms=180_000):
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms)
    page.wait_for_timeout(800)


def box(page, selector):
    loc = page.locator(selector)
    if loc.count() == 0:
        return None
    b = loc.first.bounding_box()
    return None if b is None else tuple(round(b[k]) for k in ("x", "y", "width", "height"))


def inside(b, top: int = 0) -> bool:
    """Wholly on screen, below Streamlit's header (`top`)."""
    return b is not None and b[0] >= 0 and b[1] >= top and b[0] + b[2] <= WIDTH and b[1] + b[3] <= HEIGHT


def prepare(page, name: str, url: str) -> None:
    if name == "mnist":
        page.locator(".st-key-mnist_train button, [data-testid='stFormSubmitButton'] button").first.click()
        page.wait_for_selector(".st-key-mnist_loss_chart", timeout=600_000)
        settle(page)
        canvas = page.locator("canvas.upper-canvas").first   # fabric.js takes the mouse there
        canvas.wait_for(state="visible", timeout=120_000)
        canvas.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        b = canvas.bounding_box()
        page.mouse.move(b["x"] + b["width"] * 0.5, b["y"] + b["height"] * 0.2)
        page.mouse.down()
        page.mouse.move(b["x"] + b["width"] * 0.5, b["y"] + b["height"] * 0.8, steps=12)
        page.mouse.up()
        page.wait_for_selector(".st-key-mnist_drawn_probabilities", timeout=120_000)
        settle(page)


SCROLL_JS = """(el, [where, header]) => {
  el.scrollIntoView({block: where});
  if (where === 'start') {   // under the header, as a reader who scrolls to the control sees it
    let box = el.parentElement;
    while (box && box.scrollHeight <= box.clientHeight) box = box.parentElement;
    (box || window).scrollBy(0, -header);
  }
}"""


def measure(page, selector_control, selector_chart):
    """The boxes where a student can see both at once: at the top of the page, else with the control scrolled to
    just under the header, else with the chart's bottom at the screen's bottom. Which one it took comes back too."""
    header = page.evaluate("() => { const h = document.querySelector('[data-testid=\"stHeader\"]');"
                           " return h ? Math.round(h.getBoundingClientRect().bottom) : 0; }")
    page.evaluate("() => document.querySelectorAll('*').forEach(el => { if (el.scrollTop) el.scrollTop = 0; })")
    page.wait_for_timeout(300)
    control, chart = box(page, selector_control), box(page, selector_chart)
    how = "at the top"
    for selector, where, label in ((selector_control, "start", "control scrolled to"),
                                   (selector_chart, "end", "chart scrolled to")):
        if control is None or chart is None or (inside(control, header) and inside(chart, header)):
            break
        page.locator(selector).first.evaluate(SCROLL_JS, [where, header])   # a locator: it sees into shadow roots
        page.wait_for_timeout(300)
        control, chart, how = box(page, selector_control), box(page, selector_chart), label
    # a page without the chart's key yet (before a change): look for clipping in the whole main area
    clipped = page.evaluate(CLIPPED_JS, selector_chart if chart is not None else MAIN) or []
    fits = inside(control, header) and inside(chart, header) and not clipped
    return control, chart, how, clipped, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8602")
    parser.add_argument("--shots", default="test-artifacts/layout")
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))
    shots = Path(args.shots)
    shots.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        for name, (path, pairs) in CASES.items():
            if only and name not in only:
                continue
            page.goto(f"{args.url}/{path}")
            settle(page)
            try:
                prepare(page, name, args.url)
            except Exception as err:   # a page that cannot be prepared is a row that does not fit, not a crash
                rows.append((name, "prepare", None, None, False, [repr(err)[:60]]))
                continue
            for what, control_sel, chart_sel in pairs:
                if name == "step":
                    page.locator(f"{control_sel} button").click()
                    settle(page)
                try:   # the page's runs end before its chart is drawn (a first visit trains for a while)
                    page.wait_for_selector(chart_sel if name != "step" else control_sel, timeout=240_000)
                    settle(page)
                except Exception:
                    pass   # measured as it is: a missing chart is a row that does not fit
                control, chart, how, clipped, fits = measure(page, control_sel, chart_sel)
                rows.append((name, f"{what} ({how})", control, chart, fits, clipped))
                page.screenshot(path=str(shots / f"{name}-{what.replace(' ', '_')}.png"))
        browser.close()
    print(f"{'page':12} {'control (where both were looked for)':40} {'control box':22} {'chart box':22} fits  clipped")
    for name, what, control, chart, fits, clipped in rows:
        print(f"{name:12} {what:40} {str(control):22} {str(chart):22} {'yes' if fits else 'no ':4}  "
              f"{', '.join(clipped) or '-'}")


if __name__ == "__main__":
    main()
