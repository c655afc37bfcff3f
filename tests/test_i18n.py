"""The language switch: both tables complete and alike, every page drawn in Korean, the choice kept in the URL."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.text import i18n
from lib.text.i18n import EN, KO, LANGUAGES, TEXTS, t
from lib.tutorial.stages import STAGE_NAMES
from tests.page_support import open_stage_tab
from ui.stage_page import TAB_IDS as STAGE_TABS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# {name}, {name:.0e}, {name:,}: the fields a template fills (LaTeX braces count too, and must match as well)
PLACEHOLDER = re.compile(r"\{(\w[\w.-]*)[^{}]*\}")
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([^"'{}]+)["']""")
SOURCES = [ROOT / "app.py", *(path for folder in ("pages", "ui", "lib") for path in sorted((ROOT / folder).rglob("*.py")))]


def text_problems(texts: dict[str, dict[str, str]]) -> list[str]:
    """One line for every key a language lacks or has beyond the default language, and for every text whose
    placeholders are not the default language's."""
    default = texts[i18n.DEFAULT]
    problems = []
    for lang, table in texts.items():
        problems += [f"{lang} lacks {key!r}" for key in sorted(set(default) - set(table))]
        problems += [f"{lang} has {key!r}, which {i18n.DEFAULT} lacks" for key in sorted(set(table) - set(default))]
        for key in sorted(set(default) & set(table)):
            want, got = set(PLACEHOLDER.findall(default[key])), set(PLACEHOLDER.findall(table[key]))
            if want != got:
                problems.append(f"{lang} {key!r} fills {sorted(got)}, {i18n.DEFAULT} fills {sorted(want)}")
    return problems


def test_every_language_has_the_same_keys_and_placeholders():
    assert set(i18n.TEXTS) == set(i18n.LANGUAGES) >= {"en", "ko"}
    problems = text_problems(i18n.TEXTS)
    assert not problems, f"{len(problems)} problems in locales/:\n" + "\n".join(problems)


def test_the_text_check_lists_every_missing_extra_and_mismatched_key(monkeypatch):
    key = next(k for k in sorted(EN) if PLACEHOLDER.search(EN[k]))
    ko = {k: v for k, v in KO.items() if k != "home.title"}
    ko["no.such.key"] = "없는 키"
    ko[key] = "자리표시자가 없는 글"
    monkeypatch.setattr(i18n, "TEXTS", {**TEXTS, "ko": ko})
    with pytest.raises(AssertionError) as failed:
        test_every_language_has_the_same_keys_and_placeholders()
    message = str(failed.value)
    assert "3 problems" in message
    assert "ko lacks 'home.title'" in message and "ko has 'no.such.key', which en lacks" in message
    assert f"ko {key!r} fills [], en fills {sorted(set(PLACEHOLDER.findall(EN[key])))}" in message


def test_every_key_the_code_uses_exists():
    used = {key for path in SOURCES for key in LITERAL_KEY.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 150, "the scan found too few keys: has the call pattern changed?"
    for lang in LANGUAGES:
        assert not used - set(TEXTS[lang]), f"{lang} lacks {sorted(used - set(TEXTS[lang]))}"


def test_a_missing_key_is_an_error_not_a_fallback():
    with pytest.raises(KeyError):
        t("no.such.key", "ko")
    assert t("grad.agree", "ko", rows=3, tol="1e-5", dtype="float32").startswith("✓ 3개")


def test_korean_is_korean():
    """A Korean text that is only code (a name like "SGD") may equal its English; prose may not."""
    same = [key for key in EN if EN[key] == KO[key]]
    assert all(not re.search(r"[a-z]{3,} [a-z]{3,}", KO[key]) or "`" in KO[key] for key in same), same
    prose = [key for key in KO if len(EN[key]) > 40 and not HANGUL.search(KO[key])]
    assert not prose


def open_in(lang: str, page: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("MNIST_ROOT", str(ROOT.parent / "shared" / "data"))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()   # Home first, as a visitor who opens the app and then a page
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


EVERY_PAGE = sorted(path.stem for path in (ROOT / "pages").glob("*.py") if path.stem != "__init__")


@pytest.mark.slow
@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_renders_in_korean(page, monkeypatch):
    at = open_in("ko", f"pages/{page}.py", monkeypatch)
    assert HANGUL.search(at.title[0].value), at.title[0].value
    home = t("home.title", "ko")
    assert page == "home" or at.title[0].value != home, "Home was drawn instead of the page"
    assert at.sidebar.radio(key="lang").value == "ko"
    assert at.query_params["lang"] == "ko"
    assert not at.error
    if page in STAGE_NAMES:
        assert at.title[0].value == KO[f"stage.{page}.title"]
        assert at.button(key="reset").label == KO["settings.reset"]
        assert [tab.label for tab in at.tabs] == [KO[f"stage_page.tab.{tab}"] for tab in STAGE_TABS]
        open_stage_tab(at, "gradients", "ko")
        assert at.success and at.success[0].value.startswith("✓") and HANGUL.search(at.success[0].value)
        assert list(at.dataframe[0].value[KO["column.match"]]) == ["✓"] * len(at.dataframe[0].value)


@pytest.mark.slow
def test_the_sidebar_switch_redraws_the_page_and_keeps_the_choice_in_the_url():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/autograd.py").run()
    assert at.title[0].value == EN["stage.autograd.title"]
    at.slider(key="n").set_value(32).run()
    final = next(m.value for m in at.metric if m.label == EN["metric.final_loss"])
    at.sidebar.radio(key="lang").set_value("ko").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == KO["stage.autograd.title"]
    assert at.query_params["lang"] == "ko"
    assert at.slider(key="n").value == 32                        # the settings survive the switch
    assert next(m.value for m in at.metric if m.label == KO["metric.final_loss"]) == final


@pytest.mark.slow
def test_widgets_with_translated_options_keep_working_in_korean():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = "ko"
    at.switch_page("pages/dynamic_net.py").run()
    at.selectbox(key="optimizer").set_value("adam").run()
    open_stage_tab(at, "gradients", "ko")
    at.radio(key="dyn_depth").set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="optimizer").value == "adam" and at.radio(key="dyn_depth").value == 2
    assert "**2**" in " ".join(md.value for md in at.markdown)
    at.switch_page("pages/compare.py").run()                    # the choice follows the session to other pages
    assert at.title[0].value == KO["compare.title"]
    at.sidebar.radio(key="lang").set_value("en").run()
    assert at.title[0].value == EN["compare.title"] and at.query_params["lang"] == "en"


@pytest.mark.slow
@pytest.mark.parametrize("value", ["xx", "<script>", "KO", ""])
def test_an_unknown_language_in_the_link_gives_english(value, monkeypatch):
    at = open_in(value, "pages/tensors.py", monkeypatch)
    assert at.title[0].value == EN["stage.tensors.title"]
    assert at.query_params["lang"] == "en"


def test_feature_files_merge_and_refuse_a_key_twice(tmp_path, monkeypatch):
    import lib.text.i18n as i18n
    (tmp_path / "en").mkdir()
    (tmp_path / "en.toml").write_text('"language.name" = "English"\n"a" = "A"\n')
    (tmp_path / "en" / "feature.toml").write_text('"b" = "B"\n')
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    assert i18n._load() == {"en": {"language.name": "English", "a": "A", "b": "B"}}
    (tmp_path / "en" / "other.toml").write_text('"a" = "again"\n')
    with pytest.raises(ValueError, match="defined twice"):
        i18n._load()
