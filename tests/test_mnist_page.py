"""pages/mnist.py under AppTest: the data message, a short training run, and the no-data error."""
import io
import json
from pathlib import Path

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from lib.text.i18n import EN
from lib.digits.mnist_data import FILES

pytestmark = pytest.mark.slow   # every test here runs the MNIST page in AppTest
SHARED = Path(__file__).parents[2] / "shared" / "data"
PAGE = str(Path(__file__).parents[1] / "pages" / "mnist.py")


def chart_titles(at) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"].get("title", {}).get("text", "") for chart in at.get("plotly_chart")]


@pytest.fixture
def page(monkeypatch):
    def open_page(root):
        monkeypatch.setenv("MNIST_ROOT", str(root))
        monkeypatch.setenv("MNIST_DOWNLOAD", "0")
        return AppTest.from_file(PAGE, default_timeout=180).run()
    return open_page


def test_page_says_which_data_it_trains_on(page):
    at = page(SHARED)
    assert not at.exception
    assert not at.error
    assert len(at.info) == 1
    assert "offline subset: 8,000 training / 2,000 held-out digits of the real MNIST test set" in at.info[0].value
    assert at.button(key="mnist_train").label == "Train"
    assert not at.metric, "nothing is trained before Train is pressed"


def test_train_shows_accuracy_charts_and_gradient_table(page):
    at = page(SHARED)
    at.slider(key="mnist_epochs").set_value(1)
    at.select_slider(key="mnist_batch_size").set_value(128)
    at.select_slider(key="mnist_lr").set_value(3e-3)
    at.button(key="mnist_train").click().run()
    assert not at.exception
    assert not at.error
    metrics = {m.label: m.value for m in at.metric}
    accuracy = float(metrics["Held-out accuracy"].rstrip("%")) / 100
    assert 0.85 <= accuracy <= 1.0
    assert metrics["Batches"] == "63"                  # ceil(8000 / 128) for one epoch
    titles = chart_titles(at)
    for title in ("Cross-entropy loss", "Held-out accuracy after each epoch", "Confusion matrix (held-out digits)",
                  "Accuracy per digit"):
        assert title in titles
    table = next(df.value for df in at.dataframe if EN["column.match"] in df.value.columns)
    assert list(table[EN["column.parameter"]]) == ["linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"]
    assert list(table[EN["column.match"]]) == ["✓"] * 4

    at.run()   # a rerun (any widget) keeps the last result
    assert {m.label: m.value for m in at.metric}["Held-out accuracy"] == metrics["Held-out accuracy"]


def test_empty_data_folder_is_an_error_naming_the_files(page, tmp_path):
    at = page(tmp_path)
    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert str(tmp_path / "MNIST" / "raw") in message
    for name in FILES.values():
        assert name in message
    assert "What to do" in message
    assert not at.info and not at.button, "nothing else is drawn without data"


class FakeUpload:
    """What st.file_uploader returns, for the bytes of a file the test chooses (AppTest cannot upload)."""

    def __init__(self, raw: bytes):
        self.raw, self.size, self.name = raw, len(raw), "digit.png"

    def getvalue(self) -> bytes:
        return self.raw


def png_of_a_one() -> bytes:
    img = Image.new("L", (120, 160), 255)
    img.paste(0, (50, 20, 70, 140))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("raw, shows_error", [(png_of_a_one(), False), (b"not an image at all", True),
                                              (b"\x89PNG" + b"\0" * (3 * 2**20), True)])
def test_uploaded_digit_is_predicted_or_refused_with_a_message(page, monkeypatch, raw, shows_error):
    monkeypatch.setattr(st, "file_uploader", lambda *args, **kwargs: FakeUpload(raw))
    at = page(SHARED)
    at.slider(key="mnist_epochs").set_value(1)
    at.button(key="mnist_train").click().run()
    assert not at.exception
    titles = chart_titles(at)
    if shows_error:
        assert len(at.error) == 1 and "cannot be read as a digit" in at.error[0].value
        assert not any(title.startswith("Predicted probabilities") for title in titles)
    else:
        assert not at.error
        assert "what the model sees (28×28)" in titles
        assert "Predicted probabilities: 1" in titles, "a plain vertical bar is read as a 1"


def test_a_link_carries_the_forms_settings(monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update({"model": "cnn", "m_hidden": "256", "m_epochs": "2", "m_lr": "0.0003", "m_seed": "zz"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="mnist_model").value == "cnn"
    assert at.select_slider(key="mnist_hidden").value == 256 and at.slider(key="mnist_epochs").value == 2
    assert at.select_slider(key="mnist_lr").value == 3e-4
    assert any("m_seed=zz" in w.value for w in at.warning)                   # refused, said, left as it was
    assert at.number_input(key="mnist_seed").value == 1
    assert at.query_params["m_hidden"] == "256" and at.query_params["model"] == "cnn"
