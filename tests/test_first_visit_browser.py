"""A server's first visitor may open any page's URL first: each page, on a fresh server, comes up inside app.py's
frame, with no "Page not found".

Streamlit starts every server process in its legacy pages/ mode (pages/ sits beside app.py) until app.py's
st.navigation runs once; in that mode it finds a URL by a file's name in pages/ (ui/frame.py, ensure_app_frame). So
each page's URL is its file's name (Home's is "/"), and each case here needs a server no one has visited yet.
"""
from urllib.parse import urlsplit

import pytest

from lib.text.i18n import t
from tests.browser_support import ROOT, browser, settle, streamlit_server, require_chromium  # noqa: F401 (fixtures)

require_chromium()
pytestmark = pytest.mark.browser

PAGES = sorted(path.stem for path in (ROOT / "pages").glob("*.py") if path.stem != "__init__")
URLS = {page: "" if page == "home" else page for page in PAGES}


@pytest.mark.parametrize("page_file", PAGES)
def test_a_first_visitor_opening_a_page_gets_it_in_the_frame(browser, page_file):
    url_path = URLS[page_file]
    with streamlit_server(TRAIN_WORKERS="0") as server:   # jobs in the page's thread: no pool to start per case
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            tab = context.new_page()
            tab.goto(f"{server}/{url_path}")
            settle(tab, timeout_ms=180_000)
            assert tab.get_by_text("Page not found").count() == 0, f"/{url_path}: Streamlit's Page not found dialog"
            assert urlsplit(tab.url).path.strip("/") == url_path, \
                f"sent on to {tab.url}: app.py's url_path for pages/{page_file}.py is not {url_path!r}"
            # app.py's frame: its navigation's sections and its language switch in the sidebar
            nav = tab.locator("[data-testid='stSidebarNav']")
            assert nav.get_by_text(t("nav.stages"), exact=True).count() == 1, f"/{url_path}: not app.py's navigation"
            assert tab.locator("[data-testid='stSidebar'] .st-key-lang").count() == 1, f"/{url_path}: no frame"
            titles = tab.locator("[data-testid='stMain'] h1").all_inner_texts()
            assert titles and (page_file == "home") == (titles[0].strip() == t("home.title")), titles
            assert tab.locator("[data-testid='stException']").count() == 0
        finally:
            context.close()
