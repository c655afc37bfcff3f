"""Korean all the way: every page drawn in Korean, in the situations a class runs into (the tutorial's settings,
diverging settings, refused link values, a refused upload, missing MNIST data), shows no English sentence
outside code and a short list of terms.

An "English sentence" here is two or more ASCII words (letters only, an apostrophe allowed: "tutorial's") in a run
separated by spaces or commas, numbers allowed between them ("use 1 of 3"), none of them an allowed term, outside
`code spans`, code blocks, $math$ and HTML tags. Words glued to code (`x_test`, `torch.optim`, `float32`, `hand-written`,
a path) are not words here. One Korean habit is kept: an English gloss in parentheses right after a Korean word,
"배치 크기(batch size)", up to 30 characters.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import streamlit as st

import ui.text
from streamlit.testing.v1 import AppTest

from lib.tutorial.config import TrainConfig, config_from_query, default_config
from lib.explore.experiments import fit_sine, lr_grid
from lib.tutorial.gradients import gradient_comparison
from lib.text.i18n import KO, TEXTS
from lib.text.messages import Coded, render
from lib.digits.mnist_data import FILES, MnistDataError, load_mnist
from lib.digits.mnist_models import MnistConfig
from lib.digits.mnist_uploads import UploadError
from lib.explore.optim_internals import check_k
from lib.tutorial.stages import STAGE_NAMES
from tests.page_support import open_stage_tab
from ui.stage_page import TAB_IDS as STAGE_TABS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SHARED = ROOT.parent / "shared" / "data"
# Every screen in pages/, read from the folder so that a new page is checked without being named here
PAGES = sorted(path.stem for path in (ROOT / "pages").glob("*.py") if path.stem != "__init__")

# Terms a Korean page keeps in English: the tutorial's names, libraries, optimizers, units.
ALLOWED = {
    "N", "D_IN", "H", "D_OUT", "lr", "k", "x", "y", "a", "b", "c", "d", "s", "ReLU", "MyReLU", "BrokenMyReLU",
    "SGD", "Adam", "RMSprop", "Adagrad", "Nesterov", "autograd", "Autograd", "PyTorch", "NumPy", "Python",
    "MNIST", "CNN", "MLP", "TwoLayerNet", "DynamicNet", "MSELoss", "Function", "Tensor", "Module", "MB", "KB",
    "PNG", "JPEG", "CSV", "URL", "torchvision", "softmax", "backward", "forward", "dtype", "momentum", "steps",
    "seed", "step", "lr_decay", "dampening", "sin", "log", "exp", "max", "min", "pytorch", "org", "e", "nan", "inf",
}
CODE = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$", re.S)
TAG = re.compile(r"</?[A-Za-z][^<>]*>")   # HTML a page draws itself (step mode's matrices): markup, not prose
GLOSS = re.compile(r"(?<=[\uac00-\ud7a3])\([A-Za-z][A-Za-z '-]{0,30}(?=[,)])")
_WORD = r"(?<![\w./\\@%{}-])[A-Za-z]+(?:'[A-Za-z]+)?(?![\w./\\(@%{}-])"
_NUMBER = r"(?<![\w.])\d[\d.,]*(?![\w.])"
SENTENCE = re.compile(rf"{_WORD}(?:,?[ \t]+(?:{_NUMBER},?[ \t]+)*{_WORD})+")
_TERM = re.compile(_WORD)


def english_sentences(text: str) -> list[str]:
    """The English sentences in `text` (see the module's docstring); allowed terms break a run of words."""
    prose = GLOSS.sub("(¶", CODE.sub(" ¶ ", TAG.sub(" ¶ ", text)))
    prose = _TERM.sub(lambda m: "¶" if m[0] in ALLOWED else m[0], prose)
    return [m[0] for m in SENTENCE.finditer(prose)]


# ---------------------------------------------------------------- what is on screen
TEXT_ELEMENTS = {"title", "header", "subheader", "markdown", "caption", "success", "info", "warning", "error",
                 "exception", "text", "latex"}


def _chart_texts(spec: str) -> list[str]:
    figure = json.loads(spec)
    layout = figure.get("layout", {})
    found = []

    def title(obj):
        if isinstance(obj, dict):
            text = obj.get("title")
            found.append(text.get("text", "") if isinstance(text, dict) else text or "")
    title(layout)
    for name, value in layout.items():
        if re.fullmatch(r"[xy]axis\d*|coloraxis", name):
            title(value)
            title(value.get("colorbar") if isinstance(value, dict) else None)
    found += [a.get("text", "") for a in layout.get("annotations", [])]
    for trace in figure.get("data", []):
        found.append(trace.get("name") or "")
        for axis in ("x", "y"):
            values = trace.get(axis)   # a list, or a numpy array sent as {"dtype", "bdata"}: no words in it
            found += [v for v in values if isinstance(v, str)] if isinstance(values, list) else []
    return found


def screen_texts(at: AppTest) -> list[tuple[str, str]]:
    """(element type, text) for every text on screen: main area and sidebar, charts' titles, axes and legends
    included, code blocks left out."""
    out: list[tuple[str, str]] = []

    def add(kind, text):
        if isinstance(text, str) and text.strip():
            out.append((kind, text))

    def walk(node):
        kind = getattr(node, "type", None)
        proto = getattr(node, "proto", None)
        if kind == "code":
            return
        if kind in TEXT_ELEMENTS:
            add(kind, node.value)
        elif kind == "dataframe":
            frame = node.value
            for column in frame.columns:
                add("column header", str(column))
            for column in frame.columns:
                for cell in frame[column]:
                    add("table cell", cell)
        elif kind == "plotly_chart":
            for text in _chart_texts(proto.spec):
                add("chart", text)
        elif kind == "metric":
            add("metric", proto.label)
            add("metric", node.value)
            add("metric help", proto.help)
        elif proto is not None and kind not in ("root", "main", "sidebar", "event"):
            for field in ("label", "help", "placeholder"):
                add(f"{kind} {field}", getattr(proto, field, None))
            if kind in ("selectbox", "radio", "multiselect", "select_slider"):
                for option in getattr(proto, "options", []):
                    add(f"{kind} option", option)
        for field in ("label",):   # tabs and expanders are blocks with a label
            if proto is None or kind in ("tab", "expander"):
                add(kind, getattr(node, field, None))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)
    walk(at._tree)
    return out


def english_on_screen(at: AppTest) -> list[str]:
    return [f"{kind}: {sentence!r} in {text[:160]!r}" for kind, text in screen_texts(at)
            for sentence in english_sentences(text)]


def korean_app(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "ko"
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()   # Home first, as a visitor who opens the app and then a page
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert page == "pages/home.py" or KO["home.title"] not in [title.value for title in at.title], "Home was drawn"
    return at


def korean_page(page: str) -> AppTest:
    """The page file alone, in Korean (the MNIST form's button is only clicked this way under AppTest)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=180)
    at.session_state["lang"] = "ko"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_korean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    english = english_on_screen(at)
    assert not english, "English on a Korean screen:\n" + "\n".join(english)


@pytest.fixture(autouse=True)
def shared_mnist(monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(SHARED))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")


# ---------------------------------------------------------------- the detector itself
@pytest.mark.parametrize("text", [
    "이 링크의 설정을 쓸 수 없습니다: lr=abc is not a number; using the default 1e-06.",
    "스텝 3에서 학습이 발산했습니다: the loss grew over 1e+06 times its first value.",
    "middle_linear.weight (use 1 of 3)",
    "same settings",
    "The MNIST data could not be loaded.",
    '<div style="border:1px solid #ccc"><code>loss</code> <small>(a scalar value)</small></div>',
])
def test_the_detector_finds_english_in_a_korean_text(text):
    assert english_sentences(text)


@pytest.mark.parametrize("text", [
    "이 설정으로는 실행할 수 없습니다. n=0: 범위를 벗어났습니다. 1 ≤ n ≤ 1024인 정수여야 합니다.",
    "`the loss grew over` 코드 안의 영어는 괜찮습니다",
    "```python\nfor t in range(500):\n    y_pred = model(x)\n```",
    "SGD, Adam, RMSprop, Adagrad를 직접 구현해 torch.optim과 나란히",
    "MLP: 튜토리얼의 TwoLayerNet (784 → H → 10)",
    "$$\\theta \\leftarrow \\theta - \\text{lr}\\cdot g$$",
    "N, D_IN, H, D_OUT = 64, 1000, 100, 10",
    "/tmp/data/MNIST/raw에 없는 파일: t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte",
    "N: 배치 크기(batch size)",
    "lr: 학습률(learning rate, 로그 눈금)",
    "float32 vs float64 기울기",
    '<div style="border:1px solid #ccc"><code>w1</code> <small>(2×3)</small><table style="margin:2px 0"></table></div>',
])
def test_the_detector_leaves_korean_code_and_terms_alone(text):
    assert not english_sentences(text)


@pytest.mark.slow
def test_an_english_message_on_a_korean_page_fails_the_check(monkeypatch):
    """The check on a page, with the bug this file guards against put back: lib's messages dropped into Korean
    templates in English (as `str(err)` did) are caught."""
    assert not english_on_screen(korean_app("pages/tensors.py", {"n": "abc"}))
    monkeypatch.setattr(ui.text, "render", lambda value, language: str(value))
    english = english_on_screen(korean_app("pages/tensors.py", {"n": "abc"}))
    assert any("is not a whole number" in line for line in english), english


# ---------------------------------------------------------------- every page, in Korean
def test_the_page_list_holds_every_screen():
    assert {"home", *STAGE_NAMES, "compare", "lessons", "a_vs_b", "step", "own_network"} <= set(PAGES)


def assert_korean_in_every_tab(at: AppTest, page: str) -> None:
    """assert_korean on the page, and on a stage page in each of its tabs (only the open one is drawn)."""
    assert_korean(at)
    if page in STAGE_NAMES:
        for tab in STAGE_TABS:
            assert_korean(open_stage_tab(at, tab, "ko"))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.slow
def test_every_page_with_the_tutorials_settings(page):
    assert_korean_in_every_tab(korean_app(f"pages/{page}.py"), page)


@pytest.mark.slow
def test_stage_7_per_use_rows_and_the_broken_relu():
    at = open_stage_tab(korean_app("pages/dynamic_net.py"), "gradients", "ko")
    at.radio(key="dyn_depth").set_value(3).run()
    assert_korean_in_every_tab(at, "dynamic_net")
    open_stage_tab(at, "gradients", "ko")
    parameters = list(at.dataframe[0].value[KO["column.parameter"]])
    assert sum("3번 중" in p for p in parameters) == 6       # 3 uses x (weight, bias), said in Korean
    at = open_stage_tab(korean_app("pages/custom_function.py"), "gradients", "ko")
    at.toggle(key="broken_relu").set_value(True).run()
    assert at.error
    assert_korean_in_every_tab(at, "custom_function")


@pytest.mark.slow
def test_step_mode_every_phase_and_entry():
    """Step mode shows its sections one click at a time (lessons reveal theirs in tests/test_lessons.py, the own
    network's presets in tests/test_own_network.py)."""
    at = korean_app("pages/step.py")
    for phase in ("forward", "backward", "update"):
        at.button(key=f"sm_do_{phase}").click().run()
        assert_korean(at)
    assert KO["step.section.update"] in [h.value for h in at.subheader]
    assert f"<small>({KO['step.scalar']})</small>" in " ".join(m.value for m in at.markdown)   # the loss's shape
    for tensor in at.selectbox(key="sm_entry_tensor").options:
        at.selectbox(key="sm_entry_tensor").set_value(tensor).run()
        assert_korean(at)
    at.button(key="sm_play").click().run()
    assert at.session_state["sm_state"].step == 2
    assert_korean(at)


@pytest.mark.slow
def test_run_history_legend_in_korean():
    at = korean_app("pages/tensors.py")
    at.select_slider(key="lr").set_value(2e-6).run()
    at.slider(key="n").set_value(32).run()
    overlay = at.multiselect(key="tensors_overlay")
    assert overlay.options == ["N=64", "N=64, lr=1e-06"]            # code terms: the same in both languages
    overlay.set_value([0, 1]).run()
    assert_korean(at)
    at = korean_app("pages/custom_function.py")
    at.toggle(key="broken_relu").set_value(True).run()
    at.toggle(key="broken_relu").set_value(False).run()     # the same settings, with the broken backward
    overlay = at.multiselect(key="custom_function_overlay")
    assert overlay.options == [KO["history.broken"]]
    overlay.set_value([0]).run()
    assert_korean(at)


@pytest.mark.parametrize("page, query", [
    ("tensors", {"lr": "0.1"}),                              # stage 1 at lr 1e-1: diverges at once
    ("tensors", {"lr": "0.0001", "n": "256"}),
    ("dynamic_net", {"lr": "0.1"}),
    ("optimizers", {"lr": "0.1", "optimizer": "sgd"}),
    ("compare", {"steps": "500"}),
])
@pytest.mark.slow
def test_diverging_settings(page, query):
    at = korean_app(f"pages/{page}.py", query)
    if page != "compare":
        assert at.warning
    assert_korean_in_every_tab(at, page)


@pytest.mark.parametrize("query", [
    {"n": "abc"}, {"lr": "99"}, {"lr": "abc"}, {"steps": "9" * 60}, {"optimizer": "foo"}, {"momentum": "2"},
    {"dtype": "float16"}, {"seed": "-1"},
])
@pytest.mark.slow
def test_refused_link_values(query):
    at = korean_app("pages/optim.py", query)
    assert at.warning, "a refused value is said on screen"
    assert_korean(at)


@pytest.mark.slow
def test_steps_shortened_for_the_server_are_said_in_korean():
    at = korean_app("pages/tensors.py")
    for name, value in (("n", 1024), ("d_in", 2048), ("hidden", 1024)):
        at.slider(key=name).set_value(value).run()
    assert at.info and at.slider(key="steps").value < 500
    assert_korean(at)
    at = korean_app("pages/optim.py", {"n": "1024", "d_in": "2048", "hidden": "1024", "steps": "500"})
    assert at.info
    assert_korean(at)
    at = korean_app("pages/optimizers.py", {"n": "1024", "d_in": "2048", "hidden": "700", "steps": "10"})
    assert at.slider(key="opt_k").max < 200
    assert_korean(at)


@pytest.mark.slow
def test_experiments_tabs():
    at = korean_app("pages/experiments.py")          # the sweep: runs that diverge and runs that do not
    assert_korean(at)
    for tab in ("noise", "sine"):
        at.session_state["exp_tab"] = KO[f"experiments.tab.{tab}"]
        at.run()
        assert_korean(at)
    at.select_slider(key="sine_lr").set_value(1e-1).run()   # the sine fit diverges
    assert at.warning
    assert_korean(at)
    at.session_state["exp_tab"] = KO["experiments.tab.sweep"]
    at.run()
    at.select_slider(key="sweep_low").set_value(1e-1).run()
    at.select_slider(key="sweep_high").set_value(1e-8).run()
    assert at.warning
    assert_korean(at)


class FakeUpload:
    """What st.file_uploader returns, for bytes the test chooses (AppTest cannot upload a file)."""

    def __init__(self, raw: bytes):
        self.raw, self.size, self.name = raw, len(raw), "digit.png"

    def getvalue(self) -> bytes:
        return self.raw


@pytest.mark.slow
def test_mnist_before_and_after_training_with_a_refused_upload(monkeypatch):
    at = korean_page("mnist")
    assert_korean(at)
    monkeypatch.setattr(st, "file_uploader", lambda *args, **kwargs: FakeUpload(b"\x89PNG" + b"\0" * (3 * 2**20)))
    at.slider(key="mnist_epochs").set_value(1)
    at.button(key="mnist_train").click().run()
    assert at.error, "the too-big upload is refused on screen"
    assert at.metric and at.dataframe
    assert_korean(at)


@pytest.mark.slow
def test_mnist_stopped_by_the_time_limit(monkeypatch):
    monkeypatch.setenv("RUN_TIME_LIMIT_S", "1")
    at = korean_page("mnist")
    at.radio(key="mnist_model").set_value("cnn")
    at.select_slider(key="mnist_hidden").set_value(1024)
    at.slider(key="mnist_epochs").set_value(10)
    at.button(key="mnist_train").click().run()
    assert at.warning, "the time limit is said on screen"
    assert_korean(at)


@pytest.mark.slow
def test_mnist_without_data_and_with_a_damaged_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    at = korean_app("pages/mnist.py")
    assert at.error
    assert_korean(at)
    raw = tmp_path / "damaged" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES.values():
        (raw / name).write_bytes(b"\0\0\x08\x03 not an idx file")
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path / "damaged"))
    at = korean_app("pages/mnist.py")
    assert at.error
    assert_korean(at)


# ---------------------------------------------------------------- every message lib/ builds, rendered in Korean
def _refusals(tmp_path) -> list[Coded]:
    caught = []

    def catch(call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except (ValueError, MnistDataError) as err:
            assert isinstance(err, Coded), f"{call.__name__} raised an English-only {type(err).__name__}: {err}"
            caught.append(err)
        else:
            raise AssertionError(f"{call.__name__}{args} was not refused")
    catch(TrainConfig, n=0)
    catch(TrainConfig, lr=math.inf)
    catch(TrainConfig, momentum=1.0)
    catch(TrainConfig, dtype="float16")
    catch(TrainConfig, optimizer="lbfgs")
    catch(MnistConfig, model="rnn")
    catch(lr_grid, 1e-1, 1e-8, 1)
    catch(lr_grid, 1e-8, 1e-1, 0)
    catch(lr_grid, 1e-8, 1e-1, 10)
    catch(fit_sine, steps=0)
    catch(fit_sine, lr=-1.0)
    catch(check_k, 0, default_config("optim"))
    catch(gradient_comparison, "tensors", default_config("tensors").with_(steps=5), 9)
    catch(gradient_comparison, "tensors", default_config("tensors").with_(lr=0.1, steps=5), 3)
    catch(load_mnist, tmp_path, download=False)
    _, problems = config_from_query({"n": "abc", "lr": "99", "steps": "9" * 60, "momentum": "2"}, TrainConfig())
    return caught + problems


def test_every_refusal_and_link_problem_renders_in_korean(tmp_path):
    messages = _refusals(tmp_path)
    assert len(messages) == 15 + 4
    for message in messages:
        korean, english = render(message, "ko"), str(message)
        assert korean != english and re.search(r"[\uac00-\ud7a3]", korean), english
        assert not english_sentences(korean), (english, korean)
        assert english_sentences(english), "the English text is the same message, for logs and tests"


def test_every_code_lib_builds_has_a_text_in_every_language():
    """lib/ names its messages by code (Refusal("refusal.int_range", ...), Message("optim.diverged_note", ...));
    each code is a key of every locale file, so no message falls back to English or fails on screen."""
    kinds = ["Refusal", "Message", "MnistDataError"] + (["UploadError"] if issubclass(UploadError, Coded) else [])
    call = re.compile(rf"""\b(?:{'|'.join(kinds)})\(\s*f?["']([^"']+)["']""")
    codes = {code for path in sorted((ROOT / "lib").rglob("*.py")) for code in call.findall(path.read_text("utf-8"))}
    assert len(codes) > 20, "the scan found too few codes: has the call pattern changed?"
    for language, texts in TEXTS.items():
        templated = {code for code in codes if "{" in code}
        assert not (codes - templated) - set(texts), f"{language} lacks {sorted((codes - templated) - set(texts))}"
        for code in templated:   # f"mnist.data.{self.source}": every key of that family exists
            prefix = code.split("{")[0]
            assert any(key.startswith(prefix) for key in texts), (language, code)


def test_a_refusal_keeps_its_code_and_values_across_a_process_boundary():
    import pickle
    with pytest.raises(ValueError) as caught:
        TrainConfig(n=0)
    err = caught.value
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and (again.code, again.values) == (err.code, err.values)
    assert str(again) == str(err) and render(again, "ko") == render(err, "ko")
