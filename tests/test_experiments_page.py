"""The Experiments page through AppTest, opened on its own: every tab renders, the sweep marks diverged runs."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.tutorial.stages import STAGE_NAMES

pytestmark = pytest.mark.slow   # every test here runs a page in AppTest
PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "experiments.py")


def open_page(steps: int | None = 50) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    if steps is not None:
        at.slider(key="steps").set_value(steps).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def open_tab(at: AppTest, label: str) -> AppTest:
    at.session_state["exp_tab"] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_sweep_tab_marks_diverged_runs():
    at = open_page()
    assert at.selectbox(key="exp_stage").value == "tensors"
    assert [t.label for t in at.tabs] == ["Learning-rate sweep", "Memorising noise", "Fitting sin(x)", "CPU vs GPU"]
    sweep = figures(at)[0]
    crosses = next(trace for trace in sweep["data"] if trace.get("name") == "diverged")
    assert len(crosses["x"]) > 0 and min(crosses["x"]) > 1e-6
    assert all(text.startswith("lr ") and "diverged at step" in text for text in crosses["hovertext"])
    assert any("50 steps" in c.value for c in at.caption)
    assert metric(at, "best lr") != "—"
    table = at.dataframe[0].value
    assert len(table) == 8 and (table["diverged"] != "—").sum() == len(crosses["x"])


def test_memorising_noise_tab():
    at = open_tab(open_page(), "Memorising noise")
    assert len(figures(at)) == 1
    names = [trace["name"] for trace in figures(at)[0]["data"]]
    assert names == ["training data (x, y)", "held-out data (x_test, y_test)", "predicting 0 everywhere: Σ y_test²"]
    assert float(metric(at, "held-out loss")) > float(metric(at, "predicting 0 everywhere"))
    assert float(metric(at, "training loss")) < float(metric(at, "held-out loss"))


def test_sine_tab_reproduces_the_tutorial_fit():
    at = open_tab(open_page(steps=None), "Fitting sin(x)")
    assert len(figures(at)) == 2
    assert float(metric(at, "final loss")) < 20
    assert float(metric(at, "b")) == pytest.approx(0.85, abs=0.03)
    at.select_slider(key="sine_lr").set_value(1e-4).run()
    assert not at.exception
    assert any("diverged" in w.value for w in at.warning)
    assert len(figures(at)) == 2


@pytest.mark.parametrize("stage", [s for s in STAGE_NAMES if s != "tensors"])
def test_every_stage_sweeps_and_memorises(stage):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["exp_tab"] = "Fitting sin(x)"   # tabs run lazily: nothing trains while the settings change
    at.run()
    at.selectbox(key="exp_stage").set_value(stage).run()
    at.slider(key="steps").set_value(20).run()
    open_tab(at, "Learning-rate sweep")
    assert len(figures(at)) == 2   # the sweep and, in the expander, every run's curve
    open_tab(at, "Memorising noise")
    assert len(figures(at)) == 1


def test_extreme_settings_give_messages_not_tracebacks():
    at = open_page(steps=1)
    at.select_slider(key="sweep_low").set_value(1e-1).run()
    at.select_slider(key="sweep_high").set_value(1e-1).run()   # one run, and it cannot diverge in one step
    assert not at.exception
    at.slider(key="steps").set_value(20).run()                  # now every run diverges
    assert not at.exception and any("Every run diverged" in w.value for w in at.warning), [w.value for w in at.warning]
    at.select_slider(key="sweep_high").set_value(1e-8).run()    # lowest above highest
    assert not at.exception and any("lowest lr is above" in w.value for w in at.warning)
    at.select_slider(key="sweep_low").set_value(1e-8).run()
    at.slider(key="sweep_density").set_value(4).run()
    at.select_slider(key="sweep_high").set_value(1e-1).run()    # the densest, widest sweep: 29 runs
    assert not at.exception
    assert len(at.dataframe[0].value) == 29

    for label in ("Memorising noise", "Fitting sin(x)"):
        open_tab(at, label)
        assert figures(at)
    at.slider(key="sine_steps").set_value(1).run()
    at.select_slider(key="sine_lr").set_value(1e-1).run()
    assert not at.exception and figures(at)

    open_tab(at, "Learning-rate sweep")
    at.select_slider(key="sweep_high").set_value(1e-8).run()    # one run
    for name, value in (("steps", 1000), ("n", 1024), ("d_in", 2048), ("hidden", 1024)):   # the biggest sizes
        at.slider(key=name).set_value(value).run()
    assert not at.exception and not at.error
    assert any("Steps shortened from 1000" in i.value for i in at.info)   # to what the server finishes in time
    assert at.slider(key="steps").value < 1000 and figures(at)
    open_tab(at, "Fitting sin(x)")   # needs no sidebar settings
    assert figures(at)
