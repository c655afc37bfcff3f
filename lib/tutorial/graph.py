"""The backward graph autograd records for one forward pass of a stage, as DOT text (torchviz), and stage 1's
hand-written backward drawn the same way."""
from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass

import torch

from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import forward
from lib.tutorial.stages import STAGES, drawn_depth, run_stage


@dataclass
class AutogradGraph:
    dot: str                       # Graphviz DOT source, drawn by st.graphviz_chart in the browser
    counts: dict[str, int]         # backward nodes by kind ("AddmmBackward"); stage 1: its lines by operation
    step: int
    depth: int = 0                 # dynamic_net: how many times middle_linear ran in this forward
    saved: bool = False            # the saved tensors are drawn


def node_kind(label: str) -> str:
    """'AddmmBackward0' -> 'AddmmBackward': torch numbers its backward classes; the number is no teaching."""
    return re.sub(r"\d+$", "", label)


def count_nodes(dot_source: str) -> dict[str, int]:
    """Backward nodes in torchviz's DOT text, by kind (grey nodes are labelled with their class name).

    In torch 2.14 `clamp(min=0)` records ClampBackward0, nn.ReLU ReluBackward0, x.mm(w) MmBackward0,
    nn.Linear AddmmBackward0 (after a TBackward0 of its weight), and MyReLU its class name + "Backward".
    """
    labels = re.findall(r'\[label=(\w+Backward\w*)', dot_source)
    return dict(Counter(node_kind(label) for label in labels))


def stage_loss(stage: str, cfg: TrainConfig, params: dict, x, y, depth: int = 0, broken_relu: bool = False):
    """The loss of one forward pass written as the stage writes it: pow(2).sum() on stages 2-3, MSELoss after."""
    y_pred = forward(stage, cfg, params, x, depth, broken_relu)
    if STAGES[stage].has_bias:
        return torch.nn.MSELoss(reduction="sum")(y_pred, y)
    return (y_pred - y).pow(2).sum()


def make_dot(*args, **kwargs):
    """torchviz.make_dot without torchviz 0.0.3's own DeprecationWarning (it compares versions with distutils)."""
    with warnings.catch_warnings():   # a worker runs one job at a time: no other thread sees the filter change
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="torchviz")
        warnings.filterwarnings("ignore", "distutils Version classes are deprecated", DeprecationWarning)
        from torchviz import make_dot as torchviz_make_dot
        return torchviz_make_dot(*args, **kwargs)


def autograd_graph(stage: str, cfg: TrainConfig, params: dict, x, y, depth: int = 0, broken_relu: bool = False,
                   show_saved: bool = False) -> tuple[str, dict[str, int]]:
    """DOT source of the graph one forward pass at `params` records, parameters named with their shapes."""
    if stage == "tensors":
        raise ValueError("stage 1 uses no autograd: its backward is drawn by manual_backward_graph()")
    leaves = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
    loss = stage_loss(stage, cfg, leaves, x, y, depth, broken_relu)
    # torchviz writes each name over its shape; naming the loss too labels the graph's output
    dot = make_dot(loss, params={**leaves, "loss": loss}, show_saved=show_saved)
    dot.graph_attr.update(rankdir="TB")
    return dot.source, count_nodes(dot.source)


# stage 1's backward, line by line: (result, inputs, the line that computes it)
MANUAL_LINES = [
    ("grad_y_pred", ["y_pred", "y"], "2.0 * (y_pred - y)"),
    ("grad_w2", ["h_relu", "grad_y_pred"], "h_relu.t().mm(grad_y_pred)"),
    ("grad_h_relu", ["grad_y_pred", "w2"], "grad_y_pred.mm(w2.t())"),
    ("grad_h", ["grad_h_relu", "h"], "grad_h_relu.clone(); grad_h[h < 0] = 0"),
    ("grad_w1", ["x", "grad_h"], "x.t().mm(grad_h)"),
]


def manual_backward_graph(cfg: TrainConfig) -> tuple[str, dict[str, int]]:
    """Stage 1's hand-written backward as a graph in torchviz's colours, and its lines counted by operation.

    Three matrix products (autograd's two MmBackward nodes on stage 2 do the same three: one of them needs
    no gradient for x) and one ReLU mask.
    """
    shapes = {"x": (cfg.n, cfg.d_in), "y": (cfg.n, cfg.d_out), "w1": (cfg.d_in, cfg.hidden),
              "w2": (cfg.hidden, cfg.d_out), "h": (cfg.n, cfg.hidden), "h_relu": (cfg.n, cfg.hidden),
              "y_pred": (cfg.n, cfg.d_out), "grad_y_pred": (cfg.n, cfg.d_out), "grad_w2": (cfg.hidden, cfg.d_out),
              "grad_h_relu": (cfg.n, cfg.hidden), "grad_h": (cfg.n, cfg.hidden), "grad_w1": (cfg.d_in, cfg.hidden)}
    lines = ['digraph {', '\tgraph [rankdir=TB]',
             '\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]']
    computed = {out for out, _, _ in MANUAL_LINES}
    used = {name for _, ins, _ in MANUAL_LINES for name in ins}
    for name in sorted(used - computed):
        colour = "lightblue" if name in ("w1", "w2") else "orange"   # the weights, and values the forward kept
        lines.append(f'\t{name} [label="{name}\n{shapes[name]}" fillcolor={colour}]')
    for out, ins, code in MANUAL_LINES:
        colour = "darkolivegreen1" if out in ("grad_w1", "grad_w2") else "lightgrey"
        lines.append(f'\t{out} [label="{out} = {code}\n{shapes[out]}" fillcolor={colour}]')
        lines += [f"\t{src} -> {out}" for src in ins]
    lines.append("}")
    counts = {"mm": sum(".mm(" in code for _, _, code in MANUAL_LINES),
              "mask": sum("[h < 0] = 0" in code for _, _, code in MANUAL_LINES),
              "2.0 * (y_pred - y)": 1}
    return "\n".join(lines) + "\n", counts


def graph_at_step(stage: str, config: TrainConfig, step: int, broken_relu: bool = False, depth: int | None = None,
                  show_saved: bool = False, time_limit_s: float | None = None) -> AutogradGraph:
    """The graph of the forward pass at `step` of a run with `config` (parameters reached after `step` updates)."""
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < config.steps:
        raise ValueError(f"step={step!r} is out of range: it must be a whole number with 0 <= step < {config.steps}")
    if stage == "tensors":
        dot, counts = manual_backward_graph(config)
        return AutogradGraph(dot=dot, counts=counts, step=step, saved=show_saved)
    run = run_stage(stage, config, broken_relu=broken_relu, stop_at=step, time_limit_s=time_limit_s)
    if run.time_limited_at is not None and run.time_limited_at < step:
        raise TimeoutError(f"the server's time limit stopped the run after {run.time_limited_at} of {step} steps")
    if stage == "dynamic_net" and depth is None:
        depth = drawn_depth(config.seed, step)
    depth = depth or 0
    dot, counts = autograd_graph(stage, config, run.params, run.x, run.y, depth, broken_relu, show_saved)
    return AutogradGraph(dot=dot, counts=counts, step=step, depth=depth, saved=show_saved)
