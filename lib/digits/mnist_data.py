"""MNIST's digits, loaded once into tensors: the full 60k/10k from torchvision's files, else the real test set
split into training and held-out digits; what went wrong named in a message code."""
from __future__ import annotations

import gzip
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torchvision.datasets import MNIST
from torchvision.datasets.mnist import read_image_file, read_label_file

from lib.text.messages import CodedError, Message


REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO_ROOT / "data"      # ignored by git; MNIST_ROOT overrides it on the server
ROOT_ENV = "MNIST_ROOT"
DOWNLOAD_ENV = "MNIST_DOWNLOAD"        # "0" never tries the network (tests, air-gapped servers)

FILES = {                              # torchvision's names, in <root>/MNIST/raw/, each plain or .gz
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MEAN, STD = 0.1307, 0.3081             # pytorch/examples mnist/main.py's Normalize((0.1307,), (0.3081,))
SIDE, PIXELS, CLASSES = 28, 28 * 28, 10
OFFLINE_TRAIN_FRACTION = 0.8           # 10,000 test digits -> 8,000 training / 2,000 held out
SPLIT_SEED = 0                         # fixed: every server and every test sees the same offline split
PROBE_TIMEOUT_S = 3.0                  # how long a download may wait for the network before falling back


class MnistDataError(CodedError, RuntimeError):
    """The MNIST files are missing, truncated or not MNIST; the message names the folder and the files."""


@dataclass(frozen=True)
class MnistData:
    source: str                        # "full" (60k/10k) or "offline-subset" (the real test set, split)
    train_images: torch.Tensor         # (N_TRAIN, 1, 28, 28) float32, normalised with MEAN and STD
    train_labels: torch.Tensor         # (N_TRAIN,) int64 digits 0-9
    test_images: torch.Tensor          # (N_TEST, 1, 28, 28) float32, normalised
    test_labels: torch.Tensor          # (N_TEST,) int64
    root: str                          # the folder it was read from
    notes: tuple[Message, ...] = ()    # e.g. why a download was not tried or failed

    @property
    def description(self) -> Message:
        """What this data is ("mnist.data.<source>"), for the page to render."""
        return Message(f"mnist.data.{self.source}", n_train=len(self.train_labels), n_test=len(self.test_labels))


def data_root() -> Path:
    """Where the data lives: a server-side setting (MNIST_ROOT), never something a visitor types."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def expected_files_message(raw: Path) -> Message:
    return Message("mnist_data.expected", names=", ".join(FILES.values()), raw=str(raw), env=ROOT_ENV)


def load_mnist(root: str | Path | None = None, download: bool | None = None) -> MnistData:
    """Read MNIST from <root>/MNIST/raw/ (root=None reads MNIST_ROOT) into normalised tensors.

    All four files: the full set. Test pair only: a download is tried when the folder is writable and the
    network answers within PROBE_TIMEOUT_S; otherwise the 10,000 real test digits are split by SPLIT_SEED.
    `download=None` reads MNIST_DOWNLOAD (default on).
    """
    root = Path(root) if root is not None else data_root()
    raw = root / "MNIST" / "raw"
    if download is None:
        download = os.environ.get(DOWNLOAD_ENV, "1") != "0"
    notes = []
    found = {key: _find(raw, name) for key, name in FILES.items()}
    if not all(found.values()) and download:
        note = _try_download(root, raw)
        if note:
            notes.append(note)
        found = {key: _find(raw, name) for key, name in FILES.items()}
    if all(found.values()):
        tensors = {key: _read(path, key, raw) for key, path in found.items()}
        _check_pair(tensors["train_images"], tensors["train_labels"], found["train_images"], raw)
        _check_pair(tensors["test_images"], tensors["test_labels"], found["test_images"], raw)
        return MnistData("full", _normalise(tensors["train_images"]), tensors["train_labels"],
                         _normalise(tensors["test_images"]), tensors["test_labels"], str(root), tuple(notes))
    if not (found["test_images"] and found["test_labels"]):
        missing = ", ".join(name for key, name in FILES.items() if not found[key])
        if notes:
            raise MnistDataError("mnist_data.missing_tried", raw=str(raw), missing=missing, tried=notes[0],
                                 expected=expected_files_message(raw))
        raise MnistDataError("mnist_data.missing", raw=str(raw), missing=missing, expected=expected_files_message(raw))
    images = _read(found["test_images"], "test_images", raw)
    labels = _read(found["test_labels"], "test_labels", raw)
    _check_pair(images, labels, found["test_images"], raw)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_train = round(OFFLINE_TRAIN_FRACTION * len(labels))
    train, test = order[:n_train], order[n_train:]
    return MnistData("offline-subset", _normalise(images[train]), labels[train],
                     _normalise(images[test]), labels[test], str(root), tuple(notes))


def _find(raw: Path, name: str) -> Path | None:
    for path in (raw / name, raw / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def _read(path: Path, key: str, raw: Path) -> torch.Tensor:
    """One IDX file through torchvision's reader; a .gz is unpacked into a temporary folder, never beside it."""
    reader = read_image_file if key.endswith("images") else read_label_file
    try:
        if path.suffix != ".gz":
            return reader(str(path))
        with tempfile.TemporaryDirectory(prefix="mnist-") as tmp:
            plain = Path(tmp) / path.stem
            plain.write_bytes(gzip.decompress(path.read_bytes()))
            return reader(str(plain))
    # a truncated gzip raises EOFError/BadGzipFile; a truncated or foreign IDX file an assert or a bad view
    except (AssertionError, EOFError, OSError, RuntimeError, TypeError, ValueError, KeyError) as err:
        raise MnistDataError("mnist_data.corrupt", path=str(path), error=_plain(f"{type(err).__name__}: {err}"),
                             expected=expected_files_message(raw)) from err


def _check_pair(images: torch.Tensor, labels: torch.Tensor, image_path: Path, raw: Path) -> None:
    problem = None
    if images.dim() != 3 or tuple(images.shape[1:]) != (SIDE, SIDE):
        problem = Message("mnist_data.shape", shape=str(tuple(images.shape)))
    elif len(images) != len(labels):
        problem = Message("mnist_data.count", images=len(images), labels=len(labels))
    elif len(labels) < 2:
        problem = Message("mnist_data.few", digits=len(labels))
    elif labels.min() < 0 or labels.max() >= CLASSES:
        problem = Message("mnist_data.label_range")
    if problem:
        raise MnistDataError("mnist_data.not_paired", path=str(image_path), problem=problem,
                             expected=expected_files_message(raw))


def _normalise(images: torch.Tensor) -> torch.Tensor:
    return ((images.float() / 255.0 - MEAN) / STD).unsqueeze(1)   # (N, 28, 28) uint8 -> (N, 1, 28, 28)


def _try_download(root: Path, raw: Path) -> Message | None:
    """torchvision's download, but only where it can work: a writable folder and a network that answers fast."""
    if not _writable(raw):
        return Message("mnist_data.read_only", root=str(root))
    host = urlparse(MNIST.mirrors[0]).hostname
    try:
        socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S).close()
    except OSError as err:
        return Message("mnist_data.no_network", host=host, error=_plain(err))
    try:
        MNIST(str(root), train=True, download=True)
    except (RuntimeError, OSError) as err:
        return Message("mnist_data.download_failed", error=_plain(err))
    return None


def _plain(err) -> str:
    """An exception's own text, shown inside a code span (so without backticks)."""
    return str(err).replace("`", "'")


def _writable(path: Path) -> bool:
    """The nearest existing folder on the way to `path` is writable by its mode bits too (root ignores them)."""
    while not path.exists():
        path = path.parent
    return bool(path.stat().st_mode & 0o222) and os.access(path, os.W_OK)


def denormalise(images: torch.Tensor) -> torch.Tensor:
    """Normalised (..., 28, 28) back to [0, 1] for display."""
    return (images * STD + MEAN).clamp(0, 1)
