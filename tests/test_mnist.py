"""lib.digits.mnist_*: the loader on IDX files written here, training on the real digits, the hand-written
softmax + cross-entropy backward against autograd, config validation, and the upload conversion."""
import gzip
import io
import math
import struct
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from lib.digits import mnist_data, mnist_gradients, mnist_models, mnist_training, mnist_uploads

from lib.serve import jobs, workers
from lib.digits.mnist_data import FILES, MnistDataError
from lib.digits.mnist_models import MnistConfig
from lib.digits.mnist_uploads import UploadError
from lib.tutorial.optimizers import OPTIMIZERS

SHARED = Path(__file__).parents[2] / "shared" / "data"


# ---------------------------------------------------------------- IDX files written by the tests
def idx_bytes(tensor: torch.Tensor) -> bytes:
    """The IDX format: two zero bytes, type 0x08 (uint8), the number of dims, each dim big-endian, the data."""
    header = bytes([0, 0, 0x08, tensor.dim()]) + b"".join(struct.pack(">I", d) for d in tensor.shape)
    return header + tensor.to(torch.uint8).numpy().tobytes()


def write_split(raw: Path, prefix: str, images: torch.Tensor, labels: torch.Tensor, gz: bool) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for kind, tensor in (("images-idx3", images), ("labels-idx1", labels)):
        name = f"{prefix}-{kind}-ubyte"
        data = idx_bytes(tensor)
        (raw / (name + ".gz" if gz else name)).write_bytes(gzip.compress(data) if gz else data)


def numbered_digits(n: int):
    """Image i has pixel (0, 0) = i and pixel (27, 27) = 255 - i, so every image can be traced after a split."""
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    images[:, 0, 0] = torch.arange(n)
    images[:, 27, 27] = 255 - torch.arange(n)
    return images, torch.arange(n) % 10


def pixel_to_index(normalised: torch.Tensor) -> list[int]:
    return torch.round(mnist_data.denormalise(normalised[:, 0, 0, 0]) * 255).long().tolist()


def test_full_layout_reads_all_four_files_plain_or_gz(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    train_images, train_labels = numbered_digits(30)
    test_images, test_labels = numbered_digits(12)
    write_split(raw, "train", train_images, train_labels, gz=True)
    write_split(raw, "t10k", test_images, test_labels, gz=False)
    data = mnist_data.load_mnist(tmp_path, download=False)
    assert data.source == "full"
    assert data.train_images.shape == (30, 1, 28, 28) and data.train_images.dtype == torch.float32
    assert data.test_images.shape == (12, 1, 28, 28)
    assert torch.equal(data.train_labels, train_labels) and torch.equal(data.test_labels, test_labels)
    # pytorch/examples' Normalize((0.1307,), (0.3081,)) of ToTensor()'s x / 255
    expected = (train_images[7, 27, 27].item() / 255 - 0.1307) / 0.3081
    assert data.train_images[7, 0, 27, 27].item() == pytest.approx(expected, abs=1e-6)
    assert data.train_images[7, 0, 5, 5].item() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)
    assert "full MNIST set" in str(data.description)
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    ), "a .gz must be unpacked elsewhere, never beside the files"


def test_subset_layout_splits_the_test_digits_by_a_fixed_seed(tmp_path):
    images, labels = numbered_digits(50)
    write_split(tmp_path / "MNIST" / "raw", "t10k", images, labels, gz=True)
    data = mnist_data.load_mnist(tmp_path, download=False)
    assert data.source == "offline-subset"
    assert len(data.train_labels) == 40 and len(data.test_labels) == 10
    train, test = pixel_to_index(data.train_images), pixel_to_index(data.test_images)
    assert sorted(train + test) == list(range(50)), "every digit lands in exactly one part"
    assert train != list(range(40)), "the split is shuffled, not the first 80%"
    assert data.train_labels.tolist() == [i % 10 for i in train], "labels travel with their images"
    again = mnist_data.load_mnist(tmp_path, download=False)
    assert pixel_to_index(again.train_images) == train
    assert "offline subset: 40 training / 10 held-out" in str(data.description)


def test_missing_files_name_the_folder_and_the_four_files(tmp_path):
    with pytest.raises(MnistDataError) as err:
        mnist_data.load_mnist(tmp_path, download=False)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    for name in FILES.values():
        assert name in message


def test_training_pair_alone_is_not_enough(tmp_path):
    images, labels = numbered_digits(20)
    write_split(tmp_path / "MNIST" / "raw", "train", images, labels, gz=False)
    with pytest.raises(MnistDataError, match="missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"):
        mnist_data.load_mnist(tmp_path, download=False)


@pytest.mark.parametrize("gz", [True, False])
def test_truncated_file_is_a_clear_error(tmp_path, gz):
    raw = tmp_path / "MNIST" / "raw"
    images, labels = numbered_digits(20)
    write_split(raw, "t10k", images, labels, gz=gz)
    path = raw / ("t10k-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(MnistDataError) as err:
        mnist_data.load_mnist(tmp_path, download=False)
    message = str(err.value)
    assert str(path) in message and "corrupt or truncated" in message
    for name in FILES.values():
        assert name in message


def test_labels_that_do_not_pair_with_images_are_an_error(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    images, _ = numbered_digits(20)
    write_split(raw, "t10k", images, torch.arange(19) % 10, gz=False)
    with pytest.raises(MnistDataError, match="20 images but 19 labels"):
        mnist_data.load_mnist(tmp_path, download=False)


def test_no_network_falls_back_fast_to_the_subset(tmp_path, monkeypatch):
    calls = []

    def unreachable(address, timeout):
        calls.append((address, timeout))
        raise OSError("network is unreachable")

    monkeypatch.setattr(mnist_data.socket, "create_connection", unreachable)
    images, labels = numbered_digits(20)
    write_split(tmp_path / "MNIST" / "raw", "t10k", images, labels, gz=True)
    start = time.perf_counter()
    data = mnist_data.load_mnist(tmp_path, download=True)
    assert time.perf_counter() - start < 2
    assert data.source == "offline-subset"
    assert len(calls) == 1 and calls[0][1] <= mnist_data.PROBE_TIMEOUT_S
    assert any("no network" in str(note) for note in data.notes)


def test_read_only_folder_is_never_downloaded_into(tmp_path, monkeypatch):
    def must_not_connect(*args, **kwargs):
        raise AssertionError("a read-only folder must not trigger a download")

    monkeypatch.setattr(mnist_data.socket, "create_connection", must_not_connect)
    images, labels = numbered_digits(20)
    raw = tmp_path / "MNIST" / "raw"
    write_split(raw, "t10k", images, labels, gz=True)
    for folder in (raw, raw.parent, tmp_path):
        folder.chmod(0o555)
    try:
        data = mnist_data.load_mnist(tmp_path, download=True)
    finally:
        for folder in (tmp_path, raw.parent, raw):
            folder.chmod(0o755)
    assert data.source == "offline-subset"
    assert any("read-only" in str(note) for note in data.notes)


def test_root_none_reads_mnist_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")
    assert mnist_data.data_root() == tmp_path
    with pytest.raises(MnistDataError, match=str(tmp_path)):
        mnist_data.load_mnist()


# ---------------------------------------------------------------- the real digits
@pytest.fixture(scope="module")
def real():
    return mnist_data.load_mnist(SHARED, download=False)


@pytest.fixture(scope="module")
def trained(real):
    return mnist_training.train_mnist(real, MnistConfig(epochs=2, batch_size=64, lr=1e-3))


def test_shared_folder_gives_the_8000_2000_offline_subset(real):
    assert real.source == "offline-subset"
    assert len(real.train_labels) == 8000 and len(real.test_labels) == 2000
    assert "8,000 training / 2,000 held-out" in str(real.description)
    assert abs(real.train_images.mean().item()) < 0.05 and abs(real.train_images.std().item() - 1) < 0.05
    assert real.test_labels.bincount(minlength=10).min() > 100, "every digit is in the held-out part"


@pytest.mark.slow
def test_short_mlp_run_reaches_90_percent(trained):
    assert trained.final_accuracy >= 0.90
    assert [h["epoch"] for h in trained.history] == [1, 2]
    assert len(trained.batch_losses) == 2 * 125
    assert trained.history[1]["train_loss"] < trained.history[0]["train_loss"]
    assert all(set(h) >= {"epoch", "train_loss", "test_loss", "test_accuracy"} for h in trained.history)


def test_progress_callback_sees_every_batch_and_every_epoch(real):
    small = mnist_data.MnistData("offline-subset", real.train_images[:256], real.train_labels[:256],
                                 real.test_images[:100], real.test_labels[:100], "memory")
    seen = []
    result = mnist_training.train_mnist(small, MnistConfig(epochs=2, batch_size=100), seen.append)
    batches = [p for p in seen if p.test_accuracy is None]
    epochs = [p for p in seen if p.test_accuracy is not None]
    assert [p.step for p in batches] == list(range(1, 7)) and batches[-1].total_steps == 6
    assert [p.test_accuracy for p in epochs] == [h["test_accuracy"] for h in result.history]
    assert [p.loss for p in batches] == result.batch_losses


@pytest.mark.slow
def test_same_seed_same_run_even_from_concurrent_sessions(real):
    """Sessions train in worker processes (lib.serve.workers), so concurrent runs never share a random generator."""
    config = MnistConfig(epochs=1, batch_size=256, seed=7)
    alone = mnist_training.train_mnist(real, config).batch_losses
    results = [None] * 3

    def session(k):
        other = MnistConfig(epochs=1, batch_size=256, seed=8)
        results[k] = workers.run(jobs.mnist, config if k != 1 else other, str(SHARED)).result.batch_losses

    threads = [threading.Thread(target=session, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == alone and results[2] == alone
    assert results[1] != alone


@pytest.mark.slow
def test_evaluation_helpers_agree_with_each_other(real, trained):
    report = mnist_training.report(trained.model, real)
    assert report.accuracy == pytest.approx(trained.final_accuracy)
    assert report.confusion.sum().item() == 2000
    assert report.confusion.diag().sum().item() == round(report.accuracy * 2000)
    assert torch.equal(report.confusion.sum(1), real.test_labels.bincount(minlength=10))
    assert report.per_class.tolist() == pytest.approx(
        [(report.predicted[real.test_labels == d] == d).double().mean().item() for d in range(10)])
    confidences = [m.confidence for m in report.mistakes]
    assert confidences == sorted(confidences, reverse=True) and len(report.mistakes) == 24
    assert all(m.true != m.predicted and real.test_labels[m.index] == m.true for m in report.mistakes)


def test_confusion_matrix_rows_are_true_digits():
    cm = mnist_training.confusion_matrix(torch.tensor([3, 3, 5]), torch.tensor([3, 8, 5]))
    assert cm[3, 3] == 1 and cm[3, 8] == 1 and cm[5, 5] == 1 and cm.sum() == 3
    per_class = mnist_training.per_class_accuracy(cm)
    assert per_class[3] == 0.5 and per_class[5] == 1.0 and torch.isnan(per_class[0])


def test_cnn_trains_and_is_a_two_conv_network(real):
    small = mnist_data.MnistData("offline-subset", real.train_images[:1024], real.train_labels[:1024],
                                 real.test_images[:200], real.test_labels[:200], "memory")
    # the CNN's own recipe (one cycle up to lr 1e-2), in batches of 64 to make 16 of them
    result = mnist_training.train_mnist(small, replace(mnist_models.default_config("cnn"), hidden=32, epochs=1,
                                                       batch_size=64))
    convs = [m for m in result.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 2
    assert result.final_accuracy > 0.5, "far better than the 10% of guessing, after 16 batches"


def test_a_blow_up_stops_the_run_instead_of_training_on_nan(real):
    # inputs scaled by 1e4 and plain SGD at lr 1: the logits explode within a few batches
    huge = mnist_data.MnistData("offline-subset", real.train_images[:512] * 1e4, real.train_labels[:512],
                                real.test_images[:100], real.test_labels[:100], "memory")
    result = mnist_training.train_mnist(huge, MnistConfig(optimizer="sgd", lr=1.0, epochs=3))
    assert result.diverged_at is not None and result.divergence_reason == "diverged.not_finite"
    assert not math.isfinite(result.stop_loss)
    assert len(result.batch_losses) == result.diverged_at < 3 * 8
    assert all(torch.isfinite(torch.tensor(result.batch_losses)))


# ---------------------------------------------------------------- hand-written vs autograd
def _float64_mlp(real, n=32):
    model = mnist_models.build_model(MnistConfig(hidden=20, seed=3))
    return model, real.train_images[:n], real.train_labels[:n]


def test_hand_written_mlp_gradient_matches_autograd_in_float64(real):
    model, images, labels = _float64_mlp(real)
    table = mnist_gradients.mlp_gradient_table(model, images, labels, dtype="float64")
    assert list(table["parameter"]) == list(mnist_gradients.MLP_NAMES)
    assert (table["rel_error"] < 1e-10).all(), table
    assert table["within_tol"].all()
    assert (table["cosine"] > 1 - 1e-12).all()
    assert (table["fd_rel_error"] < 1e-6).all(), "autograd itself agrees with finite differences"
    assert list(table["shape"]) == ["20×784", "20", "10×20", "10"]


def test_forgetting_the_division_by_the_batch_fails_the_same_check(real):
    model, images, labels = _float64_mlp(real)
    table = mnist_gradients.mlp_gradient_table(model, images, labels, dtype="float64", broken=True)
    assert (table["rel_error"] > 0.9).all(), "off by a factor of N = 32: rel_error = 1 - 1/32"
    assert not table["within_tol"].any()
    assert (table["cosine"] > 1 - 1e-12).all(), "the direction is right; only the scale is wrong"


def test_hand_written_gradient_against_the_closed_form_on_a_tiny_batch():
    # one example, zero weights: logits = b2, so grad_b2 = softmax(b2) - onehot exactly
    params = {"linear1.weight": torch.zeros(3, 784, dtype=torch.float64),
              "linear1.bias": torch.zeros(3, dtype=torch.float64),
              "linear2.weight": torch.zeros(10, 3, dtype=torch.float64),
              "linear2.bias": torch.arange(10, dtype=torch.float64) / 10}
    grads = mnist_gradients.manual_mlp_grads(params, torch.ones(1, 784, dtype=torch.float64), torch.tensor([4]))
    expected = torch.softmax(params["linear2.bias"], 0) - torch.nn.functional.one_hot(torch.tensor(4), 10)
    assert torch.allclose(grads["linear2.bias"], expected, atol=1e-15)


def test_gradient_table_refuses_the_cnn(real):
    model = mnist_models.build_model(MnistConfig(model="cnn", hidden=8))
    with pytest.raises(ValueError, match="MLP"):
        mnist_gradients.mlp_gradient_table(model, real.train_images[:4], real.train_labels[:4])


# ---------------------------------------------------------------- config
@pytest.mark.parametrize("field, value", [
    ("model", "resnet"), ("hidden", 0), ("hidden", 5000), ("hidden", 10.5), ("optimizer", "lbfgs"),
    ("lr", 0), ("lr", float("nan")), ("lr", 5.0), ("momentum", 1.0), ("batch_size", 4), ("batch_size", 10**6),
    ("epochs", 0), ("epochs", 100), ("seed", -1), ("seed", True),
])
def test_bad_settings_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"^{field}="):
        MnistConfig(**{field: value})


def test_the_time_limit_stops_training_between_batches_and_keeps_a_partial_epoch(real):
    """Every value the form offers is a config; the server's time limit, not a refusal, bounds a run."""
    MnistConfig(model="cnn", hidden=1024, epochs=20)
    small = mnist_data.MnistData("offline-subset", real.train_images[:4000], real.train_labels[:4000],
                                 real.test_images[:100], real.test_labels[:100], "memory")
    result = mnist_training.train_mnist(small, MnistConfig(model="cnn", hidden=64, epochs=5, batch_size=16),
                                        time_limit_s=0.3)
    assert result.time_limited_at is not None and result.time_limited_at == len(result.batch_losses)
    assert len(result.history) == 1 and 0 < result.history[0]["epoch"] < 1   # the share of epoch 1 that ran
    assert result.history[0]["test_accuracy"] == mnist_training.evaluate(result.model, small.test_images,
                                                                         small.test_labels)[1]


def test_defaults_are_the_tutorials_hidden_size_and_a_valid_optimizer():
    config = MnistConfig()
    assert config.hidden == 100 and config.model == "mlp" and config.optimizer in OPTIMIZERS


# ---------------------------------------------------------------- "try your own digit"
def png_bytes(img: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


def drawn_one(background=255, ink=0, size=(200, 120)) -> Image.Image:
    """A vertical bar (a "1") drawn off-centre on a plain background."""
    img = Image.new("L", size, background)
    img.paste(ink, (20, 10, 40, 110))       # x 20-40, y 10-110
    return img


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_upload_becomes_a_centred_white_on_black_28x28_digit(fmt):
    digit = mnist_uploads.digit_from_upload(png_bytes(drawn_one(), fmt))
    assert digit.shape == (28, 28) and digit.min() >= 0 and digit.max() <= 1
    assert digit[0].max() < 0.05 and digit[:, 0].max() < 0.05, "the paper became black"
    ink = (digit > 0.5).nonzero().float()
    rows, cols = ink[:, 0], ink[:, 1]
    assert rows.max() - rows.min() + 1 == pytest.approx(20, abs=1), "the long side is scaled to 20 pixels"
    assert (rows.min() + rows.max()) / 2 == pytest.approx(13.5, abs=1)
    assert (cols.min() + cols.max()) / 2 == pytest.approx(13.5, abs=1), "centred, though drawn off-centre"


def test_light_ink_on_dark_is_not_inverted():
    a = mnist_uploads.digit_from_upload(png_bytes(drawn_one()))
    b = mnist_uploads.digit_from_upload(png_bytes(drawn_one(background=0, ink=255)))
    assert torch.allclose(a, b, atol=0.02)


def test_transparent_drawing_reads_as_ink_on_paper():
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (45, 10, 55, 90))
    digit = mnist_uploads.digit_from_upload(png_bytes(img))
    assert digit[14, 14] > 0.5 and digit[0, 0] < 0.05


@pytest.mark.slow
def test_real_digits_survive_the_upload_path(real, trained):
    """Held-out digits saved as dark-on-white PNGs, 4x larger, come back as digits the model still reads."""
    images = (mnist_data.denormalise(real.test_images[:50, 0]) * 255).round().to(torch.uint8)
    correct = 0
    for image, label in zip(images, real.test_labels[:50]):
        picture = Image.fromarray((255 - image).numpy(), mode="L").resize((112, 112))
        digit = mnist_uploads.digit_from_upload(png_bytes(picture))
        correct += int(mnist_uploads.predict_digit(trained.model, digit).argmax()) == int(label)
    assert correct >= 40


def test_non_image_is_refused():
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(b"%PDF-1.4 this is not a picture" * 10)
    assert refused.value.code == "upload.not_an_image"


def test_other_image_formats_are_refused_by_content_not_name():
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(png_bytes(drawn_one(), "GIF"))
    assert refused.value.code == "upload.not_an_image"


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(b"\x89PNG" + b"\0" * mnist_uploads.MAX_UPLOAD_BYTES)
    assert refused.value.code == "upload.too_big" and refused.value.values["limit"] == 2


def test_too_many_pixels_is_refused_though_the_file_is_small():
    raw = png_bytes(Image.new("1", (6000, 6000), 1))
    assert len(raw) < mnist_uploads.MAX_UPLOAD_BYTES
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(raw)
    assert refused.value.code == "upload.too_many_pixels"
    assert (refused.value.values["width"], refused.value.values["height"]) == (6000, 6000)


def test_truncated_png_is_refused():
    raw = png_bytes(drawn_one())
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(raw[: len(raw) // 2])
    assert refused.value.code in ("upload.undecodable", "upload.not_an_image")


@pytest.mark.parametrize("raw, code", [(b"", "upload.empty"), (png_bytes(Image.new("L", (50, 50), 255)), "upload.no_digit"),
                                       (png_bytes(Image.new("L", (300, 200), 150)), "upload.no_digit")])
def test_empty_or_blank_upload_is_refused(raw, code):
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(raw)
    assert refused.value.code == code


def photographed_four(size=(480, 640), seed=0) -> Image.Image:
    """A dark "4" on grey paper lit from one corner (paper from ~0.45 to ~0.85), with sensor noise."""
    height, width = size
    rows = torch.linspace(0, 1, height)[:, None]
    cols = torch.linspace(0, 1, width)[None, :]
    paper = 0.45 + 0.25 * rows + 0.15 * cols                          # (H, W) uneven lighting
    ink = torch.zeros(height, width)
    ink[120:330, 200:230] = 1                                         # the left stroke, down to the bar
    ink[300:330, 200:420] = 1                                         # the bar
    ink[100:540, 360:392] = 1                                         # the long right stroke
    picture = paper * (1 - 0.75 * ink) + 0.02 * torch.randn(height, width, generator=torch.Generator().manual_seed(seed))
    return Image.fromarray((picture.clamp(0, 1) * 255).round().to(torch.uint8).numpy(), mode="L")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_digit_on_grey_unevenly_lit_paper_comes_out_as_a_digit(fmt):
    digit = mnist_uploads.digit_from_upload(png_bytes(photographed_four(), fmt))
    frame = torch.cat([digit[:2].flatten(), digit[-2:].flatten(), digit[:, :2].flatten(), digit[:, -2:].flatten()])
    assert (frame < 0.05).float().mean() > 0.95, "the grey paper became black, not a filled square"
    assert (digit > 0.5).float().mean() < 0.35, "a digit's strokes, not a filled box"
    assert digit.max() > 0.9, "the stroke is bright, as MNIST's are"
    # the "4"'s structure: its right stroke is the long one, so the lower-right has ink and the lower-left has none
    assert digit[20:24, 14:24].max() > 0.5 and digit[20:24, 4:10].max() < 0.1


@pytest.mark.slow
def test_digit_on_grey_paper_is_read_by_the_trained_model(trained):
    digit = mnist_uploads.digit_from_upload(png_bytes(photographed_four()))
    assert int(mnist_uploads.predict_digit(trained.model, digit).argmax()) == 4


def _added_memory_mb(raw: bytes, tmp_path: Path) -> tuple[float, float]:
    """Converting one file in a fresh process: (peak RSS above the RSS just before, the peak before) in MB."""
    (tmp_path / "picture").write_bytes(raw)
    script = f"""
import io, resource
from PIL import Image
from lib.digits import mnist_uploads

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024

img = Image.new("L", (64, 64), 255); img.paste(0, (20, 10, 40, 50)); warm = io.BytesIO(); img.save(warm, "PNG")
mnist_uploads.digit_from_upload(warm.getvalue())    # torch's first-use allocations are not the picture's
raw = open({str(tmp_path / "picture")!r}, "rb").read()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                                     # the peak restarts from now (Linux)
before, peak_before = rss_mb(), peak_mb()
mnist_uploads.digit_from_upload(raw)
print(peak_mb() - before, peak_before - before)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    added, slack = map(float, out.stdout.split()[-2:])
    return added, slack


def largest_accepted_side(mode: str) -> int:
    """The side of the largest square PNG of `mode` that digit_from_upload decodes."""
    side = 4096
    while side * side * mnist_uploads._decode_cost(Image.new(mode, (1, 1))) > mnist_uploads.MAX_DECODE_BYTES:
        side -= 1
    return side


@pytest.mark.parametrize("mode, fmt", [("L", "PNG"), ("RGB", "JPEG"), ("RGB", "PNG"), ("RGBA", "PNG"),
                                       ("P", "PNG"), ("1", "PNG")])
@pytest.mark.slow
def test_the_largest_accepted_picture_is_shrunk_before_it_costs_memory(mode, fmt, tmp_path):
    """The 74 KB, 4096×4096 PNG that used to add 256 MB (grey, or as a JPEG), and each other kind of PNG at the
    largest size it is accepted at."""
    side = 4096 if fmt == "JPEG" else largest_accepted_side(mode)
    picture = Image.new("L", (side, side), 255)
    picture.paste(0, (side // 3, side // 8, side // 2, side * 7 // 8))
    raw = png_bytes(picture.convert(mode), fmt)
    assert len(raw) <= mnist_uploads.MAX_UPLOAD_BYTES
    added, slack = _added_memory_mb(raw, tmp_path)
    assert slack < 5, "the peak was reset just before the conversion"
    assert added <= 30


def test_a_large_colour_png_is_refused_before_decoding():
    raw = png_bytes(Image.new("RGB", (4096, 4096), (255, 255, 255)))
    with pytest.raises(UploadError) as refused:
        mnist_uploads.digit_from_upload(raw)
    assert refused.value.code == "upload.too_large_to_decode"
    side = refused.value.values["side"]
    assert 4 * side * side <= mnist_uploads.MAX_DECODE_BYTES < 4 * (side + 1) ** 2


def test_the_cnn_pools_before_its_relu_and_gets_the_numbers_of_relu_then_pool(real):
    """MnistCNN pools first (cheaper); ReLU and max commute, so the logits are LeNet's ReLU-then-pool ones."""
    model = mnist_models.build_model(MnistConfig(model="cnn", hidden=16))
    x = real.test_images[:8]
    with torch.no_grad():
        a = F.relu(model.conv1(x))                       # stride 2: no pooling after conv1
        a = F.max_pool2d(F.relu(model.conv2(a)), 2)
        lenet = model.fc2(F.relu(model.fc1(a.flatten(1))))
        assert torch.equal(model(x), lenet)
