"""Weights and gradients over time: histograms hold every entry, start from the seed's weights, follow the run."""
import json
import math
import re
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.page_support import open_stage_tab

from lib.tutorial.config import default_config
from lib.tutorial.histograms import histogram, parameter_history, spread_steps
from lib.text.i18n import EN, KO
from lib.tutorial.stages import STAGE_NAMES, drawn_depth, run_stage

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = dict(n=8, d_in=6, hidden=5, d_out=3, steps=12)


def small(stage, **changes):
    return default_config(stage).with_(**{**SMALL, **changes})


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_counts_sum_to_the_parameters_size(stage):
    cfg = small(stage)
    history = parameter_history(stage, cfg, spread_steps(cfg.steps))
    params = run_stage(stage, cfg, stop_at=0).params
    assert history.steps == [0, 3, 6, 8, 11]
    assert list(history.weights) == list(params)
    for name, p in params.items():
        for weights, gradient in zip(history.weights[name], history.gradients[name]):
            assert sum(weights.counts) == p.numel() and weights.nonfinite == 0
            assert sum(gradient.counts) + gradient.nonfinite == p.numel()
            assert len(weights.edges) == len(weights.counts) + 1


def test_entries_that_are_not_finite_are_counted_apart():
    hist = histogram(torch.tensor([1.0, 2.0, math.inf, math.nan, 3.0]))
    assert sum(hist.counts) == 3 and hist.nonfinite == 2 and hist.size == 5
    assert (hist.low, hist.high) == (1.0, 3.0)


def test_step_0_holds_the_seeds_initial_weights_and_their_hand_written_gradient():
    cfg = small("tensors", seed=5)
    torch.manual_seed(cfg.seed)   # the tutorial's order: x, y, then the weights
    x, y = torch.randn(cfg.n, cfg.d_in), torch.randn(cfg.n, cfg.d_out)
    w1, w2 = torch.randn(cfg.d_in, cfg.hidden), torch.randn(cfg.hidden, cfg.d_out)
    history = parameter_history("tensors", cfg, [0, 4])
    for name, weight in (("w1", w1), ("w2", w2)):
        assert history.weights[name][0] == histogram(weight)
        assert (history.weights[name][0].low, history.weights[name][0].high) == (weight.min().item(),
                                                                                  weight.max().item())
    h = x.mm(w1)
    grad_y_pred = 2.0 * (h.clamp(min=0).mm(w2) - y)
    assert history.gradients["w2"][0] == histogram(h.clamp(min=0).t().mm(grad_y_pred))
    assert history.weights["w1"][1] != histogram(w1)   # four updates later the weights moved


def test_a_too_high_lr_shows_gradients_exploding():
    tutorial, too_high = small("tensors", n=64, d_in=100, steps=60), small("tensors", n=64, d_in=100, steps=60, lr=5e-3)
    ranges = {}
    for cfg in (tutorial, too_high):
        ran = len(run_stage("tensors", cfg).losses)
        history = parameter_history("tensors", cfg, spread_steps(ran))
        ranges[cfg.lr] = [h.largest_abs for h in history.gradients["w1"]]
    assert ranges[too_high.lr][-1] > 100 * ranges[too_high.lr][0]        # grows step by step
    assert ranges[too_high.lr] == sorted(ranges[too_high.lr])
    assert ranges[tutorial.lr][-1] < ranges[tutorial.lr][0]                 # shrinks as training converges


def test_the_shared_layer_gets_no_gradient_when_unused():
    cfg = small("dynamic_net", hidden=20, steps=30)
    history = parameter_history("dynamic_net", cfg, list(range(30)))
    assert history.depths == [drawn_depth(cfg.seed, s) for s in range(30)]
    assert 0 in history.depths and 3 in history.depths
    zero = [grad.low == grad.high == 0.0 for grad in history.gradients["middle_linear.weight"]]
    assert all(zero[i] for i, depth in enumerate(history.depths) if depth == 0)
    assert not all(zero)   # used, it does get a gradient


def test_the_time_limit_keeps_what_was_done():
    cfg = small("tensors")
    history = parameter_history("tensors", cfg, [0, 5, 11], time_limit_s=0.0)
    assert history.steps == [] and history.time_limited_at == 0


def test_steps_out_of_range_are_refused():
    with pytest.raises(Exception):
        parameter_history("tensors", small("tensors"), [12])


def open_stage(stage, lang="en", **link):
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({"lang": lang, **link})
    at.run()
    at.switch_page(f"pages/{stage}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def hist_chart(at):
    charts = [c for c in at.get("plotly_chart") if "hist_chart" in c.proto.id]
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.slow
def test_stage_page_shows_the_histograms(lang):
    texts = {"en": EN, "ko": KO}[lang]
    at = open_stage("tensors", lang, n="16", d_in="20", hidden="8", d_out="3", steps="40")
    assert not [c for c in at.get("plotly_chart") if "hist_chart" in c.proto.id]   # their tab is closed: no replay
    open_stage_tab(at, "histograms", lang)   # the tab is the request: no switch, and its label is the heading
    assert at.query_params["hist"] == "w1" and at.query_params["tab"] == "histograms"
    spec = hist_chart(at)
    bars = [trace for trace in spec["data"] if trace["type"] == "bar"]
    assert len(bars) == 2 * 5                                   # weight and gradient at 5 steps
    assert sum(bars[0]["y"]) == 20 * 8                          # w1's entries, all of them
    assert at.selectbox(key="tensors_hist_param").value == "w1"
    assert texts["hist.intro_manual"].format(count=5) in [m.value for m in at.markdown]   # in the reader's language


@pytest.mark.slow
def test_too_high_lr_on_the_page_says_where_it_diverged():
    at = open_stage("tensors", lr="5e-06", hist="w1")          # a link naming a histogram opens their tab
    infos = " ".join(i.value for i in at.info)
    assert "This run diverged at step" in infos
    caption = next(c.value for c in at.caption if c.value.startswith("The largest |gradient| of w1"))
    first, last = (float(v) for v in re.findall(r"went from (\S+) at step \d+ to (\S+) at step", caption)[0])
    assert last > 100 * first


@pytest.mark.slow
def test_dynamic_net_opens_on_the_shared_layer():
    at = open_stage("dynamic_net", n="8", d_in="6", hidden="5", d_out="3", steps="30")
    open_stage_tab(at, "histograms")
    assert at.selectbox(key="dynamic_net_hist_param").value == "middle_linear.weight"


@pytest.mark.slow
def test_a_link_opens_the_histograms_of_its_parameter():
    at = open_stage("tensors", n="16", d_in="20", hidden="8", d_out="3", steps="40", hist="w2")
    assert at.selectbox(key="tensors_hist_param").value == "w2"
    assert sum(hist_chart(at)["data"][0]["y"]) == 8 * 3
    open_stage_tab(at, "loss")
    assert at.query_params["tab"] == "loss" and not [c for c in at.get("plotly_chart") if "hist_chart" in c.proto.id]
    open_stage_tab(at, "histograms")                           # the parameter is kept while the tab is closed
    assert at.selectbox(key="tensors_hist_param").value == "w2"
