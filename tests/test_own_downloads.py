"""The own-network page's downloads: the loss curve and the gradient table as CSV, made on the click, equal to what
the page shows; the network as a script that, run on its own, prints the page's losses."""
import io
import os
import subprocess
import sys

import pandas as pd
import pytest
import streamlit.elements.widgets.button as button

from lib.text.i18n import EN, KO
from lib.explore.own_network import NetworkConfig, network_gradients, train_network
from lib.explore.own_script import network_script
from tests.test_own_network import HANGUL, open_page
from tests.page_support import open_stage_tab, plotly_values

pytestmark = pytest.mark.slow   # each test runs the downloaded script in a fresh Python or the page in AppTest
QUERY = {"net_layers": "2", "net_w1": "10", "net_w2": "7", "net_act": "tanh", "net_loss": "mean", "net_n": "8",
         "net_d_in": "20", "net_d_out": "3", "net_lr": "0.01", "net_steps": "200", "net_seed": "3",
         "net_dtype": "float64", "net_step": "5"}
CFG = NetworkConfig(widths=(10, 7), activation="tanh", reduction="mean", n=8, d_in=20, d_out=3, lr=0.01, steps=200,
                    seed=3, dtype="float64")


def run_script(script: str, tmp_path) -> list[str]:
    path = tmp_path / "own_network.py"
    path.write_text(script)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def printed(losses: list[float]) -> list[str]:
    """What the script prints for `losses`: the step and the loss every 100 steps, as the tutorial does."""
    return [text for t in range(99, len(losses), 100) for text in (str(t), repr(losses[t]))]


@pytest.mark.parametrize("cfg", [
    NetworkConfig(widths=(12,), n=8, d_in=20, d_out=3, steps=300),                                  # the tutorial's
    NetworkConfig(widths=(9, 6, 5), activation="leaky_relu", reduction="mean", n=7, d_in=11, d_out=4, lr=0.05,
                  steps=300, seed=11, dtype="float64"),
    NetworkConfig(widths=(8, 8, 8, 8), activation="sigmoid", n=5, d_in=6, d_out=2, lr=1e-3, steps=200, seed=5),
], ids=["relu-sum-float32", "leaky-mean-float64", "sigmoid4-sum-float32"])
def test_the_script_prints_train_networks_losses(cfg, tmp_path):
    losses = train_network(cfg).losses
    assert len(losses) == cfg.steps                                   # no divergence, no time limit: all steps ran
    assert run_script(network_script(cfg), tmp_path) == printed(losses)


def test_a_script_that_draws_in_another_order_is_caught(tmp_path):
    """The check above can fail: the weights drawn before x and y give other losses."""
    cfg = NetworkConfig(widths=(12,), n=8, d_in=20, d_out=3, steps=100)
    script = network_script(cfg)
    data = "x = torch.randn(N, D_IN)\ny = torch.randn(N, D_OUT)\n"
    model_start = script.index("model = ")
    model_end = script.index(")\n", script.index("torch.nn.Linear(H1, D_OUT)")) + 2
    reordered = script[:model_end].replace(data, "") + data + script[model_end:]
    assert reordered.index("x = torch.randn") > model_start
    assert run_script(reordered, tmp_path) != printed(train_network(cfg).losses)


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """file name -> what the page passed as `data`: the deferred callable, to call as a click would."""
    made = {}
    marshall = button.marshall_file

    def record(coordinates, data, proto, mimetype, file_name=None, **kwargs):
        made[file_name] = data
        return marshall(coordinates, data, proto, mimetype, file_name, **kwargs)
    monkeypatch.setattr(button, "marshall_file", record)
    return made


def chart_losses(at) -> list[float]:
    import json
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [float(v) for v in plotly_values(spec["data"][0]["y"])]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_page_offers_its_run_its_table_and_its_network(lang, downloads, tmp_path):
    texts = {"en": EN, "ko": KO}[lang]
    at = open_page({**QUERY}, lang=lang)   # the link names a step: the gradients tab opens, its CSV under the table
    assert at.query_params["net_tab"] == "gradients"
    assert [b.proto.label for b in at.get("download_button")] == [
        texts["downloads.gradients"], texts["downloads.losses"], texts["own_downloads.script"]]
    assert texts["own_downloads.caption"].split("{")[0] in " ".join(c.value for c in at.caption)
    assert set(downloads) == {"own_network_losses.csv", "own_network_gradients_step5.csv", "own_network.py"}
    assert all(callable(data) for data in downloads.values())            # made on the click, not on every rerun

    losses = pd.read_csv(io.StringIO(downloads["own_network_losses.csv"]()), index_col="step")
    assert list(losses.columns) == [texts["history.this_run"]] and list(losses.index) == list(range(CFG.steps))
    column = losses[texts["history.this_run"]].tolist()

    table = pd.read_csv(io.StringIO(downloads["own_network_gradients_step5.csv"]()))
    pd.testing.assert_frame_equal(table, network_gradients(CFG, step=5).table, check_exact=True)
    shown = at.dataframe[0].value
    assert table["parameter"].tolist() == CFG.names and len(shown) == len(table)
    assert shown[texts["column.manual_norm"]].tolist() == [f"{v:.3e}" for v in table["manual_norm"]]
    open_stage_tab(at, "loss", lang, key="own_tab")
    assert column == chart_losses(at) == train_network(CFG).losses       # the curve on the page, and the run's own

    script = downloads["own_network.py"]()
    assert script == network_script(CFG, lang)
    if lang == "ko":
        comments = [line for line in script.splitlines() if line.lstrip().startswith("#")]
        assert comments and all(HANGUL.search(line) for line in comments)
    else:
        assert run_script(script, tmp_path) == printed(column)           # python own_network.py: the page's losses


def test_a_run_with_no_step_offers_its_losses_and_script_but_no_table(downloads, monkeypatch):
    """The time limit passed before step 0 (the weights of four 1024-wide layers take longer to draw): no gradient
    to compare, so no table to download; the (empty) losses and the script are still there."""
    import ui.runs
    from lib.serve import limits
    from tests.conftest import TEST_SPEED
    # a server that claims to be very fast offers the steps; the time limit still stops the run before its first
    fast = limits.Speed(macs_per_s={"float32": 1e15, "float64": 1e15},
                        step_overhead_s={stage: 1e-9 for stage in TEST_SPEED.step_overhead_s}, init_s_per_param=0.0)
    monkeypatch.setattr(ui.runs, "server_speed", lambda: fast)
    monkeypatch.setenv("RUN_TIME_LIMIT_S", "0.01")
    at = open_page({"net_layers": "4", **{f"net_w{k}": "1024" for k in range(1, 5)}, "net_d_in": "2048",
                    "net_n": "64", "net_steps": "10"})
    open_stage_tab(at, "gradients", key="own_tab")
    assert EN["grad.no_gradient_time"] in [i.value for i in at.info]   # the time limit, not the loss, stopped it
    assert [b.proto.label for b in at.get("download_button")] == [EN["downloads.losses"], EN["own_downloads.script"]]
    assert EN["own_downloads.caption"].split("{")[0] in " ".join(c.value for c in at.caption)
    assert downloads["own_network_losses.csv"]().splitlines() == ["step," + EN["history.this_run"]]
