"""The graph autograd records: the nodes each stage's code implies, parameter names and shapes, stage 7's uses."""
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.page_support import open_stage_tab

from lib.tutorial.config import default_config
from lib.tutorial.graph import count_nodes, graph_at_step, manual_backward_graph

SMALL = dict(n=8, d_in=5, hidden=4, d_out=3, steps=6)
APP = str(Path(__file__).resolve().parents[1] / "app.py")

# the nodes each stage's forward + loss implies (torch 2.14 names; clamp(min=0) records ClampBackward)
EXPECTED = {
    # x.mm(w1).clamp(min=0).mm(w2); (y_pred - y).pow(2).sum()
    "autograd": {"MmBackward": 2, "ClampBackward": 1, "SubBackward": 1, "PowBackward": 1, "SumBackward": 1},
    # the same with MyReLU.apply in place of clamp
    "custom_function": {"MmBackward": 2, "MyReLUBackward": 1, "SubBackward": 1, "PowBackward": 1,
                        "SumBackward": 1},
    # Sequential(Linear, ReLU, Linear), MSELoss(sum): each Linear is an addmm with the weight transposed
    "nn_module": {"AddmmBackward": 2, "TBackward": 2, "ReluBackward": 1, "MseLossBackward": 1},
    "optim": {"AddmmBackward": 2, "TBackward": 2, "ReluBackward": 1, "MseLossBackward": 1},
    # TwoLayerNet uses clamp(min=0)
    "custom_module": {"AddmmBackward": 2, "TBackward": 2, "ClampBackward": 1, "MseLossBackward": 1},
}


def cfg(stage):
    return default_config(stage).with_(**SMALL)


@pytest.mark.parametrize("stage", list(EXPECTED))
def test_each_stage_records_the_nodes_its_code_implies(stage):
    graph = graph_at_step(stage, cfg(stage), 3)
    assert graph.counts == EXPECTED[stage]
    assert graph.counts == count_nodes(graph.dot)


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_dynamic_net_has_one_addmm_per_use_of_middle_linear(depth):
    graph = graph_at_step("dynamic_net", cfg("dynamic_net"), 2, depth=depth)
    assert graph.depth == depth
    # input_linear and output_linear, plus one per use; a clamp after input_linear and after every use
    assert graph.counts == {"AddmmBackward": 2 + depth, "TBackward": 2 + depth, "ClampBackward": 1 + depth,
                            "MseLossBackward": 1}
    # middle_linear.weight's leaf feeds one TBackward per use (each feeding its addmm); none when unused
    leaf = re.search(r'(\d+) \[label="middle_linear\.weight', graph.dot)
    accumulate = re.findall(rf"\t{leaf.group(1)} -> (\d+)", graph.dot) if leaf else []
    if depth == 0:
        assert leaf is None
    else:
        node = accumulate[0]   # AccumulateGrad
        users = re.findall(rf"\t{node} -> (\d+)", graph.dot)
        assert len(users) == depth
        assert all(re.search(rf"\t{u} \[label=TBackward", graph.dot) for u in users)


def test_dynamic_net_at_a_step_draws_the_depth_training_drew():
    from lib.tutorial.stages import drawn_depth, run_stage
    config = cfg("dynamic_net")
    run = run_stage("dynamic_net", config)
    for step in range(config.steps):
        graph = graph_at_step("dynamic_net", config, step)
        assert graph.depth == drawn_depth(config.seed, step) == run.depths[step]
        assert graph.counts["AddmmBackward"] == 2 + run.depths[step]


@pytest.mark.parametrize("stage", list(EXPECTED) + ["dynamic_net"])
def test_parameters_appear_by_name_and_shape(stage):
    from lib.tutorial.stages import run_stage
    config = cfg(stage)
    params = run_stage(stage, config, stop_at=0).params
    graph = graph_at_step(stage, config, 0, depth=1)
    for name, p in params.items():
        shape = "(" + ", ".join(map(str, p.shape)) + ")"
        assert f'label="{name}\n {shape}" fillcolor=lightblue' in graph.dot, name
    assert 'label="loss\n ()" fillcolor=darkolivegreen1' in graph.dot


def test_broken_myrelu_records_the_same_graph():
    config = cfg("custom_function")
    good, broken = (graph_at_step("custom_function", config, 2, broken_relu=b) for b in (False, True))
    renamed = {k.replace("BrokenMyReLU", "MyReLU"): v for k, v in broken.counts.items()}
    assert renamed == good.counts
    assert len(good.dot.splitlines()) == len(broken.dot.splitlines())


def test_show_saved_adds_the_saved_tensors():
    config = cfg("autograd")
    plain, saved = (graph_at_step("autograd", config, 1, show_saved=s) for s in (False, True))
    assert plain.counts == saved.counts
    assert "fillcolor=orange" not in plain.dot
    # mm saves both operands (twice), clamp its input, sub nothing, pow its base: 6 saved tensors
    assert saved.dot.count("fillcolor=orange") >= 5


def test_stage_one_draws_its_hand_written_backward():
    config = cfg("tensors")
    dot, counts = manual_backward_graph(config)
    for line in ("grad_y_pred -> grad_w2", "grad_y_pred -> grad_h_relu", "grad_h_relu -> grad_h",
                 "grad_h -> grad_w1", "w2 -> grad_h_relu", "x -> grad_w1", "h_relu -> grad_w2"):
        assert line in dot
    assert f"grad_w1 = x.t().mm(grad_h)\n({config.d_in}, {config.hidden})" in dot
    # the tutorial's backward: three matrix products, one ReLU mask
    assert counts == {"mm": 3, "mask": 1, "2.0 * (y_pred - y)": 1}
    # the same matrix products autograd records on stage 2, and the ReLU mask
    assert graph_at_step("tensors", config, 0).dot == dot


def test_step_out_of_range_fails_loudly():
    with pytest.raises(ValueError, match="step"):
        graph_at_step("autograd", cfg("autograd"), SMALL["steps"])


@pytest.mark.parametrize("stage", ["tensors", "custom_function", "dynamic_net"])
@pytest.mark.slow
def test_stage_pages_show_the_graph(stage):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page(f"pages/{stage}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("graphviz_chart")           # its tab is closed: no graph job runs
    open_stage_tab(at, "graph")
    charts = at.get("graphviz_chart")
    assert len(charts) == 1
    spec = charts[0].proto.spec
    assert ("grad_w1" if stage == "tensors" else "Backward") in spec
    if stage == "custom_function":
        assert "MyReLUBackward" in spec
    if stage != "tensors":
        at.toggle(key=f"{stage}_graph_saved").set_value(True).run()
        assert not at.exception
        assert "fillcolor=orange" in at.get("graphviz_chart")[0].proto.spec


def test_drawing_a_graph_warns_of_nothing():
    """torchviz 0.0.3 compares versions with distutils' deprecated LooseVersion on every make_dot: kept quiet."""
    import warnings
    cfg = default_config("autograd").with_(n=4, d_in=5, hidden=3, d_out=2, steps=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert graph_at_step("autograd", cfg, 0).counts["MmBackward"] == 2
