"""What the pages show agrees with itself: divergence numbers, chart axes, the weight-sharing view, the columns."""
import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.figures import plots
from lib.tutorial.config import default_config
from lib.tutorial.stages import GROWTH_LIMIT, run_stage

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_link(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def chart(at: AppTest, key: str) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id).proto.spec)


# ---------------------------------------------------------------- divergence
@pytest.mark.parametrize("lr", ["0.1", "5e-06"])
@pytest.mark.slow
def test_divergence_metrics_and_chart_show_the_loss_that_stopped_training(lr):
    at = open_link("pages/tensors.py", lr=lr)
    run = run_stage("tensors", default_config("tensors").with_(lr=float(lr)))
    assert run.diverged_at is not None and math.isfinite(run.stop_loss)
    shown = metrics(at)
    stop_label = f"loss at step {run.diverged_at}, where training stopped"
    assert shown[stop_label] == f"{run.stop_loss:.4g}"
    ratio = float(shown["stopping loss / first"])
    assert ratio > GROWTH_LIMIT                       # what the warning says: over 1e6 times the first value
    assert "final / first" not in shown               # no ratio of the last kept loss beside that warning
    assert any(f"reached {run.stop_loss:.3g}" in w.value for w in at.warning)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    stop = [tr for tr in spec["data"] if tr.get("meta") == "stop"]
    assert len(stop) == 1 and stop[0]["x"] == [run.diverged_at] and stop[0]["y"] == [run.stop_loss]
    assert spec["layout"]["xaxis"]["tickformat"] == "d"


@pytest.mark.slow
def test_a_one_step_run_is_not_shown_as_final_equals_first():
    at = open_link("pages/tensors.py", lr="0.1")
    shown = metrics(at)
    assert "final loss" not in shown and shown["stopping loss / first"] != "1.0e+00"


def test_an_infinite_stopping_loss_is_written_at_the_top_of_the_chart():
    fig = plots.loss_curves([("run", [1.0, 2.0])], diverged={"run": (2, math.inf)})
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["training stopped at step 2: loss inf"]
    assert fig.layout.annotations[0].yref == "paper" and fig.layout.annotations[0].y == 1
    nan = plots.loss_curves([("run", [])], diverged={"run": (0, math.nan)})
    assert "loss nan" in nan.layout.annotations[0].text


def test_short_runs_have_whole_step_ticks():
    fig = plots.loss_curves([("run", [3.0])])
    assert fig.layout.xaxis.tickformat == "d" and fig.layout.xaxis.dtick == 1
    long = plots.loss_curves([("run", [1.0] * 500)])
    assert long.layout.xaxis.tickformat == "d" and long.layout.xaxis.dtick is None


# ---------------------------------------------------------------- stage 7: what adds up
def test_the_weight_sharing_chart_adds_terms_up_to_autograds_entries():
    from lib.tutorial.gradients import gradient_comparison
    cfg = default_config("dynamic_net").with_(steps=200)
    comparison = gradient_comparison("dynamic_net", cfg, 0)
    assert comparison.depth == 3
    uses = [n for n in comparison.manual if n.startswith("middle_linear.weight (use")]
    terms = [comparison.manual[u] for u in uses]
    total = comparison.autograd["middle_linear.weight"]
    fig = plots.shared_layer_uses(terms, total)
    assert len(fig.data) == 3
    for trace in fig.data:
        assert list(trace.measure) == ["relative"] * 3 + ["absolute"]
        *steps, autograd_value = trace.y
        assert sum(steps) == pytest.approx(autograd_value, rel=1e-5)   # the steps end where autograd's bar stands
    # what norms would have shown: they do not add
    norms = sum(term.norm().item() for term in terms)
    assert norms > 1.5 * total.norm().item()


@pytest.mark.slow
def test_the_page_states_both_norms_and_says_drawn_or_forced():
    at = open_link("pages/dynamic_net.py", steps="200", tab="gradients")
    text = " ".join(md.value for md in at.markdown)
    assert "the training's own forward pass drew **3**" in text and "forced" not in text
    assert "‖sum of the terms‖ = **37.38**" in text and "= **64.58**" in text
    spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("uses_chart")).proto.spec)
    for trace in spec["data"]:
        assert sum(trace["y"][:-1]) == pytest.approx(trace["y"][-1], rel=1e-5)
    at.radio(key="dyn_depth").set_value(2).run()
    text = " ".join(md.value for md in at.markdown)
    assert "**forced** to 2" in text and "training drew 3" in text


# ---------------------------------------------------------------- the noise tab's run is the stage page's
@pytest.mark.slow
@pytest.mark.parametrize("stage", ["tensors", "nn_module", "dynamic_net"])
def test_the_noise_tabs_training_loss_is_the_stage_pages_loss(stage):
    from tests.test_experiments import held_out_curve   # what the noise tab assembles from the workers' runs
    cfg = default_config(stage).with_(steps=120)
    run = run_stage(stage, cfg)
    curve = held_out_curve(stage, cfg)
    assert curve.steps[-1] == cfg.steps - 1
    assert curve.train == [run.losses[k] for k in curve.steps]      # the same numbers, not re-computed ones
    assert curve.train[-1] == run.final_loss


@pytest.mark.slow
def test_the_noise_tab_and_the_stage_page_show_the_same_final_loss():
    at = open_link("pages/experiments.py")
    at.session_state["exp_tab"] = "Memorising noise"
    at.run()
    assert not at.exception
    noise = metrics(at)["training loss"]
    page = open_link("pages/tensors.py")
    assert metrics(page)["final loss"] == noise == f"{run_stage('tensors', default_config('tensors')).final_loss:.4g}"


# ---------------------------------------------------------------- inside the optimizers
@pytest.mark.slow
def test_choosing_sgd_with_momentum_takes_the_tutorials_momentum():
    at = open_link("pages/optimizers.py")
    assert at.selectbox(key="optimizer").value == "adam" and at.slider(key="momentum").value == 0.0
    at.selectbox(key="optimizer").set_value("sgd_momentum").run()
    assert not at.exception
    assert at.slider(key="momentum").value == 0.9
    assert not any("keeps no state" in i.value for i in at.info)
    assert any("momentum_buffer" in str(df.value.values) for df in at.dataframe)
    at.selectbox(key="optimizer").set_value("sgd").run()
    at.selectbox(key="optimizer").set_value("sgd_momentum").run()
    assert at.slider(key="momentum").value == 0.9          # a momentum the user chose is kept
    at.slider(key="momentum").set_value(0.5).run()
    at.selectbox(key="optimizer").set_value("rmsprop").run()
    at.selectbox(key="optimizer").set_value("sgd_momentum").run()
    assert at.slider(key="momentum").value == 0.5


@pytest.mark.slow
def test_momentum_zero_from_a_link_is_said_plainly_in_both_languages():
    at = open_link("pages/optimizers.py", optimizer="sgd_momentum", momentum="0.0")
    assert any("With momentum 0" in i.value and "plain SGD" in i.value for i in at.info)
    ko = open_link("pages/optimizers.py", optimizer="sgd_momentum", momentum="0.0", lang="ko")
    text = " ".join(i.value for i in ko.info)
    assert "모멘텀이 0이면" in text and "(는)" not in text


def test_no_korean_text_leaves_a_particle_to_guess():
    from lib.text.i18n import KO
    assert not [key for key, text in KO.items() if any(p in text for p in ("(는)", "(가)", "(을)", "(으)", "(과)"))]


# ---------------------------------------------------------------- charts
@pytest.mark.parametrize("accuracies", [[0.9212, 0.9251, 0.9302, 0.9325], [0.5, 0.93, 0.97], [0.93301, 0.93305],
                                        [0.95]])
def test_accuracy_ticks_never_repeat_a_label(accuracies):
    from types import SimpleNamespace

    from lib.figures.mnist_plots import accuracy_curve
    result = SimpleNamespace(history=[{"epoch": i + 1, "test_accuracy": a} for i, a in enumerate(accuracies)])
    axis = accuracy_curve(result).layout.yaxis
    assert axis.tickformat.endswith("%")
    if len(set(accuracies)) == 1:
        assert axis.tickformat == ".1%"           # one value: plotly's own ticks around it, one decimal
        return
    decimals = int(axis.tickformat[1:-1])
    low, high = min(accuracies), max(accuracies)
    ticks = [k * axis.dtick for k in range(math.floor(low / axis.dtick), math.ceil(high / axis.dtick) + 1)]
    assert len(ticks) >= 2
    labels = [f"{tick:.{decimals}%}" for tick in ticks]
    assert len(set(labels)) == len(labels), labels


def test_the_gradient_heatmaps_colour_bars_sit_outside_every_panel():
    import torch
    grad = torch.randn(30, 20)
    fig = plots.gradient_heatmaps("w", grad, grad + 1e-3)
    domains = [fig.layout[f"xaxis{i}"].domain for i in ("", "2", "3")]
    bars = [trace.colorbar.x for trace in fig.data if trace.showscale]
    assert len(bars) == 2
    for x in bars:
        assert not any(low <= x <= high for low, high in domains), (x, domains)
    assert domains[1][1] < bars[0] < domains[2][0] - 0.08    # in the gap after panel 2, with room for its labels
    assert bars[1] > domains[2][1] and all(trace.colorbar.xanchor == "left" for trace in fig.data if trace.showscale)


def test_step_axes_take_whole_steps_on_every_step_chart():
    from lib.figures.experiment_plots import held_out_figure
    from lib.explore.experiments import HeldOutCurve
    from lib.figures.optim_plots import update_size_curve
    curve = HeldOutCurve(steps=[0, 1, 2], train=[3.0, 2.0, 1.0], held_out=[3.0, 3.0, 3.0], train_losses=[3.0, 2.0, 1.0],
                         diverged_at=None, zero_loss=2.0)
    for fig in (held_out_figure(curve), update_size_curve([1.0, 0.5], [1.0, 0.5], "w"),
                plots.loss_curves([("run", [1.0, 0.5])])):
        assert fig.layout.xaxis.tickformat == "d" and fig.layout.xaxis.dtick == 1
