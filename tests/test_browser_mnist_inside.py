"""In a real browser: "inside the model" on the MNIST page, for the MLP and the CNN, with screenshots of each view
(test-artifacts/mnist-inside-*.png). Uses tests/browser_support.py's server and page."""
import pytest

from tests.browser_support import ARTIFACTS, settle, page, server, require_chromium  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
require_chromium()


def _shot(pg, heading: str, name: str) -> None:
    """The section under `heading`, scrolled into view, as a screenshot."""
    pg.get_by_role("heading", name=heading).first.scroll_into_view_if_needed()
    pg.wait_for_timeout(1500)   # plotly draws a moment after the section is on screen
    pg.screenshot(path=str(ARTIFACTS / name))


def _train(pg) -> None:
    pg.get_by_role("button", name="Train").click()
    pg.wait_for_selector("[data-testid='stMetric']", timeout=120_000)
    pg.get_by_role("heading", name="Why it answers").first.wait_for(timeout=120_000)
    settle(pg)


def test_inside_the_mlp_and_the_cnn(server, page):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{server}/mnist?m_epochs=2")
    settle(page)
    _train(page)
    _shot(page, "What the MLP learned", "mnist-inside-mlp.png")
    _shot(page, "Why it answers", "mnist-inside-saliency.png")
    _shot(page, "Learning, epoch by epoch", "mnist-inside-panel.png")
    assert page.locator("[data-testid='stException']").count() == 0

    page.get_by_text("CNN: two convolutions").first.click()
    _train(page)
    _shot(page, "What the CNN sees", "mnist-inside-cnn.png")
    page.get_by_text("conv2", exact=True).first.click()
    page.get_by_text("conv2 feature maps").first.wait_for(timeout=60_000)
    settle(page)
    page.get_by_text("input map 7").first.scroll_into_view_if_needed()   # conv2's pixel, written out
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "mnist-inside-cnn-conv2.png"))
    assert page.locator("[data-testid='stException']").count() == 0
