"""Exports: the script is the tutorial's code the page shows (tests/test_tutorial_code.py runs it), losses as CSV."""
import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from lib.tutorial.config import default_config
from lib.tutorial.export import losses_csv, stage_script
from lib.tutorial.stages import STAGE_NAMES, run_stage
from lib.tutorial.tutorial_code import tutorial_code


@pytest.mark.parametrize("stage", STAGE_NAMES)
@pytest.mark.slow
def test_exported_script_is_the_shown_code_and_runs_with_plain_pytorch(stage, tmp_path):
    cfg = default_config(stage).with_(n=16, d_in=50, hidden=20, steps=100, seed=3)
    text = stage_script(stage, cfg, lang="ko")
    assert text == tutorial_code(stage, cfg, lang="ko")
    assert "import lib" not in text and "from lib" not in text
    script = tmp_path / f"{stage}.py"
    script.write_text(text)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["99", repr(run_stage(stage, cfg).losses[99])]


def test_losses_csv_has_one_column_per_run_and_pads_short_runs():
    text = losses_csv({"lr=1e-06": [3.0, 2.0, 1.0], "lr=1e-03": [3.0]})
    frame = pd.read_csv(io.StringIO(text), index_col="step")
    assert list(frame.columns) == ["lr=1e-06", "lr=1e-03"]
    assert frame["lr=1e-06"].tolist() == [3.0, 2.0, 1.0]
    assert frame["lr=1e-03"].isna().tolist() == [False, True, True]
