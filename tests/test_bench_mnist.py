"""bench/mnist.py on IDX files written here: with all four files it reports the full set's accuracy and time."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.test_mnist import numbered_digits, write_split

pytestmark = pytest.mark.slow   # trains MNIST in a fresh Python
ROOT = Path(__file__).parents[1]


def test_bench_reports_the_full_training_set_when_its_files_are_there(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    images, labels = numbered_digits(600)
    images[:, 10:18, 10:18] = (labels * 25).to(torch.uint8).view(-1, 1, 1)   # something learnable per digit
    write_split(raw, "train", images, labels, gz=True)
    write_split(raw, "t10k", images[:100], labels[:100], gz=False)
    out = subprocess.run([sys.executable, "bench/mnist.py", "--root", str(tmp_path), "--repeats", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, env={**os.environ, "MNIST_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "full MNIST set: 600 training / 100 test digits" in text
    assert "| MLP (H=100, Adam 1e-3, batch 64), 3 epochs on 600 training digits (the full set): test accuracy" in text
    assert "3 epochs on 600 training digits (the full set): test accuracy | ≥ 97%" in text
    assert "| CNN, 3 epochs, channels-last: training time (CPU time) | (reported) |" in text
    views = [line for line in text.splitlines() if line.startswith("| inside the model")]
    assert len(views) == 7 and all("≤ 0.5 s" in line for line in views)
