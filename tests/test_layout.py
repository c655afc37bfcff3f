"""A stage page on one screen (issue 22): the lesson's controls in the main area are the sidebar's settings, locks
hold both, projector mode replays the run on the loss chart in large type, and the loss chart's own controls rerun
only their fragment, which sends no training job. (Where things sit on screen: the browser tests.)"""
import functools
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import local_script_runner

import ui.stage_page
from lib.text.i18n import EN, KO
from lib.tutorial.stages import STAGES
from ui.sidebar import MAIN_KEY, lesson_controls
from tests.page_support import plotly_values

pytestmark = pytest.mark.slow   # every test here runs a page in AppTest
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_link(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def loss_chart(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def main(name: str) -> str:
    return MAIN_KEY.format(name)


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_lessons_controls_are_in_the_main_area_with_the_sidebars_values(stage):
    at = open_link(f"pages/{stage}.py", lr="5e-07", n="32", steps="40")
    names = lesson_controls(stage)
    assert ("optimizer" in names and "momentum" in names) is STAGES[stage].uses_optimizer
    in_main = {w.key for kind in ("slider", "select_slider", "selectbox", "toggle") for w in at.main.get(kind)}
    assert {main(name) for name in names} <= in_main
    assert ("broken_relu" in in_main) is (stage == "custom_function")   # MyReLU's break switch, stage 3 only
    assert at.select_slider(key=main("lr")).value == at.select_slider(key="lr").value == 5e-7
    assert at.slider(key=main("n")).value == 32 and at.slider(key=main("steps")).value == 40
    assert at.slider(key=main("steps")).max == at.slider(key="steps").max


def test_a_main_control_moves_the_sidebar_the_url_and_the_curve_and_back():
    at = open_link("pages/tensors.py", steps="50")
    before = plotly_values(loss_chart(at)["data"][0]["y"])
    at.select_slider(key=main("lr")).set_value(5e-7).run()
    assert at.select_slider(key="lr").value == 5e-7 and at.query_params["lr"] in ("5e-07", ["5e-07"])
    assert plotly_values(loss_chart(at)["data"][0]["y"]) != before
    assert any("lr=5e-07" in c.value for c in at.caption)
    at.slider(key="n").set_value(20).run()             # the sidebar's move shows in the main row
    assert at.slider(key=main("n")).value == 20 and at.query_params["n"] in ("20", ["20"])
    at.slider(key=main("hidden")).set_value(30).run()
    assert at.slider(key="hidden").value == 30
    at.button(key="reset").click().run()                # the sidebar's reset resets both
    assert at.select_slider(key=main("lr")).value == 1e-6 and at.slider(key=main("hidden")).value == 100


def test_the_optimizer_row_follows_the_sidebars_rules():
    at = open_link("pages/optim.py", momentum="0")
    assert at.selectbox(key=main("optimizer")).value == "adam" and at.slider(key=main("momentum")).disabled
    at.selectbox(key=main("optimizer")).set_value("sgd_momentum").run()
    assert at.selectbox(key="optimizer").value == "sgd_momentum"
    # SGD with momentum at momentum 0 takes the tutorial's momentum, as a choice in the sidebar does
    assert at.slider(key="momentum").value == at.slider(key=main("momentum")).value == 0.9
    assert not at.slider(key=main("momentum")).disabled


def test_a_teachers_lock_holds_the_main_controls_too():
    at = open_link("pages/dynamic_net.py", lock="lr,n,optimizer", lr="2e-06", n="32")
    assert at.select_slider(key=main("lr")).disabled and at.slider(key=main("n")).disabled
    assert at.selectbox(key=main("optimizer")).disabled
    assert not at.slider(key=main("hidden")).disabled and not at.slider(key=main("steps")).disabled
    assert (at.select_slider(key=main("lr")).value, at.slider(key=main("n")).value) == (2e-6, 32)
    at.session_state[main("lr")] = 1e-3                 # a forged value does not get past the lock
    at.run()
    assert at.select_slider(key="lr").value == at.select_slider(key=main("lr")).value == 2e-6


@pytest.mark.parametrize("lang, texts", [("en", EN), ("ko", KO)])
def test_projector_mode_replays_on_the_loss_chart_in_large_type(lang, texts):
    at = open_link("pages/autograd.py", projector="1", steps="60", lang=lang)
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 1, "the replay plays on the loss chart, not on a second one"
    chart = charts[0]
    assert chart["layout"]["updatemenus"][0]["buttons"][0]["label"] == texts["plot.replay_play"]
    assert plotly_values(chart["frames"][-1]["data"][0]["y"]) == plotly_values(chart["data"][0]["y"])
    layout = chart["layout"]
    sizes = [layout["title"]["font"]["size"]] + [layout[axis][part]["size"] for axis in ("xaxis", "yaxis")
                                                  for part in ("tickfont",)] + \
            [layout[axis]["title"]["font"]["size"] for axis in ("xaxis", "yaxis")]
    assert min(sizes) >= 18, sizes
    assert {main(name) for name in lesson_controls("autograd")} <= {w.key for w in at.main.get("slider")} | {
        w.key for w in at.main.get("select_slider")}
    plain = open_link("pages/autograd.py", steps="60", lang=lang)
    chart_plain = loss_chart(plain)
    assert "frames" not in chart_plain and plotly_values(chart_plain["data"][0]["y"]) == plotly_values(
        chart["data"][0]["y"])
    assert chart_plain["layout"]["height"] > chart["layout"]["height"] - 100   # no smaller a chart on a laptop


def fragment_rerun(at: AppTest, key: str, monkeypatch) -> AppTest:
    """Rerun only the fragment `key`, as the browser asks when a widget inside it changes (AppTest itself always
    reruns the whole script)."""
    ids = at._fragment_storage.resolve_target(key)
    monkeypatch.setattr(local_script_runner, "RerunData",
                        functools.partial(local_script_runner.RerunData, fragment_id_queue=list(ids)))
    at.run()
    monkeypatch.undo()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("change", ["log axis", "overlay"])
def test_the_loss_charts_own_controls_train_nothing_and_still_change_the_chart(change, monkeypatch):
    trained = []
    original = ui.stage_page.train_with_progress
    monkeypatch.setattr(ui.stage_page, "train_with_progress", lambda *a, **kw: (trained.append(a), original(*a, **kw))[1])
    at = open_link("pages/tensors.py", steps="30")
    at.slider(key="steps").set_value(31).run()          # an earlier run to overlay
    assert len(trained) >= 2, "the counter sees the page's training"
    trained.clear()
    before = loss_chart(at)
    if change == "log axis":
        at.toggle(key="log_y").set_value(False)
    else:
        at.multiselect(key="tensors_overlay").set_value([0])
    with monkeypatch.context() as patch:
        fragment_rerun(at, "stage_loss", patch)
    after = loss_chart(at)
    assert trained == [], "a fragment's rerun asked for a training run"
    if change == "log axis":
        assert before["layout"]["yaxis"]["type"] == "log" and after["layout"]["yaxis"]["type"] == "linear"
    else:
        assert [d.get("name") for d in after["data"]] == ["this run", "steps=30"] != [
            d.get("name") for d in before["data"]]
    # the broken variant: the same change as a whole-page rerun goes through the page's training call
    at.toggle(key="log_y").set_value(True)
    at.run()
    assert len(trained) == 1


def test_every_settings_slider_is_drawn_with_the_value_it_holds():
    """ui.sidebar.held: each slider of the settings, the sidebar's and the main row's, is given the session's value
    as its `value=` (st.slider drawn without one copies the whole session state on every rerun to learn whether it
    is a range slider). The value it sends as its default is then the one it shows, also after a move."""
    at = open_link("pages/dynamic_net.py", n="32", momentum="0.5")
    at.slider(key="hidden").set_value(70).run()
    at.slider(key=main("steps")).set_value(30).run()
    assert not at.exception, [e.value for e in at.exception]
    sliders = ["n", "d_in", "hidden", "d_out", "steps", "momentum"] + [main(name) for name in
                                                                         ("n", "hidden", "steps", "momentum")]
    shown = {key: at.slider(key=key).value for key in sliders}
    assert shown["n"] == 32 and shown["hidden"] == shown[main("hidden")] == 70 and shown["steps"] == 30
    assert shown["momentum"] == shown[main("momentum")] == 0.5
    assert {key: list(at.slider(key=key).proto.default) for key in sliders} == {
        key: [pytest.approx(value)] for key, value in shown.items()}
