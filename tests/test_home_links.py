"""Home links every page of app.py's navigation, with the navigation's icon and a label in the visitor's language:
the pages are read from app.py's own st.navigation call, so a page added there without a link on Home fails here."""
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.text.i18n import LANGUAGES, TEXTS

pytestmark = pytest.mark.slow   # every test here runs a page in AppTest
APP = str(Path(__file__).resolve().parents[1] / "app.py")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# the pages added after the first four, by url_path, and their labels' keys (locales/*/home_links.toml)
NEWER = {"lessons": "home.link_lessons", "step": "home.link_step_mode", "a_vs_b": "home.link_a_vs_b",
         "own_network": "home.link_own_network", "board": "home.link_board"}


def open_home(lang: str, monkeypatch) -> tuple[AppTest, list]:
    """Home in `lang`, and the pages app.py handed to st.navigation on that run."""
    pages = []
    navigation = st.navigation

    def recording(spec, **kwargs):
        pages.extend(page for group in (spec.values() if isinstance(spec, dict) else [spec]) for page in group)
        return navigation(spec, **kwargs)
    monkeypatch.setattr(st, "navigation", recording)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, pages


def map_links(at: AppTest) -> dict[str, list]:
    """Home's links to pages as they are (a preset's link carries settings in its query string), by url_path."""
    links = {}
    for link in at.get("page_link"):
        if not link.proto.query_string:
            links.setdefault(link.proto.page, []).append(link.proto)
    return links


def missing_links(at: AppTest, pages: list) -> list[str]:
    """What is wrong with Home's links to the navigation's pages (Home itself, the default page, aside)."""
    links = map_links(at)
    problems = []
    for page in pages:
        if page.url_path == "":
            continue
        found = links.get(page.url_path, [])
        if len(found) != 1:
            problems.append(f"{page.title} ({page.url_path}): {len(found)} links on Home")
        elif found[0].icon != (page.icon or ""):
            problems.append(f"{page.title}: icon {found[0].icon!r} on Home, {page.icon!r} in the navigation")
    return problems


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_home_links_every_page_of_the_navigation(lang, monkeypatch):
    at, pages = open_home(lang, monkeypatch)
    assert len(pages) >= 16 and set(NEWER) <= {page.url_path for page in pages}
    assert not missing_links(at, pages)
    assert len(map_links(at)) == len(pages) - 1, "a link to a page the navigation does not have"
    links = map_links(at)
    for url_path, key in NEWER.items():
        assert links[url_path][0].label == TEXTS[lang][key]
    if lang == "ko":
        assert all(HANGUL.search(link.label) for url_path in NEWER for link in links[url_path])


def test_a_page_without_a_link_on_home_is_named(monkeypatch):
    """The broken variant: Home drawn without its link to one page; the same check names that page."""
    page_link = st.page_link

    def all_but_own_network(page, *args, **kwargs):
        if page != "pages/own_network.py":
            page_link(page, *args, **kwargs)
    monkeypatch.setattr(st, "page_link", all_but_own_network)
    at, pages = open_home("en", monkeypatch)
    problems = missing_links(at, pages)
    assert len(problems) == 1 and "(own_network): 0 links" in problems[0], problems
