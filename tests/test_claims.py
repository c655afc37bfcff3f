"""Every promise a text makes about what the class will see, checked on the page its link opens.

The promises are data (lib/classroom/claims.py, lib/classroom/presets.py); here each page is opened exactly as its link opens it
(AppTest with the link's query parameters), what it shows is read back, and every check must hold.
"""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.classroom.claims import TIP_CLAIMS, Check, Claim, curve_gap, holds
from lib.text.i18n import EN, KO
from lib.classroom.presets import PRESETS
from lib.tutorial.stages import STAGE_NAMES
from tests.page_support import open_stage_tab, plotly_values

APP = str(Path(__file__).resolve().parents[1] / "app.py")
CLAIMS = [preset.claim(i) for i, preset in enumerate(PRESETS)] + list(TIP_CLAIMS)


def _number(text: str) -> float:
    return float("nan") if text in ("—", "") else float(text)


def _chart(at: AppTest, key: str) -> dict | None:
    chart = next((c for c in at.get("plotly_chart") if c.proto.id.endswith(key)), None)
    return None if chart is None else json.loads(chart.proto.spec)


def observe(at: AppTest, page: str) -> dict:
    """What the page shows, as the quantities lib/classroom/claims.py names."""
    seen = {}
    if page == "compare":
        lines = [tr for tr in _chart(at, "compare_chart")["data"] if tr.get("name")]
        curves = dict(zip(STAGE_NAMES, (plotly_values(tr["y"]) for tr in lines)))
        gaps = {name: curve_gap(curves["tensors"], curves[name]) for name in STAGE_NAMES}
        seen["first_gap_step"] = {name: gap[0] for name, gap in gaps.items()}
        seen["max_rel_gap"] = {name: gap[1] for name, gap in gaps.items()}
        return seen
    stage_page = page in STAGE_NAMES
    if stage_page:   # the loss, then the gradients: each in its tab (ui/stage_page.py draws only the open one)
        seen.update(observe_loss(open_stage_tab(at, "loss")))
        open_stage_tab(at, "gradients")
    table = at.dataframe[0].value
    rows = list(table[EN["column.parameter"]])
    seen["within_tol"] = dict(zip(rows, (mark == "✓" for mark in table[EN["column.match"]])))
    for quantity, column in (("rel_error", EN["column.rel_error"]), ("autograd_norm", EN["column.autograd_norm"]),
                             ("fd_rel_error", EN["column.fd_rel_error_step0"])):
        if column in table:
            seen[quantity] = dict(zip(rows, map(_number, table[column])))
    if page == "optimizers":
        return seen
    seen["uses"] = sum(row.startswith("middle_linear.weight (use") for row in rows)
    depth = _chart(at, "depth_chart")
    seen["depth_3_steps"] = depth["data"][0]["y"][3] if depth else None
    return seen


def observe_loss(at: AppTest) -> dict:
    """What a stage page's loss tab shows: whether and where the run diverged, the final loss."""
    loss_chart = _chart(at, "loss_chart")
    stop = [tr for tr in loss_chart["data"] if tr.get("meta") == "stop"]
    stopped_top = [a for a in loss_chart["layout"].get("annotations", [])]
    metrics = {m.label: m.value for m in at.metric}
    return {"diverged": bool(stop or stopped_top), "diverged_at": stop[0]["x"][0] if stop else None,
            "final_loss": _number(metrics.get(EN["metric.final_loss"], "—"))}


def open_claim(claim: Claim) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(claim.settings)
    at.switch_page(f"pages/{claim.page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    refused = [w.value for w in at.warning if "diverged" not in w.value]
    assert not refused, refused             # the link's settings are taken as they are
    return at


def set_widget(at: AppTest, key: str, value) -> None:
    for kind in ("slider", "select_slider", "selectbox", "radio", "toggle", "number_input"):
        widgets = [w for w in getattr(at, kind) if w.key == key]
        if widgets:
            widgets[0].set_value(value)
            return
    raise KeyError(key)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.text}:{c.page}:{c.settings}")
@pytest.mark.slow
def test_every_claim_holds_on_the_page_its_link_opens(claim):
    at = open_claim(claim)
    seen = observe(at, claim.page)
    failed = [check for check in claim.checks if not holds(check, seen)]
    assert not failed, (failed, seen)
    for step in claim.then:
        before = seen
        for key, value in step.widgets.items():
            set_widget(at, key, value)
        at.run()
        assert not at.exception
        seen = observe(at, claim.page)
        failed = [check for check in step.checks if not holds(check, seen, before)]
        assert not failed, (step.widgets, failed, seen)


def test_every_text_that_promises_has_a_claim_and_names_its_page():
    texts = {claim.text for claim in CLAIMS}
    assert {f"preset.{i}.notice" for i in range(len(PRESETS))} <= texts
    assert {"settings.dtype_help", "home.class_tips", "compare.lesson"} <= texts
    assert all(claim.checks for claim in CLAIMS)
    assert PRESETS[2].page == "nn_module"   # the dtype lesson lives where it is true
    for key in texts:
        assert key in EN and key in KO


def test_the_checks_can_fail():
    """A broken variant must fail the same check: the dtype promise on stage 2 (exactly 0) is not ~1e-7."""
    seen = {"rel_error": {"w1": 0.0, "w2": 0.0}}
    assert not holds(Check("rel_error", ">", 1e-9), seen)
    assert holds(Check("rel_error", "==", 0.0), seen)
    assert not holds(Check("diverged_at", "<", 10), {"diverged_at": None})
    assert holds(Check("final_loss", "<", 1.0, versus_before=True), {"final_loss": 1.0}, {"final_loss": 2.0})
    assert not holds(Check("final_loss", "<", 1.0, versus_before=True), {"final_loss": 3.0}, {"final_loss": 2.0})


@pytest.mark.slow
def test_the_compare_lesson_states_the_numbers_its_chart_shows():
    at = open_claim(Claim("compare.lesson", "compare", {}, ()))
    seen = observe(at, "compare")
    lesson = next(i.value for i in at.info if "take the same steps" in i.value)
    assert "stage 3 has the same loss as stage 1 at every step" in lesson
    first = seen["first_gap_step"]["autograd"]
    assert f"up to step {first - 1}; from step {first} on" in lesson
    assert f"at most {seen['max_rel_gap']['autograd']:.1e}" in lesson
    assert "exactly overlap" not in lesson and "정확히 겹칩니다" not in KO["compare.lesson"]


def test_the_compare_gap_starts_at_a_relu_tie():
    """compare.drift_cause: stage 2's loss leaves stage 1's where a hidden pre-activation is exactly 0 (ReLU's
    derivative there is a convention: clamp passes no gradient, the hand-written backward passes it). With the
    weights stage 1 has reached just before the first step whose loss differs, some pre-activation is exactly 0, and
    at every step before that none is (sampled: the steps before it, every tenth). In float64 no gap at all."""
    import torch
    from lib.tutorial.config import default_config
    from lib.tutorial.gradients import relu_ties
    from lib.tutorial.stages import run_stage
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # as the workers train
    try:
        cfg = default_config("tensors").with_(steps=300)
        first, _ = curve_gap(run_stage("tensors", cfg).losses, run_stage("autograd", cfg).losses)
        assert first is not None and first > 0
        reached = {k: run_stage("tensors", cfg, stop_at=k) for k in {first - 1, *range(0, first - 1, 10)}}
        ties = {k: relu_ties("autograd", run.params, run.x) for k, run in sorted(reached.items())}
        assert ties[first - 1] > 0 and all(count == 0 for k, count in ties.items() if k < first - 1), ties
        wide = cfg.with_(dtype="float64")
        assert curve_gap(run_stage("tensors", wide).losses, run_stage("autograd", wide).losses)[0] is None
    finally:
        torch.set_num_threads(threads)
