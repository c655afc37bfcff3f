"""The graph and histogram views of a network built from menus (lib.explore.own_network), drawn with the stage
pages' tools (lib.tutorial.graph, lib.tutorial.histograms)."""
from __future__ import annotations

from lib.explore.own_network import STAGE, NetworkConfig, autograd_grads, network_loss, reached, train_network
from lib.tutorial.graph import AutogradGraph, make_dot, count_nodes
from lib.tutorial.histograms import ParameterHistory, replayed_history


def network_graph(config: NetworkConfig, step: int, show_saved: bool = False,
                  time_limit_s: float | None = None) -> AutogradGraph:
    """The graph of one forward pass of the network at `step` (parameters reached after `step` updates)."""
    run = reached(config, step, time_limit_s)
    leaves = {name: p.detach().clone().requires_grad_(True) for name, p in run.params.items()}
    loss = network_loss(config, leaves, run.x, run.y)
    dot = make_dot(loss, params={**leaves, "loss": loss}, show_saved=show_saved)
    dot.graph_attr.update(rankdir="TB")
    return AutogradGraph(dot=dot.source, counts=count_nodes(dot.source), step=step, saved=show_saved)


def network_history(config: NetworkConfig, steps: list[int], time_limit_s: float | None = None) -> ParameterHistory:
    """parameter_history of the network, its gradients autograd's."""
    def replay(step: int, left: float | None):
        run = train_network(config, stop_at=step, time_limit_s=left)
        return run, lambda: autograd_grads(config, run.params, run.x, run.y), None
    return replayed_history(STAGE, config, steps, replay, time_limit_s)
