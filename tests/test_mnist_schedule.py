"""Each MNIST model's own recipe and the one-cycle learning-rate schedule: the lr path the page describes, the
CNN's recipe reaching 97% in 3 epochs, and the form showing the chosen model's recipe (links included)."""
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lib.text.i18n import EN
from lib.digits import mnist_data, mnist_models, mnist_training
from lib.digits.mnist_models import MnistConfig

SHARED = Path(__file__).parents[2] / "shared" / "data"
PAGE = str(Path(__file__).parents[1] / "pages" / "mnist.py")


@pytest.fixture(scope="module")
def real():
    return mnist_data.load_mnist(SHARED, download=False)


@pytest.fixture(scope="module")
def small(real):
    return mnist_data.MnistData("offline-subset", real.train_images[:1024], real.train_labels[:1024],
                                real.test_images[:200], real.test_labels[:200], "memory")


@pytest.mark.slow
def test_one_cycle_lr_starts_low_peaks_at_a_quarter_and_ends_near_zero(small, monkeypatch):
    """What the schedule's help says: 1/25 of lr at the first batch, lr after 25% of them, 1/250,000 at the last."""
    monkeypatch.setenv("MNIST_ROOT", str(SHARED))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")
    config = MnistConfig(model="mlp", lr=1e-2, batch_size=64, epochs=2, schedule="one_cycle")
    lrs = mnist_training.train_mnist(small, config).batch_lrs
    assert len(lrs) == 2 * 16
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    assert lrs[0] == pytest.approx(config.lr / 25)
    assert lrs[peak] == pytest.approx(config.lr) and peak == round(0.25 * len(lrs)) - 1
    assert lrs[-1] == pytest.approx(config.lr / 250_000)
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1:peak + 1])), "rises to the peak"
    assert all(a > b for a, b in zip(lrs[peak:], lrs[peak + 1:])), "then only falls"
    help_text = AppTest.from_file(PAGE, default_timeout=180).run().radio(key="mnist_schedule").help
    assert "starts at 1/25 of it, rises to it over the first 25% of the batches" in help_text
    assert "falls along a cosine to 1/250,000 of it at the last batch" in help_text


@pytest.mark.slow
def test_a_constant_schedule_trains_every_batch_with_lr_and_differs_from_one_cycle(small):
    constant = mnist_training.train_mnist(small, MnistConfig(lr=1e-2, epochs=1))
    cycle = mnist_training.train_mnist(small, MnistConfig(lr=1e-2, epochs=1, schedule="one_cycle"))
    assert constant.batch_lrs == [1e-2] * 16
    assert constant.batch_losses[0] == cycle.batch_losses[0], "the same first batch, before any step"
    assert constant.batch_losses[1:] != cycle.batch_losses[1:], "the schedule reaches the optimizer"


def test_a_schedule_that_is_not_offered_is_refused():
    with pytest.raises(ValueError, match="schedule"):
        MnistConfig(schedule="cosine")


def test_each_model_starts_from_its_own_recipe():
    assert mnist_models.default_config("mlp") == MnistConfig(), "the MLP keeps the tutorial's recipe"
    cnn = mnist_models.default_config("cnn")
    assert (cnn.model, cnn.optimizer, cnn.lr, cnn.batch_size, cnn.schedule) == ("cnn", "adam", 1e-2, 128, "one_cycle")
    assert (cnn.hidden, cnn.epochs, cnn.seed) == (MnistConfig().hidden, 3, 1)
    with pytest.raises(ValueError):
        mnist_models.default_config("resnet")


@pytest.mark.slow
def test_the_cnn_recipe_reaches_97_percent_in_3_epochs(real):
    result = mnist_training.train_mnist(real, mnist_models.default_config("cnn"))
    assert result.final_accuracy >= 0.97
    assert len(result.batch_losses) == 3 * 63
    assert [m.out_channels for m in result.model.modules() if isinstance(m, torch.nn.Conv2d)] == [8, 32]


# ---------------------------------------------------------------- the page
@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(SHARED))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")
    return AppTest.from_file(PAGE, default_timeout=180)


def form_recipe(at) -> tuple:
    return (at.selectbox(key="mnist_optimizer").value, at.select_slider(key="mnist_lr").value,
            at.radio(key="mnist_schedule").value, at.select_slider(key="mnist_batch_size").value)


def recipe(model: str) -> tuple:
    d = mnist_models.default_config(model)
    return d.optimizer, d.lr, d.schedule, d.batch_size


@pytest.mark.slow
def test_choosing_a_model_puts_its_recipe_in_the_form_and_keeps_h_epochs_seed(page):
    at = page.run()
    assert form_recipe(at) == recipe("mlp")
    at.select_slider(key="mnist_hidden").set_value(256)
    at.slider(key="mnist_epochs").set_value(1)
    at.select_slider(key="mnist_lr").set_value(3e-4)
    at.button(key="mnist_train").click().run()   # a form's values count once it is submitted (an MLP epoch)
    assert at.select_slider(key="mnist_lr").value == 3e-4
    at.radio(key="mnist_model").set_value("cnn").run()
    assert not at.exception
    assert form_recipe(at) == recipe("cnn")
    assert at.select_slider(key="mnist_hidden").value == 256 and at.slider(key="mnist_epochs").value == 1
    assert at.query_params["m_schedule"] == "one_cycle" and at.query_params["m_batch"] == "128"
    at.radio(key="mnist_model").set_value("mlp").run()
    assert form_recipe(at) == recipe("mlp")
    caption = next(c.value for c in at.caption if c.value.startswith("Choosing a model"))
    for model in mnist_models.MODELS:
        d = mnist_models.default_config(model)
        assert EN["mnist_schedule.recipe"].format(
            model=EN[f"mnist.model.{model}"], optimizer="Adam", lr=f"{d.lr:.0e}", batch_size=d.batch_size,
            schedule=EN[f"mnist_schedule.{d.schedule}"]) in caption


@pytest.mark.slow
def test_a_link_to_the_cnn_opens_its_recipe_where_the_link_says_nothing(page):
    page.query_params.update({"model": "cnn", "m_epochs": "1", "m_batch": "256"})
    at = page.run()
    assert not at.exception
    cnn = replace(mnist_models.default_config("cnn"), batch_size=256)
    assert form_recipe(at) == (cnn.optimizer, cnn.lr, cnn.schedule, 256) == ("adam", 1e-2, "one_cycle", 256)
    assert at.slider(key="mnist_epochs").value == 1


@pytest.mark.slow
def test_after_training_the_page_says_the_lr_path_the_run_took(page):
    page.query_params.update({"model": "cnn", "m_epochs": "1"})
    at = page.run()
    at.button(key="mnist_train").click().run()
    assert not at.exception and not at.error
    lrs = at.session_state["mnist_run"]["result"].batch_lrs
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    expected = EN["mnist_schedule.ran_cycle"].format(first=f"{lrs[0]:.1e}", peak=f"{lrs[peak]:.1e}",
                                                     peak_batch=peak + 1, last=f"{lrs[-1]:.1e}", batches=len(lrs))
    assert expected in [c.value for c in at.caption]
    assert expected.startswith("Learning rate: 4.0e-04 at the first batch, up to 1.0e-02 at batch 16, down to 4.0e-08")
