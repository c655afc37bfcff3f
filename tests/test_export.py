"""The exported scripts run with plain PyTorch and reproduce run_stage's losses exactly."""
import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from lib.config import default_config
from lib.export import losses_csv, stage_script
from lib.stages import STAGE_NAMES, run_stage


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_exported_script_reproduces_the_dashboards_losses(stage, tmp_path):
    cfg = default_config(stage).with_(n=16, d_in=50, hidden=20, steps=40, seed=3)
    script = tmp_path / f"{stage}.py"
    script.write_text(stage_script(stage, cfg))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, env=env,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "import lib" not in script.read_text() and "from lib" not in script.read_text()
    assert json.loads(out.stdout.strip().splitlines()[-1]) == run_stage(stage, cfg).losses


def test_exported_broken_myrelu_trains_like_the_page(tmp_path):
    cfg = default_config("custom_function").with_(n=16, d_in=50, hidden=20, steps=40)
    script = tmp_path / "broken.py"
    script.write_text(stage_script("custom_function", cfg, broken_relu=True))
    out = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == run_stage("custom_function", cfg, broken_relu=True).losses
    assert got != run_stage("custom_function", cfg).losses


def test_exported_script_prints_like_the_tutorial(tmp_path):
    cfg = default_config("tensors").with_(steps=200)
    script = tmp_path / "tensors.py"
    script.write_text(stage_script("tensors", cfg))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = out.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["99", "199"]
    assert lines[-1].startswith("final loss")


def test_losses_csv_has_one_column_per_run_and_pads_short_runs():
    text = losses_csv({"lr=1e-06": [3.0, 2.0, 1.0], "lr=1e-03": [3.0]})
    frame = pd.read_csv(io.StringIO(text), index_col="step")
    assert list(frame.columns) == ["lr=1e-06", "lr=1e-03"]
    assert frame["lr=1e-06"].tolist() == [3.0, 2.0, 1.0]
    assert frame["lr=1e-03"].isna().tolist() == [False, True, True]
