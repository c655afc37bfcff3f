"""A stage page on one screen (issue 22): the lesson's controls in the main area are the sidebar's settings, locks
hold both, projector mode replays the run on the loss chart in large type, and the loss chart's own controls rerun
only their fragment, which sends no training job. (Where things sit on screen: the browser tests.)"""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui.stage_page
from lib.text.i18n import EN, KO
from lib.tutorial.config import TrainConfig
from lib.tutorial.stages import STAGES
from ui.sidebar import lesson_controls
from tests.page_support import plotly_values, rerun_fragment

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


SETTINGS_KINDS = ("slider", "select_slider", "selectbox", "toggle", "number_input", "radio")


def keys_in(part) -> set[str]:
    return {w.key for kind in SETTINGS_KINDS for w in part.get(kind)}


@pytest.mark.parametrize("stage", list(STAGES))
def test_the_lessons_controls_are_in_the_main_area_only_and_hold_the_links_values(stage):
    at = open_link(f"pages/{stage}.py", lr="5e-07", n="32", steps="40")
    names = lesson_controls(stage)
    assert ("optimizer" in names and "momentum" in names) is STAGES[stage].uses_optimizer
    in_main, in_sidebar = keys_in(at.main), keys_in(at.sidebar)
    assert set(names) <= in_main and not set(names) & in_sidebar, "one control per setting, in the main row"
    assert {"d_in", "d_out", "seed", "dtype"} <= in_sidebar                  # the rest of the settings
    assert ("broken_relu" in in_main) is (stage == "custom_function")   # MyReLU's break switch, stage 3 only
    assert at.select_slider(key="lr").value == 5e-7
    assert at.slider(key="n").value == 32 and at.slider(key="steps").value == 40
    assert any(EN["layout.n"] in c.value and EN["layout.steps"] in c.value for c in at.sidebar.caption), \
        "the sidebar says where the lesson's controls are"


def test_a_main_control_moves_the_url_and_the_curve_and_a_sidebar_setting_moves_the_row():
    at = open_link("pages/tensors.py", steps="50")
    before = plotly_values(loss_chart(at)["data"][0]["y"])
    at.select_slider(key="lr").set_value(5e-7).run()
    assert at.query_params["lr"] in ("5e-07", ["5e-07"])
    assert plotly_values(loss_chart(at)["data"][0]["y"]) != before
    assert any("lr=5e-07" in c.value for c in at.caption)
    at.slider(key="d_in").set_value(20).run()            # a sidebar setting: the run and the URL follow
    assert at.query_params["d_in"] in ("20", ["20"]) and any("D_IN=20" in c.value for c in at.caption)
    at.slider(key="hidden").set_value(30).run()
    assert at.slider(key="hidden").value == 30
    at.button(key="reset").click().run()                # the sidebar's reset resets the row too
    assert at.select_slider(key="lr").value == 1e-6 and at.slider(key="hidden").value == 100
    assert at.slider(key="d_in").value == 1000


def test_the_optimizer_row_follows_the_sidebars_rules():
    at = open_link("pages/optim.py", momentum="0")
    assert at.selectbox(key="optimizer").value == "adam" and at.slider(key="momentum").disabled
    at.selectbox(key="optimizer").set_value("sgd_momentum").run()
    # SGD with momentum at momentum 0 takes the tutorial's momentum, as a choice on any page does
    assert at.slider(key="momentum").value == 0.9 and not at.slider(key="momentum").disabled


def test_a_teachers_lock_holds_the_main_controls_too():
    at = open_link("pages/dynamic_net.py", lock="lr,n,optimizer", lr="2e-06", n="32")
    assert at.select_slider(key="lr").disabled and at.slider(key="n").disabled
    assert at.selectbox(key="optimizer").disabled
    assert not at.slider(key="hidden").disabled and not at.slider(key="steps").disabled
    assert (at.select_slider(key="lr").value, at.slider(key="n").value) == (2e-6, 32)
    at.session_state["lr"] = 1e-3                       # a forged value does not get past the lock
    at.run()
    assert at.select_slider(key="lr").value == 2e-6


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
    assert set(lesson_controls("autograd")) <= keys_in(at.main)
    plain = open_link("pages/autograd.py", steps="60", lang=lang)
    chart_plain = loss_chart(plain)
    assert "frames" not in chart_plain and plotly_values(chart_plain["data"][0]["y"]) == plotly_values(
        chart["data"][0]["y"])
    assert chart_plain["layout"]["height"] > chart["layout"]["height"] - 100   # no smaller a chart on a laptop


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
    rerun_fragment(at, "stage_loss")
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
    """ui.sidebar.held: each slider of the settings, the sidebar's and the lesson row's, is given the session's value
    as its `value=` (st.slider drawn without one copies the whole session state on every rerun to learn whether it
    is a range slider). The value it sends as its default is then the one it shows, also after a move."""
    at = open_link("pages/dynamic_net.py", n="32", momentum="0.5")
    at.slider(key="hidden").set_value(70).run()
    at.slider(key="steps").set_value(30).run()
    assert not at.exception, [e.value for e in at.exception]
    sliders = ["n", "d_in", "hidden", "d_out", "steps", "momentum"]
    shown = {key: at.slider(key=key).value for key in sliders}
    assert shown["n"] == 32 and shown["hidden"] == 70 and shown["steps"] == 30 and shown["momentum"] == 0.5
    assert {key: list(at.slider(key=key).proto.default) for key in sliders} == {
        key: [pytest.approx(value)] for key, value in shown.items()}


def test_a_move_in_the_lessons_row_reruns_the_row_and_the_run_not_the_sidebar(monkeypatch):
    """The lesson's row, the run and its chart are one fragment (ui.stage_page.lesson): a move there trains and
    redraws the curve, the URL and the caption, and runs no sidebar (nor app.py's navigation and class box)."""
    sidebars = []
    original = ui.stage_page.settings_sidebar
    monkeypatch.setattr(ui.stage_page, "settings_sidebar", lambda *a, **kw: (sidebars.append(a), original(*a, **kw))[1])
    at = open_link("pages/tensors.py", steps="30")
    assert len(sidebars) >= 1
    sidebars.clear()
    before = loss_chart(at)
    at.slider(key="n").set_value(20)
    rerun_fragment(at, ui.stage_page.LESSON)
    assert sidebars == [], "the fragment's rerun drew the sidebar"
    assert plotly_values(loss_chart(at)["data"][0]["y"]) != plotly_values(before["data"][0]["y"])
    assert any("N=20," in c.value for c in at.caption) and at.query_params["n"] in ("20", ["20"])
    # then a sidebar move: a full run, with the row's N kept (AppTest's tree after a fragment's rerun holds the
    # fragment's elements only, the browser's keeps the sidebar: the move goes through the session, as the widget's)
    at.session_state["d_in"] = 30
    at.run()
    assert len(sidebars) == 1 and at.slider(key="n").value == 20
    assert any("N=20, D_IN=30," in c.value for c in at.caption)


@pytest.mark.parametrize("key", ["stage.optim.whats_new", "preset.4.notice"])
def test_a_text_that_sends_students_to_the_optimizer_names_where_it_is(key):
    """The optim page's texts say where to choose the optimizer: in the row over the loss chart, where it is (the
    sidebar no longer has one on stage pages), in both languages."""
    at = open_link("pages/optim.py")
    assert "optimizer" in keys_in(at.main) and "optimizer" not in keys_in(at.sidebar)
    assert "row over the loss chart" in EN[key] and "sidebar" not in EN[key]
    assert "손실 그래프 위 한 줄" in KO[key] and "사이드바" not in KO[key]


def test_a_move_in_the_row_that_fixes_or_breaks_the_settings_redraws_the_sidebars_verdict(monkeypatch):
    """The sidebar says when the settings can't run; a rerun of the lesson's fragment does not redraw it, so a move
    there that fixes (or breaks) the settings runs the page in full (ui.sidebar.sidebar_is_stale): the sidebar's
    "can't run" never outlives the problem, and a new one is said there too. A move that changes neither is still
    the fragment's alone. (The row's sliders offer only values that run: here N=21 is refused for the test.)"""
    sidebars = []
    original = ui.stage_page.settings_sidebar
    monkeypatch.setattr(ui.stage_page, "settings_sidebar", lambda *a, **kw: (sidebars.append(a), original(*a, **kw))[1])
    with_ = TrainConfig.with_

    def refusing_21(self, **changes):
        if changes.get("n") == 21:
            raise ValueError("N=21 is refused here")
        return with_(self, **changes)
    monkeypatch.setattr(TrainConfig, "with_", refusing_21)
    cant_run = EN["settings.cant_run"].format(err="N=21 is refused here")

    def sidebar_says_cant_run() -> bool:
        return any(e.value == cant_run for e in at.sidebar.error)

    def move_n(n: int) -> None:
        sidebars.clear()
        at.slider(key="n").set_value(n)
        rerun_fragment(at, ui.stage_page.LESSON)
    at = open_link("pages/tensors.py", steps="30", n="21")
    assert sidebar_says_cant_run() and not at.get("plotly_chart")
    move_n(22)                             # fixed in the row: the page runs in full, the sidebar's verdict goes
    assert len(sidebars) == 1 and not sidebar_says_cant_run() and at.get("plotly_chart")
    move_n(23)                             # fine before and after: the fragment alone
    assert sidebars == [] and at.get("plotly_chart")
    move_n(21)                             # broken in the row: the sidebar says so too
    assert len(sidebars) == 1 and sidebar_says_cant_run()
