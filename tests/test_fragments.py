"""In-page controls that do not train rerun only their part (st.fragment, issue 22 item 5): a fragment's rerun sends
no training job, and one that only redraws (heatmap choice, histogram parameter, log axis, a graph already built)
sends no job at all, while what it draws changes and its choice still goes into the URL.

AppTest (Streamlit 1.67) has no public way to rerun one fragment as a browser does, so `rerun_fragment`
(tests/page_support.py, which every such test uses) reaches into it, and only there:
- `AppTest.run()` always asks for a full run: LocalScriptRunner.run builds `RerunData(widget_states, query_string,
  page_script_hash, context_info)` and nothing else (streamlit/testing/v1/local_script_runner.py:188-193). A
  browser whose widget inside a fragment changed sends that fragment's id with the new value, and AppSession puts
  it in `RerunData(fragment_id=...)` (streamlit/runtime/app_session.py:649, 678-683); the script runner then runs
  that fragment alone.
- The one public fragment-only rerun, `st.rerun(<fragment key>)`, is allowed only from a widget callback
  (streamlit/commands/execution_control.py:228-236): the app's own code, and it would turn every AppTest run that
  touches such a widget into a fragment run. Upstream: streamlit/streamlit#9242 (st.fragment and AppTest), open.
So `rerun_fragment` hands AppTest's script runner the RerunData a browser's request becomes, with the fragment's
id from AppTest's fragment storage (`at._fragment_storage`, which AppTest keeps across runs for keyed fragments).
The tree it returns holds only what that fragment drew.
"""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.serve import workers
from lib.text.i18n import EN
from tests.page_support import open_stage_tab, rerun_fragment

APP = str(Path(__file__).resolve().parents[1] / "app.py")
pytestmark = pytest.mark.slow   # every test here runs a page in AppTest


@pytest.fixture
def jobs(monkeypatch):
    """Every job the page submits (JobCache.start: a request not in its cache, started or joined) and every
    request it makes at all, cached or not (workers.request_key keys each one): (job name, args) pairs."""
    started, asked = [], []
    start, request_key = workers.JobCache.start, workers.request_key

    def counting_start(self, key, fn, args, *rest, **kwargs):
        started.append((fn.__name__, args))
        return start(self, key, fn, args, *rest, **kwargs)

    def counting_request_key(fn, args):
        asked.append((fn.__name__, args))
        return request_key(fn, args)
    monkeypatch.setattr(workers.JobCache, "start", counting_start)
    monkeypatch.setattr(workers, "request_key", counting_request_key)

    class Jobs:
        def reset(self):
            started.clear()
            asked.clear()

        def started(self, job: str | None = None) -> list:
            """The arguments of each `job` submitted (all jobs' names and arguments without `job`)."""
            return [(name, args) if job is None else args for name, args in started if job in (None, name)]

        def asked(self, job: str) -> list:
            return [args for name, args in asked if name == job]
    return Jobs()


def open_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update(query)
    if not query:
        at.run()   # the app's frame first, as a visitor who opens Home and then the page
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.key == key).proto.spec)


def title(spec: dict) -> str:
    text = spec["layout"]["title"]
    return text["text"] if isinstance(text, dict) else text


def query(at: AppTest, key: str) -> str:
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def only_the_fragment_ran(at: AppTest) -> None:
    """Nothing outside the fragment was drawn again: no title, no sidebar."""
    assert not at.title and not at.sidebar.children


def test_heatmap_step_and_graph_switch_on_a_stage_page(jobs):
    at = open_stage_tab(open_page("pages/autograd.py"), "gradients")
    assert chart(at, "grad_heatmap")["data"]

    # the heatmap choice only redraws: no job, not even a look at the training run or the comparison
    jobs.reset()
    at.selectbox(key="autograd_heatmap").set_value("w2")
    rerun_fragment(at, "grad_heatmap_part")
    only_the_fragment_ran(at)
    assert jobs.started() == [] and jobs.asked("train_stage") == [] and jobs.asked("gradients") == []
    assert "w2" in title(chart(at, "grad_heatmap"))
    assert query(at, "heatmap") == "w2"   # the link follows a choice made inside a fragment

    # a new step asks for that step's comparison, and nothing else: the training run is not asked again
    at.run()
    before = at.dataframe[0].value[EN["column.manual_norm"]].tolist()
    jobs.reset()
    at.slider(key="autograd_grad_step").set_value(7)
    rerun_fragment(at, "gradients_part")
    only_the_fragment_ran(at)
    assert [args[2] for args in jobs.started("gradients")] == [7]
    assert jobs.started("train_stage") == [] and jobs.asked("train_stage") == []
    assert at.dataframe[0].value[EN["column.manual_norm"]].tolist() != before
    assert query(at, "step") == "7"

    # the graph's saved-tensors switch: the first time it builds that graph; back to a graph already built, no job
    at.run()
    open_stage_tab(at, "graph")
    plain = at.get("graphviz_chart")[0].proto.spec
    jobs.reset()
    at.toggle(key="autograd_graph_saved").set_value(True)
    rerun_fragment(at, "graph_part")
    only_the_fragment_ran(at)
    assert [name for name, _ in jobs.started()] == ["graph"] and jobs.asked("train_stage") == []
    saved = at.get("graphviz_chart")[0].proto.spec
    assert "fillcolor=orange" in saved and "fillcolor=orange" not in plain
    jobs.reset()
    at.toggle(key="autograd_graph_saved").set_value(False)
    rerun_fragment(at, "graph_part")
    assert jobs.started() == []
    assert at.get("graphviz_chart")[0].proto.spec == plain


def test_histogram_parameter_redraws_without_a_job(jobs):
    at = open_stage_tab(open_page("pages/nn_module.py"), "histograms")
    first = chart(at, "hist_chart")
    names = at.selectbox(key="nn_module_hist_param").options
    other = next(name for name in names if name != at.selectbox(key="nn_module_hist_param").value)
    jobs.reset()
    at.selectbox(key="nn_module_hist_param").set_value(other)
    rerun_fragment(at, "histograms_part")
    only_the_fragment_ran(at)
    assert jobs.started() == [] and jobs.asked("histograms") == [] and jobs.asked("train_stage") == []
    assert other in title(chart(at, "hist_chart")) and chart(at, "hist_chart") != first
    assert query(at, "hist") == other


def test_step_modes_entry_picker_reruns_the_board_only(jobs):
    at = open_page("pages/step.py")
    at.button(key="sm_do_forward").click().run()
    before = at.code[0].value
    jobs.reset()
    at.selectbox(key="sm_entry_tensor").set_value("h")
    rerun_fragment(at, "step_board")
    only_the_fragment_ran(at)
    assert jobs.started() == []
    assert at.code[0].value.startswith("h[0,0] = ") and at.code[0].value != before


def test_a_against_b_log_axis_and_step(jobs):
    at = open_page("pages/a_vs_b.py")
    assert chart(at, "versus_chart")["layout"]["yaxis"]["type"] == "log"
    jobs.reset()
    at.toggle(key="vs_log").set_value(False)
    rerun_fragment(at, "vs_curves")
    only_the_fragment_ran(at)
    assert jobs.started() == [] and jobs.asked("train_stage") == []
    assert chart(at, "versus_chart")["layout"]["yaxis"].get("type", "linear") == "linear"
    assert query(at, "log") == "0"

    at.run()
    jobs.reset()
    at.slider(key="vs_step").set_value(3)
    rerun_fragment(at, "vs_gradients")
    assert [args[2] for args in jobs.started("gradients")] == [3, 3]   # A's and B's comparison at the new step
    assert jobs.started("train_stage") == [] and jobs.asked("train_stage") == []
    assert EN["versus.grad_caption"].format(step=3) in [c.value for c in at.caption]


def test_compare_log_axis_redraws_without_a_job(jobs):
    at = open_page("pages/compare.py")
    assert chart(at, "compare_chart")["layout"]["yaxis"]["type"] == "log"
    jobs.reset()
    at.toggle(key="log_y").set_value(False)
    rerun_fragment(at, "compare_curves")
    only_the_fragment_ran(at)
    assert jobs.started() == [] and jobs.asked("train_stage") == []
    assert chart(at, "compare_chart")["layout"]["yaxis"].get("type", "linear") == "linear"


def test_optimizers_state_and_update_choices_redraw_without_a_job(jobs):
    at = open_page("pages/optimizers.py", optimizer="adam")
    state_title, update_title = title(chart(at, "state_heatmap")), title(chart(at, "update_chart"))
    jobs.reset()
    at.selectbox(key="opt_state_name").set_value(at.selectbox(key="opt_state_name").options[-1])
    rerun_fragment(at, "opt_state")
    only_the_fragment_ran(at)
    assert jobs.started() == [] and jobs.asked("optimizer_comparison") == []
    assert title(chart(at, "state_heatmap")) != state_title
    at.run()
    jobs.reset()
    at.selectbox(key="opt_update_param").set_value(at.selectbox(key="opt_update_param").options[-1])
    rerun_fragment(at, "opt_updates")
    assert jobs.started() == [] and jobs.asked("optimizer_comparison") == []
    assert title(chart(at, "update_chart")) != update_title
    assert query(at, "update_of") == at.selectbox(key="opt_update_param").value


def test_own_network_log_axis_and_graph_switch(jobs):
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("pages/own_network.py").run()
    assert not at.exception, [e.value for e in at.exception]
    jobs.reset()
    at.toggle(key="own_log").set_value(False)
    rerun_fragment(at, "own_loss")
    only_the_fragment_ran(at)
    assert jobs.started() == [] and jobs.asked("train_network") == []
    assert chart(at, "own_loss_chart")["layout"]["yaxis"].get("type", "linear") == "linear"
    assert query(at, "net_log") == "0"

    at.run()
    open_stage_tab(at, "graph", key="own_tab")
    jobs.reset()
    at.toggle(key="own_graph_saved").set_value(True)
    rerun_fragment(at, "own_graph")
    assert [name for name, _ in jobs.started()] == ["network_graph"] and jobs.asked("train_network") == []
    assert "fillcolor=orange" in at.get("graphviz_chart")[0].proto.spec
