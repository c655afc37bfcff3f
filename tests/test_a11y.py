"""Accessibility (issue 22): axe-core, WCAG 2.2 A and AA, over every page in English and Korean. A critical or serious
violation in what the app renders fails; one inside Streamlit's own markup (STREAMLIT_MARKUP) does not, and is written
with the upstream issue it belongs to into test-artifacts/axe-streamlit.md (docs/accessibility.md keeps the list)."""
import pytest

from tests.browser_support import ARTIFACTS, browser, server, settle, require_chromium  # noqa: F401 (fixtures)
from tests.test_browser import CHARTLESS, PAGES

require_chromium()
axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright")
pytestmark = pytest.mark.browser

LANGUAGES = ("en", "ko")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
FAILING_IMPACTS = ("critical", "serious")
UMBRELLA = "https://github.com/streamlit/streamlit/issues/8399"   # Streamlit's open "basic accessibility" issue
# Streamlit's own markup: rule -> (a selector a node must sit inside, why it is Streamlit's, the upstream issue)
STREAMLIT_MARKUP = {
    "list": ('[data-testid="stSidebarNav"]',
             "the navigation's <ul> holds each section's <div>, the pages' <li> sit in those", UMBRELLA),
    "listitem": ('[data-testid="stSidebarNav"]', "the same: a page's <li> has a <div>, not a <ul>, as parent",
                 UMBRELLA),
    "scrollable-region-focusable": ('[data-testid="stCode"]',
                                    "st.code's <pre> scrolls but takes no keyboard focus (no tabindex)", UMBRELLA),
    "color-contrast": ('[data-testid="stCode"] .token',
                       "st.code's syntax colours are fixed palette values (gray70 comments, blue70 keywords, "
                       "green80 strings on #f7f7f6: 2.8-3.6:1), not theme options",
                       "https://github.com/streamlit/streamlit/pull/3760 (where they came from); theming them: "
                       "https://github.com/streamlit/streamlit/issues/12426"),
}
# which of a violation's nodes lie inside Streamlit's markup for that rule (its target, looked up in the page)
INSIDE_JS = """([targets, where]) => targets.map(t => {
  const el = Array.isArray(t) && t.length === 1 && typeof t[0] === 'string' ? document.querySelector(t[0]) : null;
  return !!(el && el.closest(where));
})"""
# a chart that carries a result says so in text: its own title, or an aria-label on it
UNNAMED_CHARTS_JS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stPlotlyChart"]')]
  .filter(c => !(c.querySelector('text.gtitle')?.textContent.trim()
                 || c.closest('[aria-label]')?.getAttribute('aria-label')?.trim()))
  .map(c => c.closest('[class*="st-key-"]')?.className.match(/st-key-\\S+/)?.[0] || 'a chart without a key')"""

streamlit_findings: dict[tuple[str, str], dict] = {}


@pytest.fixture(scope="module", autouse=True)
def streamlit_report():
    """After the module: Streamlit's own violations, by rule, with the pages and targets they came from."""
    yield
    if not streamlit_findings:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    lines = ["# axe-core: violations inside Streamlit's own markup", "",
             "Written by tests/test_a11y.py (WCAG 2.2 A/AA; critical and serious only). Not the app's to fix; "
             "each names the upstream issue it belongs to.", ""]
    for (rule, impact), found in sorted(streamlit_findings.items()):
        where, why, upstream = STREAMLIT_MARKUP[rule]
        lines += [f"## {rule} ({impact})", "", f"- why it is Streamlit's: {why}", f"- upstream: {upstream}",
                  f"- pages: {', '.join(sorted(found['pages']))}", "- targets (a sample):"]
        lines += [f"  - `{target}`" for target in sorted(found["targets"])[:6]]
        lines.append("")
    (ARTIFACTS / "axe-streamlit.md").write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def pages_by_language(browser):  # noqa: F811 (fixture name)
    """One browser context per language: each a session that keeps its language across page switches."""
    contexts = {lang: browser.new_context(viewport={"width": 1280, "height": 720}) for lang in LANGUAGES}
    yield {lang: context.new_page() for lang, context in contexts.items()}
    for context in contexts.values():
        context.close()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("path", PAGES)
def test_no_serious_violation_in_what_the_app_renders(server, pages_by_language, path, lang):  # noqa: F811
    page = pages_by_language[lang]
    page.goto(f"{server}/{path}?lang={lang}")
    settle(page, timeout_ms=120_000)
    if path not in CHARTLESS:
        page.wait_for_selector("[data-testid='stMain'] [data-testid='stPlotlyChart'] .main-svg", timeout=120_000)
        settle(page, timeout_ms=120_000)
    assert page.evaluate("() => document.documentElement.lang") != "", "the page names no language"
    results = axe_sync.Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS},
                                                "resultTypes": ["violations"]})
    own = []
    for violation in results.response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        nodes = violation["nodes"]
        known = STREAMLIT_MARKUP.get(violation["id"])
        inside = page.evaluate(INSIDE_JS, [[n["target"] for n in nodes], known[0]]) if known else [False] * len(nodes)
        for node, streamlits in zip(nodes, inside):
            if streamlits:
                found = streamlit_findings.setdefault((violation["id"], violation["impact"]),
                                                      {"pages": set(), "targets": set()})
                found["pages"].add(f"/{path}?lang={lang}")
                found["targets"].add(" ".join(map(str, node["target"]))[:160])
            else:
                own.append(f"{violation['id']} ({violation['impact']}): {node['target']} {node['html'][:120]}"
                           f" | {(node.get('failureSummary') or '').splitlines()[-1][:160]}")
    assert not own, f"/{path}?lang={lang}: the app's own violations:\n" + "\n".join(own)
    unnamed = page.evaluate(UNNAMED_CHARTS_JS)
    assert not unnamed, f"/{path}?lang={lang}: charts without a title or aria-label: {unnamed}"
