"""Inside the MNIST model (lib.digits.mnist_inside, its figures and the page's sections): weight images against w1,
feature maps against forward hooks, the written-out convolution against the map, saliency against autograd and
finite differences, the epoch panel against model(x).argmax."""
import base64
import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib.digits import mnist_data, mnist_models, mnist_training, mnist_uploads

from lib.serve import jobs, workers
from lib.digits import mnist_inside as mi
from lib.figures import mnist_inside_plots as plots
from lib.text.i18n import EN
from lib.digits.mnist_models import MnistConfig
from tests.test_korean import assert_korean
from tests.test_mnist_page import FakeUpload, png_of_a_one

pytestmark = pytest.mark.slow   # every test here trains an MNIST model or runs the page in AppTest
SHARED = Path(__file__).parents[2] / "shared" / "data"
PAGE = str(Path(__file__).parents[1] / "pages" / "mnist.py")


@pytest.fixture(scope="module")
def real():
    return mnist_data.load_mnist(SHARED, download=False)


def short_run(real, model: str):
    small = mnist_data.MnistData("offline-subset", real.train_images[:2048], real.train_labels[:2048],
                                 real.test_images, real.test_labels, "memory")
    return mnist_training.train_mnist(small, MnistConfig(model=model, epochs=1, batch_size=128)).model.eval()


@pytest.fixture(scope="module")
def mlp(real):
    return short_run(real, "mlp")


@pytest.fixture(scope="module")
def cnn(real):
    return short_run(real, "cnn")


def heatmap_z(z) -> torch.Tensor:
    """A heatmap's z from the figure's JSON: plotly sends arrays as typed binary ({dtype, bdata, shape})."""
    if isinstance(z, dict):
        shape = [int(d) for d in str(z["shape"]).split(",")]
        return torch.from_numpy(np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape).copy())
    return torch.tensor([[math.nan if v is None else v for v in row] for row in z])


def test_weight_images_are_the_rows_of_w1_in_the_order_of_the_digits_answer(real, mlp):
    digit = mnist_data.denormalise(real.test_images[3, 0])
    inside = mi.inside_digit(mlp, digit)
    w1 = mlp.linear1.weight.detach()
    for j in range(w1.shape[0]):
        assert torch.equal(inside.mlp.weight_images[j], w1[j].view(28, 28))
    hidden = F.relu(mlp.linear1(mi.normalised(digit).flatten(1)))[0].detach()
    assert torch.allclose(inside.mlp.hidden, hidden, atol=1e-6)
    ordered = [hidden[j].item() for j in inside.mlp.order]
    assert ordered == sorted(ordered, reverse=True) and sorted(inside.mlp.order) == list(range(w1.shape[0]))
    # the figure draws exactly those rows: its first tile is the strongest unit's row
    z = heatmap_z(json.loads(plots.weight_images(inside, 32).to_json())["data"][0]["z"])
    assert torch.equal(z[:28, :28], w1[inside.mlp.order[0]].view(28, 28))
    assert torch.equal(z[:28, 29:57], w1[inside.mlp.order[1]].view(28, 28))
    assert z[:28, 28].isnan().all(), "an empty column separates the tiles"


def test_feature_maps_are_the_models_own_intermediate_outputs(real, cnn):
    digit = mnist_data.denormalise(real.test_images[5, 0])
    seen = {}
    hooks = [layer.register_forward_hook(lambda module, args, out, name=name: seen.__setitem__(name, out.detach()))
             for name, layer in (("conv1", cnn.conv1), ("conv2", cnn.conv2))]
    try:
        cnn(mi.normalised(digit))
    finally:
        for hook in hooks:
            hook.remove()
    inside = mi.inside_digit(cnn, digit).cnn
    for layer, name in enumerate(("conv1", "conv2")):
        assert torch.equal(inside.pre_activation[layer], seen[name][0])
        assert torch.equal(inside.feature_maps[layer], F.relu(seen[name][0]))
    assert inside.feature_maps[0].shape == (8, 12, 12) and inside.feature_maps[1].shape == (32, 8, 8)
    assert (cnn.conv1.stride, cnn.conv2.stride) == ((2, 2), (1, 1)), "what the CNN intro says"


@pytest.mark.parametrize("layer, channel, row, col", [(0, 0, 0, 0), (0, 5, 10, 9), (0, 7, 11, 11), (1, 0, 3, 4),
                                                      (1, 31, 7, 0), (1, 12, 0, 7)])
def test_the_written_out_convolution_equals_the_feature_map_entry(real, cnn, layer, channel, row, col):
    inside = mi.inside_digit(cnn, mnist_data.denormalise(real.test_images[5, 0])).cnn
    entry = mi.conv_entry(inside, layer, channel, row, col)
    assert entry.pre_activation == pytest.approx(inside.pre_activation[layer][channel, row, col].item(), abs=1e-5)
    assert entry.value == pytest.approx(inside.feature_maps[layer][channel, row, col].item(), abs=1e-5)
    # the same sum with F.conv2d's own weights over the patch, and the text shows those numbers
    stride = 2 if layer == 0 else 1                              # conv1 moves 2 pixels per output pixel
    assert (entry.top, entry.left) == (stride * row, stride * col)   # where the page says the patch is
    patch = inside.inputs[layer][:, stride * row:stride * row + 5, stride * col:stride * col + 5]
    assert torch.equal(entry.patch, patch)
    assert entry.pre_activation == pytest.approx((inside.weights[layer][channel] * patch).sum().item()
                                                 + inside.biases[layer][channel].item(), abs=1e-5)
    from ui.mnist_inside_view import written_out_text
    text = written_out_text(entry, "en")
    assert f"{entry.pre_activation:+.4f}" in text and text.endswith(f"ReLU → {entry.value:.4f}")


def test_a_negative_sum_is_written_out_as_zero_after_relu(real, cnn):
    inside = mi.inside_digit(cnn, mnist_data.denormalise(real.test_images[5, 0])).cnn
    channel, row, col = (inside.pre_activation[0] < 0).nonzero()[0].tolist()
    entry = mi.conv_entry(inside, 0, channel, row, col)
    assert entry.pre_activation < 0 and entry.value == 0.0 == inside.feature_maps[0][channel, row, col].item()


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_saliency_is_the_gradient_of_the_class_score_and_matches_finite_differences(real, mlp, cnn, which):
    model = copy.deepcopy(mlp if which == "mlp" else cnn).double()
    # a little noise: the blank background gives exactly tied max-pool inputs, where the score has a kink and
    # central differences average two one-sided slopes
    noise = 1e-3 * torch.rand(28, 28, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    digit = mnist_data.denormalise(real.test_images[11, 0]).double() + noise
    s = mi.inside_digit(model, digit).saliency
    x = mi.normalised(digit).requires_grad_(True)
    logits = model(x)[0]
    assert s.classes == logits.topk(2).indices.tolist()
    for k, c in enumerate(s.classes):
        (expected,) = torch.autograd.grad(logits[c], x, retain_graph=True)
        assert torch.equal(s.gradients[k], expected[0, 0])
        eps = 1e-6
        for pixel in s.gradients[k].abs().flatten().topk(3).indices.tolist() + [0, 400]:
            r, col = divmod(pixel, 28)
            up, down = x.detach().clone(), x.detach().clone()
            up[0, 0, r, col] += eps
            down[0, 0, r, col] -= eps
            with torch.no_grad():
                numeric = (model(up)[0, c] - model(down)[0, c]).item() / (2 * eps)
            assert s.gradients[k][r, col].item() == pytest.approx(numeric, rel=1e-5, abs=1e-8)
    assert not torch.equal(s.gradients[0], s.gradients[1]), "each class has its own map"


def test_the_panel_recorded_in_training_shows_what_model_x_argmax_says(real):
    config = MnistConfig(epochs=2, batch_size=256, seed=3)
    trained = workers.run(jobs.mnist, config, str(SHARED))
    panel = trained.panel
    assert panel.epochs == [0, 1, 2] and len(panel.indices) == mi.PANEL_SIZE
    x = real.test_images[panel.indices]
    assert panel.labels == real.test_labels[panel.indices].tolist()
    with torch.no_grad():
        untrained = F.softmax(mnist_models.build_model(config).eval()(x), 1)
        final = F.softmax(trained.model()(x), 1)
    assert panel.predicted[0] == untrained.argmax(1).tolist()
    assert panel.predicted[-1] == final.argmax(1).tolist()
    assert panel.confidence[-1] == pytest.approx(final.max(1).values.tolist(), abs=1e-6)
    correct = [sum(p == y for p, y in zip(row, panel.labels)) for row in panel.predicted]
    assert correct[-1] > correct[0], "the model goes from guessing to knowing"
    # the figure writes those answers, row by row
    text = json.loads(plots.panel_matrix(panel).to_json())["data"][0]["text"]
    assert [cell.split("<br>")[0] for cell in text[-1]] == [str(p) for p in final.argmax(1).tolist()]


# ---------------------------------------------------------------- the page
@pytest.fixture
def page(monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(SHARED))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")
    return AppTest.from_file(PAGE, default_timeout=180)


def titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_page_shows_the_mlps_weights_saliency_and_panel(page):
    at = page.run()
    at.slider(key="mnist_epochs").set_value(2)
    at.button(key="mnist_train").click().run()
    assert not at.exception and not at.error
    shown = titles(at)
    assert any(title.startswith("First-layer weights w1, the 32 of 100 units") for title in shown)
    panel_title = EN["inside_plot.panel_title"].format(n=16)
    assert EN["inside_plot.saliency_title"] in shown and panel_title in shown
    run = at.session_state["mnist_run"]
    model = mnist_training.TrainedMnist.rebuild(run["result"].config, run["state"])
    data = mnist_data.load_mnist(SHARED, download=False)
    with torch.no_grad():
        answers = model(data.test_images[run["panel"].indices]).argmax(1).tolist()
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    panel = next(spec for spec in specs if spec["layout"].get("title", {}).get("text") == panel_title)
    rows = panel["data"][0]["text"]
    assert len(rows) == 3 and [cell.split("<br>")[0] for cell in rows[-1]] == [str(a) for a in answers]

    at.radio(key="inside_source").set_value("mistake").run()   # a misclassified digit: the model's wrong answer
    assert not at.exception
    mistake = run["report"].mistakes[0]
    assert f"the model answers **{mistake.predicted}**" in " ".join(c.value for c in at.caption)


def test_page_writes_out_a_cnn_convolution_that_equals_its_feature_map(page):
    at = page.run()
    at.radio(key="mnist_model").set_value("cnn")
    at.slider(key="mnist_epochs").set_value(1)
    at.button(key="mnist_train").click().run()
    assert not at.exception and not at.error
    at.radio(key="inside_layer").set_value(1).run()
    at.number_input(key="inside_channel_1").set_value(5).run()
    at.number_input(key="inside_row_1_5").set_value(2).run()
    at.number_input(key="inside_col_1_5").set_value(6).run()
    assert not at.exception
    run = at.session_state["mnist_run"]
    model = mnist_training.TrainedMnist.rebuild(run["result"].config, run["state"])
    data = mnist_data.load_mnist(SHARED, download=False)
    with torch.no_grad():
        value = F.relu(model.conv2(F.relu(model.conv1(data.test_images[:1]))))[0, 5, 2, 6].item()
    code = next(c.value for c in at.code if "ReLU →" in c.value)
    assert code.endswith(f"ReLU → {value:.4f}")
    assert sum(line.startswith(("  input map", "+ input map")) for line in code.splitlines()) == model.conv2.in_channels == 8
    assert any(title.startswith("conv2 feature maps: 32 of 8×8") for title in titles(at))
    captions = " ".join(c.value for c in at.caption)   # where the patch is: stride 1 on conv1's maps
    assert ("The patch under the kernel: rows 2–6 and columns 6–10 of each of conv1's 8 maps (12×12, after ReLU). "
            "This layer's stride is 1, so the patch starts at 1 × (2, 6).") in captions
    at.radio(key="inside_layer").set_value(0).run()
    at.number_input(key="inside_channel_0").set_value(3).run()
    at.number_input(key="inside_row_0_3").set_value(4).run()
    at.number_input(key="inside_col_0_3").set_value(7).run()
    with torch.no_grad():   # conv1 at stride 2: the patch at rows 8-12, columns 14-18 of the digit gives the map's value
        patch = data.test_images[0, 0, 8:13, 14:19]
        value = F.relu((model.conv1.weight[3, 0] * patch).sum() + model.conv1.bias[3]).item()
    assert next(c.value for c in at.code if "ReLU →" in c.value).endswith(f"ReLU → {value:.4f}")
    assert ("rows 8–12 and columns 14–18 of the 28×28 digit. This layer's stride is 2, so the patch starts at "
            "2 × (4, 7).") in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_page_in_korean_has_every_inside_text(page, model):
    page.session_state["lang"] = "ko"
    at = page.run()
    at.radio(key="mnist_model").set_value(model)
    at.slider(key="mnist_epochs").set_value(1)
    at.button(key="mnist_train").click().run()
    assert not at.exception and not at.error
    headers = [h.value for h in at.header] + [s.value for s in at.subheader]
    assert "모델 속 들여다보기" in headers and "모델이 그렇게 답한 근거" in headers   # a noun phrase (GLOSSARY.md)
    assert_korean(at)


def test_page_looks_inside_with_the_uploaded_digit(page, monkeypatch):
    monkeypatch.setattr(st, "file_uploader", lambda *args, **kwargs: FakeUpload(png_of_a_one()))
    at = page.run()
    at.slider(key="mnist_epochs").set_value(1)
    at.button(key="mnist_train").click().run()
    at.radio(key="inside_source").set_value("own").run()
    assert not at.exception and not at.error
    run = at.session_state["mnist_run"]
    model = mnist_training.TrainedMnist.rebuild(run["result"].config, run["state"])
    probabilities = mnist_uploads.predict_digit(model, mnist_uploads.digit_from_upload(png_of_a_one()))
    best = int(probabilities.argmax())
    assert f"Predicted probabilities: {best}" in titles(at)
    captions = [c.value for c in at.caption]
    assert f"Your digit: the model answers **{best}** ({probabilities[best].item():.1%})." in captions, captions


# ---------------------------------------------------------------- the inside choices in the link
def trained_from_link(page, **link):
    """The page opened from a link (one epoch), then Train pressed: the inside section reads the link then."""
    page.query_params.update({"m_epochs": "1", **link})
    at = page.run()
    at.button(key="mnist_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def oracle_maps(at, image: int, layer: int) -> torch.Tensor:
    """The layer's feature maps (C, H, W) from the session's trained model on held-out digit `image`."""
    run = at.session_state["mnist_run"]
    model = mnist_training.TrainedMnist.rebuild(run["result"].config, run["state"])
    x = mnist_data.load_mnist(SHARED, download=False).test_images[image:image + 1]
    with torch.no_grad():
        maps = F.relu(model.conv1(x))
        if layer == 1:
            maps = F.relu(model.conv2(maps))
    return maps[0]


def strongest(maps: torch.Tensor, channel: int) -> tuple[int, int]:
    return divmod(int(maps[channel].argmax()), maps.shape[2])


def test_a_link_opens_inside_the_cnn_at_its_digit_layer_and_pixel_and_changes_go_back_to_it(page):
    at = trained_from_link(page, model="cnn", m_digit="test", m_index="7", m_layer="2", m_ch="5", m_row="2",
                           m_col="6")
    assert not at.error and not at.warning
    assert at.radio(key="inside_source").value == "test" and at.number_input(key="inside_index").value == 7
    assert at.radio(key="inside_layer").value == 1
    assert at.number_input(key="inside_channel_1").value == 5
    assert (at.number_input(key="inside_row_1_5").value, at.number_input(key="inside_col_1_5").value) == (2, 6)
    code = next(c.value for c in at.code if "ReLU →" in c.value)
    maps = oracle_maps(at, 7, 1)
    assert code.endswith(f"ReLU → {maps[5, 2, 6].item():.4f}"), "digit #7's conv2 map 5 at (2, 6)"

    at.number_input(key="inside_channel_1").set_value(3).run()   # a new channel: its strongest pixel
    row, col = strongest(maps, 3)
    assert {k: at.query_params[k] for k in ("m_layer", "m_ch", "m_row", "m_col")} == \
        {"m_layer": "2", "m_ch": "3", "m_row": str(row), "m_col": str(col)}
    at.number_input(key="inside_col_1_3").set_value((col + 1) % 8).run()
    assert at.query_params["m_col"] == str((col + 1) % 8)
    at.radio(key="inside_layer").set_value(0).run()
    assert at.query_params["m_layer"] == "1" and at.query_params["m_ch"] == "0"
    at.number_input(key="inside_index").set_value(12).run()
    assert at.query_params["m_index"] == "12"
    at.radio(key="inside_source").set_value("mistake").run()
    first = at.session_state["mnist_run"]["report"].mistakes[0].index
    assert at.query_params["m_digit"] == "mistake" and at.query_params["m_wrong"] == str(first)
    assert not at.exception and not at.error


@pytest.fixture(scope="module")
def one_epoch_mistakes():
    """The held-out digits the page's default model gets wrong after one epoch (trained the way the page does)."""
    return [m.index for m in workers.run(jobs.mnist, MnistConfig(epochs=1), str(SHARED)).report.mistakes]


@pytest.mark.parametrize("linked", ["second", "not a mistake"])
def test_a_link_opens_a_misclassified_digit_or_the_first_one(page, one_epoch_mistakes, linked):
    wrong = one_epoch_mistakes[1] if linked == "second" else next(
        i for i in range(len(one_epoch_mistakes) + 1) if i not in one_epoch_mistakes)
    at = trained_from_link(page, m_digit="mistake", m_wrong=str(wrong))
    mistakes = [m.index for m in at.session_state["mnist_run"]["report"].mistakes]
    assert mistakes == one_epoch_mistakes, "the page trains the same model"
    expected = wrong if linked == "second" else mistakes[0]
    assert at.radio(key="inside_source").value == "mistake" and at.selectbox(key="inside_mistake").value == expected
    assert at.query_params["m_wrong"] == str(expected)
    assert not at.error
    refused = [w.value for w in at.warning if f"m_wrong={wrong}" in w.value]
    assert len(refused) == (linked != "second")


@pytest.mark.parametrize("link, layer", [({"m_index": "99999", "m_layer": "7", "m_ch": "8", "m_row": "12",
                                           "m_col": "x"}, 0),
                                         ({"m_index": "-1", "m_layer": "2", "m_ch": "32", "m_row": "8",
                                           "m_col": "20"}, 1)])
def test_bad_inside_values_in_a_link_fall_back_to_the_defaults(page, link, layer):
    at = trained_from_link(page, model="cnn", **link)
    assert not at.error
    assert at.number_input(key="inside_index").value == 0 and at.radio(key="inside_layer").value == layer
    assert at.number_input(key=f"inside_channel_{layer}").value == 0
    row, col = strongest(oracle_maps(at, 0, layer), 0)
    assert (at.number_input(key=f"inside_row_{layer}_0").value,
            at.number_input(key=f"inside_col_{layer}_0").value) == (row, col)
    refused = {name for name, value in link.items() for w in at.warning if f"{name}={value}" in w.value}
    assert refused == set(link) - ({"m_layer"} if layer == 1 else set())
    assert {name: at.query_params[name] for name in link} == {
        "m_index": "0", "m_layer": str(layer + 1), "m_ch": "0", "m_row": str(row), "m_col": str(col)}


@pytest.mark.parametrize("uploaded", [True, False])
def test_a_link_to_a_drawn_digit_shows_it_only_where_the_session_has_one(page, monkeypatch, uploaded):
    if uploaded:
        monkeypatch.setattr(st, "file_uploader", lambda *args, **kwargs: FakeUpload(png_of_a_one()))
    at = trained_from_link(page, m_digit="own")
    assert not at.error and not at.warning
    shown = "own" if uploaded else "test"
    assert at.radio(key="inside_source").value == shown and at.query_params["m_digit"] == shown
    explained = EN["inside.own_not_linked"] in [c.value for c in at.caption]
    assert explained == (not uploaded)
    if not uploaded:
        assert "Held-out digit #0 (labelled" in " ".join(c.value for c in at.caption)
