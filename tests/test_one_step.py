"""Sliders whose maximum follows the server's speed: with one value to offer (a slow server at the caps),
Streamlit refuses a slider whose two ends are equal, so the page says so in a caption instead, and runs that value."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.text.i18n import EN, KO
from tests.page_support import open_stage_tab

pytestmark = pytest.mark.slow   # every test here runs a page in AppTest
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str, lang: str = "en", query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]      # app.py turns an exception into "something went wrong"
    return at


def captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption] + [c.value for c in at.sidebar.caption]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_stage_page_with_one_step_to_offer_runs_one_step(monkeypatch, lang):
    import ui.sidebar
    monkeypatch.setattr(ui.sidebar, "allowed_steps", lambda *args: 1)
    at = open_page("pages/autograd.py", lang)
    texts = EN if lang == "en" else KO
    assert texts["settings.steps_only_one"] in captions(at)
    assert [s for s in at.sidebar.slider if s.key == "steps"] == []
    assert at.session_state["steps"] == 1
    open_stage_tab(at, "gradients", lang)
    assert texts["grad.step_zero"] in captions(at)          # one step ran: its gradients are those of step 0


def test_the_steps_come_back_when_the_server_offers_more(monkeypatch):
    import ui.sidebar
    monkeypatch.setattr(ui.sidebar, "allowed_steps", lambda *args: 1)
    at = open_page("pages/tensors.py")
    monkeypatch.setattr(ui.sidebar, "allowed_steps", lambda *args: 2000)
    at.run()
    assert not at.exception
    assert at.slider(key="steps").value == 500                # the tutorial's 500, remembered
    assert EN["settings.steps_only_one"] not in captions(at)


def test_the_optimizers_page_with_k_of_one(monkeypatch):
    import ui.sidebar
    monkeypatch.setattr(ui.sidebar, "allowed_steps", lambda *args: 3)   # k may take half: 1
    at = open_page("pages/optimizers.py")
    assert EN["optim.k_only_one"] in captions(at)
    assert [s for s in at.slider if s.key == "opt_k"] == []
    assert at.session_state["opt_k"] == 1


def test_the_own_network_page_with_one_step_to_offer(monkeypatch):
    import lib.explore.own_network
    monkeypatch.setattr(lib.explore.own_network, "max_steps", lambda *args, **kwargs: 1)
    at = open_page("pages/own_network.py", "ko")
    assert KO["settings.steps_only_one"] in captions(at)
    assert at.session_state["own_steps"] == 1


def test_a_run_the_time_limit_stops_before_its_first_step_says_so(monkeypatch):
    """No gradient to compare because of the time limit, not because the loss blew up at step 0."""
    from lib.serve import workers
    monkeypatch.setenv(workers.TIME_LIMIT_ENV, "0.001")
    at = open_page("pages/autograd.py", "ko", {"n": "1024", "d_in": "2048", "hidden": "1024", "d_out": "256",
                                               "tab": "gradients"})
    infos = [i.value for i in at.info]
    assert KO["grad.no_gradient_time"] in infos and KO["grad.no_gradient"] not in infos
