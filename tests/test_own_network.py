"""Your own network: hand-written gradients against autograd and finite differences for every activation, depth
and reduction; the vanishing gradient the page promises, from real runs; the page in both languages, its link,
its refusals and its time limit."""
import re
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import lib.tutorial.backward as backward
from lib.serve import limits
from lib.tutorial.backward import ACTIVATIONS, finite_differences
from lib.text.i18n import EN, KO
from lib.text.messages import render
from lib.explore.own_network import (DEPTH_CAP, PRESETS, REDUCTIONS, VANISHING_BELOW, NetworkConfig, autograd_grads,
                             describe_network, layer_norms, manual_grads, max_steps, network_gradients, network_loss,
                             run_seconds, train_network)
from tests.conftest import TEST_SPEED
from tests.page_support import open_stage_tab

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
TINY = dict(n=6, d_in=5, d_out=3, dtype="float64", steps=3)


def tiny(depth: int, activation: str, reduction: str) -> NetworkConfig:
    return NetworkConfig(widths=(8, 6, 7, 5)[:depth], activation=activation, reduction=reduction, **TINY)


@pytest.mark.slow   # 32 networks, finite differences on each: ~15 s in all
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("depth", range(1, DEPTH_CAP + 1))
def test_hand_written_gradients_equal_autograd_and_finite_differences(depth, activation, reduction):
    cfg = tiny(depth, activation, reduction)
    run = train_network(cfg, stop_at=2)            # after two updates, not only at the initial weights
    params = {k: v.clone() for k, v in run.params.items()}
    manual = manual_grads(cfg, params, run.x, run.y)
    auto = autograd_grads(cfg, params, run.x, run.y)
    numeric = finite_differences(lambda: network_loss(cfg, params, run.x, run.y), params)
    assert list(manual) == cfg.names and len(cfg.names) == 2 * (depth + 1)
    # differences round at ~1e-16 × loss / eps: bound them by the network's largest gradient, not a vanished one's
    largest = max(g.norm().item() for g in auto.values())
    for name in cfg.names:
        scale = auto[name].norm().item()
        assert scale > 0
        assert (manual[name] - auto[name]).norm().item() <= 1e-10 * scale, name
        assert (manual[name].reshape(-1) - numeric[name]).norm().item() <= 1e-6 * largest, name


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_the_table_is_all_ticks_and_a_broken_backward_is_caught(activation, monkeypatch):
    cfg = tiny(3, activation, "mean")
    table = network_gradients(cfg, step=1).table
    assert table["within_tol"].all() and (table["fd_rel_error_step0"] < 1e-5).all()
    forward, _ = ACTIVATIONS[activation]
    monkeypatch.setitem(backward.ACTIVATIONS, activation, (forward, lambda grad, h: grad))   # no derivative at all
    broken = network_gradients(cfg, step=1).table
    assert not broken.set_index("parameter").loc["linear1.weight", "within_tol"]


def ratio_at_step0(preset: str) -> tuple[float, list[float]]:
    norms = layer_norms(network_gradients(PRESETS[preset], step=0))
    return norms[0] / norms[-1], norms


def test_four_sigmoid_layers_make_the_first_gradient_vanish_and_relu_does_not():
    """The page's caption (own.vanishing_claim), from real runs at its presets' settings."""
    sigmoid, norms = ratio_at_step0("sigmoid4")
    relu, _ = ratio_at_step0("relu4")
    assert PRESETS["sigmoid4"].with_(activation="relu") == PRESETS["relu4"]   # "the same network with ReLU"
    assert 3e-4 < sigmoid < 3e-3 < VANISHING_BELOW                     # "roughly a thousand times smaller"
    assert norms == sorted(norms)                                        # smaller at every layer further back
    assert 0.1 < relu < 10                                               # "about the same size"


def test_the_activation_and_loss_help_texts_hold():
    g, h = torch.randn(50, 7, dtype=torch.float64), 4 * torch.randn(50, 7, dtype=torch.float64)
    _, sigmoid_backward = ACTIVATIONS["sigmoid"]
    assert sigmoid_backward(torch.ones_like(h), h).max() <= 0.25                  # σ' is at most 0.25
    assert sigmoid_backward(g, h).norm() <= 0.25 * g.norm()                      # so Sigmoid shrinks the gradient
    relu_slopes = ACTIVATIONS["relu"][1](torch.ones_like(h), h)
    assert set(relu_slopes.unique().tolist()) <= {0.0, 1.0}                      # ReLU's is 0 or 1
    cfg = tiny(2, "tanh", "sum")
    run = train_network(cfg, stop_at=0)
    mean = cfg.with_(reduction="mean")
    ratio = network_loss(cfg, run.params, run.x, run.y) / network_loss(mean, run.params, run.x, run.y)
    assert ratio.item() == pytest.approx(cfg.n * cfg.d_out)                      # N×D_OUT times smaller
    summed, averaged = manual_grads(cfg, run.params, run.x, run.y), manual_grads(mean, run.params, run.x, run.y)
    assert torch.allclose(summed["linear1.weight"], cfg.n * cfg.d_out * averaged["linear1.weight"])


def test_the_histograms_replay_the_run():
    from lib.explore.own_network_views import network_history
    from lib.tutorial.histograms import histogram
    cfg = tiny(2, "sigmoid", "sum")
    history = network_history(cfg, [0, 2])
    assert history.steps == [0, 2] and list(history.weights) == cfg.names
    run = train_network(cfg, stop_at=2)
    grads = autograd_grads(cfg, run.params, run.x, run.y)
    for name in cfg.names:
        assert history.weights[name][1] == histogram(run.params[name])
        assert history.gradients[name][1] == histogram(grads[name])
    stopped = network_history(cfg, [0, 1, 2], time_limit_s=0.0)
    assert stopped.steps == [] and stopped.time_limited_at == 0


@pytest.mark.parametrize("changes, field", [
    (dict(widths=()), "layers"), (dict(widths=(10,) * 5), "layers"), (dict(widths=(10, 0)), "width 2"),
    (dict(widths=(2000,)), "width 1"), (dict(activation="softmax"), "activation"), (dict(reduction="max"), "reduction"),
    (dict(n=0), "n"), (dict(d_in=5000), "d_in"), (dict(lr=0.0), "lr"), (dict(steps=10**6), "steps"),
    (dict(dtype="float16"), "dtype")])
def test_bad_settings_are_refused_with_a_message_naming_the_field(changes, field):
    with pytest.raises(ValueError) as err:
        NetworkConfig(**changes)
    assert str(err.value).startswith(f"{field}=")
    assert HANGUL.search(render(err.value, "ko"))


def test_the_time_limit_stops_training_and_the_offered_steps_fit_the_plan():
    cfg = NetworkConfig(widths=(64, 64), steps=2000)
    stopped = train_network(cfg, time_limit_s=0.0)
    assert stopped.time_limited_at == 0 and stopped.losses == []
    budget = limits.PLAN_SHARE * 15.0
    big = NetworkConfig(widths=(1024,) * 4, n=1024, d_in=2048)
    allowed = max_steps(TEST_SPEED, budget, big)
    assert 1 <= allowed < 2000
    assert run_seconds(TEST_SPEED, big, allowed) <= budget < run_seconds(TEST_SPEED, big, allowed + 1)
    deeper = big.with_(widths=(1024,) * 3)
    assert max_steps(TEST_SPEED, budget, deeper) > allowed          # every layer's multiply-adds count


# ---------------------------------------------------------------- the page
def open_page(query: dict | None = None, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = lang
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/own_network.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.slow
def test_the_page_trains_and_every_gradient_row_agrees(lang):
    texts = {"en": EN, "ko": KO}[lang]
    at = open_page(lang=lang)
    assert at.title[0].value == texts["own.title"]
    assert not at.error
    charts = at.get("plotly_chart")   # the loss curve's tab is open first: only it is drawn, and no job but training
    assert len(charts) == len([c for c in charts if "own_loss_chart" in c.proto.id]) == 1
    assert not at.dataframe and not at.get("graphviz_chart")
    final = next(m.value for m in at.metric if m.label == texts["metric.final_loss"])
    assert float(final) < 1e-3                                        # the tutorial's network learns
    from tests.test_korean import english_on_screen
    korean = lang == "ko"
    assert not (korean and english_on_screen(at))
    open_stage_tab(at, "gradients", lang, key="own_tab")
    assert at.query_params["net_tab"] == "gradients"
    table = at.dataframe[0].value
    assert len(table) == 4 and list(table[texts["column.match"]]) == ["✓"] * 4
    assert at.success and at.success[0].value.startswith("✓")
    assert [c.proto.id for c in at.get("plotly_chart") if "own_norms_chart" in c.proto.id]   # the gradient norms
    assert not (korean and (not HANGUL.search(at.success[0].value) or english_on_screen(at)))
    open_stage_tab(at, "graph", lang, key="own_tab")
    assert at.get("graphviz_chart") and not at.dataframe
    assert not (korean and english_on_screen(at))
    open_stage_tab(at, "histograms", lang, key="own_tab")
    assert [c for c in at.get("plotly_chart") if "hist_chart" in c.proto.id]   # drawn at once: the tab is the request
    assert not (korean and english_on_screen(at))
    if korean:
        open_stage_tab(at, "gradients", lang, key="own_tab")
        at.button(key="own_preset_sigmoid4").click().run()              # the vanished gradient's warning too
        assert at.warning and not english_on_screen(at)


@pytest.mark.slow
def test_the_presets_show_the_gradient_vanish_with_sigmoid_only():
    at = open_stage_tab(open_page(), "gradients", key="own_tab")
    at.button(key="own_preset_sigmoid4").click().run()
    assert not at.exception
    assert at.selectbox(key="own_act").value == "sigmoid" and at.slider(key="own_layers").value == 4
    ratio = float(next(m.value for m in at.metric if m.label == EN["own.ratio"]))
    assert ratio < 3e-3
    assert any(w.value.startswith(EN["own.vanished"].split("{")[0]) for w in at.warning)
    at.button(key="own_preset_relu4").click().run()
    assert float(next(m.value for m in at.metric if m.label == EN["own.ratio"])) > 0.1
    assert not at.warning
    assert list(at.dataframe[0].value[EN["column.match"]]) == ["✓"] * 10


@pytest.mark.slow
def test_the_url_carries_the_network():
    query = {"net_layers": "3", "net_w1": "20", "net_w2": "30", "net_w3": "40", "net_act": "tanh",
             "net_loss": "mean", "net_n": "16", "net_d_in": "50", "net_d_out": "4", "net_lr": "0.01",
             "net_steps": "50", "net_seed": "7", "net_dtype": "float64"}
    at = open_page(query)
    cfg = NetworkConfig(widths=(20, 30, 40), activation="tanh", reduction="mean", n=16, d_in=50, d_out=4, lr=0.01,
                        steps=50, seed=7, dtype="float64")
    assert any(describe_network(cfg) in c.value for c in at.caption)
    assert {k: at.query_params[k] for k in query} == query
    open_stage_tab(at, "gradients", key="own_tab")
    assert list(at.dataframe[0].value[EN["column.match"]]) == ["✓"] * 8
    at.slider(key="own_layers").set_value(2).run()
    at.selectbox(key="own_act").set_value("leaky_relu").run()
    assert at.query_params["net_layers"] == "2" and at.query_params["net_act"] == "leaky_relu"
    assert "net_w3" not in at.query_params


@pytest.mark.slow
def test_bad_link_values_give_a_message_not_a_traceback():
    at = open_page({"net_layers": "9", "net_w1": "0", "net_act": "softmax", "net_lr": "abc"})
    refused = [w.value for w in at.warning]
    assert len(refused) == 4 and all("cannot be used on this page" in w for w in refused)
    assert at.slider(key="own_layers").value == 1 and at.selectbox(key="own_act").value == "relu"
    open_stage_tab(at, "gradients", key="own_tab")
    assert list(at.dataframe[0].value[EN["column.match"]]) == ["✓"] * 4


@pytest.mark.slow
def test_a_bigger_network_is_offered_fewer_steps_and_a_smaller_one_gets_them_back():
    big = {"net_layers": "4", **{f"net_w{k}": "512" for k in range(1, 5)}, "net_n": "512", "net_d_in": "2048",
           "net_steps": "500", "net_seed": "99"}
    at = open_page(big)
    cfg = NetworkConfig(widths=(512,) * 4, n=512, d_in=2048, seed=99)
    allowed = max_steps(TEST_SPEED, limits.PLAN_SHARE * 15.0, cfg)
    assert 1 < allowed < 500
    steps = at.slider(key="own_steps")
    assert steps.value == allowed and steps.max == allowed
    assert any(EN["own.steps_shortened"].split("{")[0] in i.value for i in at.info)
    at.slider(key="own_layers").set_value(1).run()
    at.number_input(key="own_w1").set_value(10).run()
    assert at.slider(key="own_steps").value == 500 and not at.info


@pytest.mark.slow
def test_the_time_limit_stops_a_run_on_the_page(monkeypatch):
    import ui.runs
    # a server that claims to be very fast offers all 2000 steps; the time limit still stops the run
    fast = limits.Speed(macs_per_s={"float32": 1e15, "float64": 1e15},
                        step_overhead_s={stage: 1e-9 for stage in TEST_SPEED.step_overhead_s}, init_s_per_param=0.0)
    monkeypatch.setattr(ui.runs, "server_speed", lambda: fast)
    monkeypatch.setenv("RUN_TIME_LIMIT_S", "0.3")
    at = open_page({"net_layers": "4", "net_w1": "300", "net_w2": "300", "net_w3": "300", "net_w4": "300",
                    "net_steps": "2000", "net_seed": "4242"})
    assert at.slider(key="own_steps").value == 2000
    stopped = [w.value for w in at.warning if "time limit" in w.value]
    assert stopped and "of 2000 steps" in stopped[0]


@pytest.mark.slow
def test_a_link_opens_its_tab_and_a_closed_tabs_choice_waits_for_it():
    """As on a stage page: `net_tab` opens a tab, the step the link names is the graph's, and the log axis the link
    names (a widget of the closed loss tab) is read when that tab first opens."""
    at = open_page({"net_tab": "graph", "net_step": "3", "net_log": "0"})
    assert at.get("graphviz_chart") and at.slider(key="own_step").value == 3
    assert EN["graph.intro"].format(step=3) in [m.value for m in at.markdown]
    open_stage_tab(at, "loss", key="own_tab")
    assert at.toggle(key="own_log").value is False
    assert at.query_params["net_tab"] == "loss" and at.query_params["net_step"] == "3"
    refused = open_page({"net_tab": "nowhere"})
    assert [w.value for w in refused.warning if "cannot be used on this page" in w.value]
    assert refused.query_params["net_tab"] == "loss"
