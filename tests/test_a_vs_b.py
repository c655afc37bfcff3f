"""A against B through AppTest: both runs on one chart (each the stage's own run), both gradient tables in one, the
difference named, and every choice kept in the link."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.tutorial.config import default_config
from lib.text.i18n import EN
from lib.tutorial.stages import run_stage
from lib.explore.versus import pair_from_query
from tests.page_support import plotly_values

pytestmark = pytest.mark.slow   # every test here runs a page in AppTest
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_versus(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update(query)
    at.switch_page("pages/a_vs_b.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def curves(at: AppTest) -> dict[str, list[float]]:
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("versus_chart")).proto.spec)
    return {tr["name"]: plotly_values(tr["y"]) for tr in spec["data"] if tr.get("name")}


def gradient_rows(at: AppTest) -> dict[str, tuple[str, float]]:
    table = at.dataframe[1].value
    return {row: (mark, float(err)) for row, mark, err in
            zip(table[EN["column.parameter"]], table[EN["column.match"]], table[EN["column.rel_error"]])}


def test_lr_a_against_b_shows_both_runs_and_names_the_difference():
    at = open_versus({"stage": "tensors", "vary": "lr", "b": "5e-06"})
    lines = curves(at)
    assert list(lines) == ["A (lr=1e-06)", "B (lr=5e-06)"]
    a = run_stage("tensors", default_config("tensors"))
    b = run_stage("tensors", default_config("tensors").with_(lr=5e-6))
    assert lines["A (lr=1e-06)"] == pytest.approx(a.losses, rel=0, abs=0)     # each the stage's own run
    assert lines["B (lr=5e-06)"] == pytest.approx(b.losses, rel=0, abs=0)
    assert b.diverged_at is not None and any(f"step {b.diverged_at}" in w.value for w in at.warning)
    assert any("**A** has lr=1e-06, **B** has lr=5e-06" in m.value for m in at.markdown)
    summary = at.dataframe[0].value
    assert list(summary[EN["versus.column.diverged"]]) == ["—", f"at step {b.diverged_at}"]
    assert set(gradient_rows(at)) == {"A · w1", "A · w2", "B · w1", "B · w2"}
    assert at.query_params["stage"] == "tensors" and at.query_params["vary"] == "lr"
    assert float(at.query_params["b"]) == 5e-6


def test_float32_against_float64_in_one_gradient_table():
    at = open_versus({"stage": "nn_module", "vary": "dtype", "b": "float64"})
    rows = gradient_rows(at)
    a_errors = [err for row, (_, err) in rows.items() if row.startswith("A ·")]
    b_errors = [err for row, (_, err) in rows.items() if row.startswith("B ·")]
    assert len(a_errors) == len(b_errors) == 4
    assert all(1e-9 < e < 1e-5 for e in a_errors) and all(e < 1e-14 for e in b_errors)
    assert list(curves(at)) == ["A (dtype=float32)", "B (dtype=float64)"]


def test_sgd_against_adam_and_the_choice_in_the_link():
    at = open_versus({"stage": "optim", "optimizer": "sgd", "vary": "optimizer", "b": "adam"})
    lines = curves(at)
    assert lines["B (optimizer=adam)"][-1] < lines["A (optimizer=sgd)"][-1]
    finals = [float(v) for v in at.dataframe[0].value[EN["versus.column.final_loss"]]]
    assert finals == pytest.approx([lines["A (optimizer=sgd)"][-1], lines["B (optimizer=adam)"][-1]], rel=1e-3)
    at.selectbox(key="vs_b_optimizer").set_value("rmsprop").run()
    assert at.query_params["b"] == "rmsprop"
    at.selectbox(key="vs_vary").set_value("dtype").run()
    assert not at.exception
    assert at.query_params["vary"] == "dtype" and at.query_params["b"] == "float64"
    assert list(curves(at)) == ["A (dtype=float32)", "B (dtype=float64)"]
    # the written link opens the same view in a fresh session
    again = open_versus(dict(at.query_params))
    assert list(curves(again)) == list(curves(at))
    assert again.selectbox(key="vs_stage").value == "optim"


def test_the_gradient_step_moves_both_tables():
    at = open_versus({"stage": "tensors", "vary": "lr", "b": "2e-06"})
    at0 = gradient_rows(at)
    assert at0["A · w1"] == at0["B · w1"]       # step 0: both start from the same weights
    at.slider(key="vs_step").set_value(50).run()
    assert at.query_params["step"] == "50"
    assert any("training step 50" in c.value for c in at.caption)
    assert not at.exception


def test_a_setting_the_stage_does_not_use_is_said_and_bad_link_values_are_refused():
    at = open_versus({"stage": "tensors", "vary": "optimizer", "b": "adam"})
    assert any("does not use the optimizer" in w.value for w in at.warning)
    a, b = curves(at).values()
    assert a == b
    at = open_versus({"stage": "nowhere", "vary": "colour", "b": "x"})
    assert len([w for w in at.warning if "cannot be used" in w.value]) >= 2
    at = open_versus({"stage": "tensors", "vary": "lr", "b": "0.1"})      # B blows up at once: step 0 only
    assert at.dataframe[0].value[EN["versus.column.diverged"]].iloc[1] != "—"
    assert any("training step 0" in c.value for c in at.caption)
    assert not [s for s in at.slider if s.key == "vs_step"]
    pair, problems = pair_from_query({"stage": "nowhere", "vary": "colour"})
    assert pair.stage == "tensors" and pair.vary == "lr" and len(problems) == 2


def test_in_korean():
    from tests.test_korean import assert_korean
    at = open_versus({"stage": "tensors", "vary": "lr", "b": "5e-06", "lang": "ko"})
    assert_korean(at)
