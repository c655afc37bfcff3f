"""The functions worker processes run (lib.serve.workers): each is a lib function with its progress and time limit.

Every job is called as `job(*args, progress=send, time_limit_s=limit)`; `send(message)` reports to the page,
and the job stops by itself once `time_limit_s` has passed (the pool ends it a little later if it does not).
Heavy modules are imported inside the jobs: a page imports this module only to name a job.
"""
from __future__ import annotations

import os
import time
from functools import lru_cache

# progress messages are small tuples: ("steps", first_step, [loss, ...]) for a training run's losses since the
# last message, ("mnist", Progress) for MNIST, ("checkpoint", k) for the held-out curve's runs
SEND_EVERY_S = 0.05   # a run sends its new losses at most this often


class StepSender:
    """on_step for run_stage: collects losses and sends them in batches, so a long run costs few messages."""

    def __init__(self, progress):
        self.progress, self.first, self.losses, self.last_sent = progress, 0, [], time.perf_counter()

    def __call__(self, step: int, loss: float) -> None:
        if not self.losses:
            self.first = step
        self.losses.append(loss)
        now = time.perf_counter()
        if now - self.last_sent >= SEND_EVERY_S:
            self.flush()
            self.last_sent = now

    def flush(self) -> None:
        if self.losses:
            self.progress(("steps", self.first, self.losses))
            self.losses = []


def ping(*, progress, time_limit_s):
    """A job that does nothing: starts a worker, and tells which process ran it."""
    return os.getpid()


def worker_settings(*, progress, time_limit_s):
    """What a worker runs with: its pid, torch's threads, GLIBC_TUNABLES, and whether its malloc runs with
    lib.serve.workers' settings."""
    import torch
    from lib.serve import workers
    return {"pid": os.getpid(), "threads": torch.get_num_threads(), "tunables": os.environ.get(workers.TUNABLES_ENV),
            "allocator_tuned": workers.allocator_tuned()}


def calibrate(*, progress, time_limit_s):
    from lib.serve.limits import calibrate
    return calibrate()


def train_stage(stage, config, broken_relu=False, *, progress, time_limit_s):
    """One stage's training run (lib.tutorial.stages.run_stage) as the page shows it: its RunSummary."""
    from lib.tutorial.stages import run_stage
    sender = StepSender(progress)
    result = run_stage(stage, config, on_step=sender, broken_relu=broken_relu, time_limit_s=time_limit_s)
    sender.flush()
    return result.summary()


def gradients(stage, config, step, broken_relu, depth, *, progress, time_limit_s):
    from lib.tutorial.gradients import gradient_comparison
    return gradient_comparison(stage, config, step, broken_relu=broken_relu, depth=depth, time_limit_s=time_limit_s)


def held_out_point(stage, config, k, *, progress, time_limit_s):
    """The held-out loss after k updates (lib.explore.experiments.held_out_loss)."""
    from lib.explore.experiments import held_out_loss
    return held_out_loss(stage, config, k, time_limit_s=time_limit_s)


def sine(steps, lr, seed, *, progress, time_limit_s):
    from lib.explore.experiments import fit_sine
    sender = StepSender(progress)
    fit = fit_sine(steps=steps, lr=lr, seed=seed, on_step=sender, time_limit_s=time_limit_s)
    sender.flush()
    return fit


def optimizer_comparison(config, k, *, progress, time_limit_s):
    from lib.explore.optim_internals import compare_optimizer
    return compare_optimizer(config, k, time_limit_s=time_limit_s)


@lru_cache(maxsize=2)
def _mnist_data(root: str):
    from lib.digits.mnist_data import load_mnist
    return load_mnist(root)   # once per worker process and folder


def mnist(config, root, *, progress, time_limit_s):
    """Train on MNIST in this worker; the model travels back as its state_dict, with the evaluation."""
    from lib.digits import mnist_training as m
    from lib.digits.mnist_gradients import mlp_gradient_table
    from lib.digits.mnist_inside import epoch_panel
    from lib.digits.mnist_models import build_model
    data = _mnist_data(root)
    panel = epoch_panel(data.test_labels)
    panel.record(0, build_model(config), data.test_images)   # before training: the same seed, the same weights
    result = m.train_mnist(data, config, on_progress=lambda p: progress(("mnist", p)), time_limit_s=time_limit_s,
                           on_epoch=lambda epoch, model: panel.record(epoch, model, data.test_images))
    report = m.report(result.model, data)
    gradients = None
    if config.model == "mlp" and result.batch_losses:
        batch = slice(0, config.batch_size)
        gradients = mlp_gradient_table(result.model, data.train_images[batch], data.train_labels[batch])
    return m.TrainedMnist.from_result(result, report, gradients, panel)


def mnist_inside(config, state, digit, *, progress, time_limit_s):
    """Inside the trained model for one (28, 28) digit (lib.digits.mnist_inside.DigitInside)."""
    from lib.digits.mnist_inside import inside_digit
    from lib.digits.mnist_training import TrainedMnist
    model = TrainedMnist.rebuild(config, state)
    return inside_digit(model, digit)


def graph(stage, config, step, broken_relu, depth, show_saved, *, progress, time_limit_s):
    """The backward graph of the forward pass at `step` (lib.tutorial.graph.AutogradGraph: DOT text and node counts)."""
    from lib.tutorial.graph import graph_at_step
    return graph_at_step(stage, config, step, broken_relu=broken_relu, depth=depth, show_saved=show_saved,
                         time_limit_s=time_limit_s)


def histograms(stage, config, steps, broken_relu, *, progress, time_limit_s):
    """Histograms of every parameter and its gradient at `steps` of the stage's run (lib.tutorial.histograms)."""
    from lib.tutorial.histograms import parameter_history
    return parameter_history(stage, config, list(steps), broken_relu=broken_relu, time_limit_s=time_limit_s)


def landscape(config, k, grid, span, *, progress, time_limit_s):
    """The loss on a slice around the optim stage's trained weights, with every optimizer's path (lib.explore.landscape)."""
    from lib.explore.landscape import loss_landscape
    return loss_landscape(config, k, grid=grid, span=span, time_limit_s=time_limit_s)


def train_network(config, *, progress, time_limit_s):
    """A network built from menus (lib.explore.own_network), trained as the stage pages train: its RunSummary."""
    from lib.explore.own_network import train_network
    sender = StepSender(progress)
    result = train_network(config, on_step=sender, time_limit_s=time_limit_s)
    sender.flush()
    return result.summary()


def network_gradients(config, step, *, progress, time_limit_s):
    from lib.explore.own_network import network_gradients
    return network_gradients(config, step, time_limit_s=time_limit_s)


def network_histograms(config, steps, *, progress, time_limit_s):
    from lib.explore.own_network_views import network_history
    return network_history(config, list(steps), time_limit_s=time_limit_s)


def network_graph(config, step, show_saved, *, progress, time_limit_s):
    from lib.explore.own_network_views import network_graph
    return network_graph(config, step, show_saved=show_saved, time_limit_s=time_limit_s)


def device_timing(stage, config, devices, *, progress, time_limit_s):
    """One training step's time against N on each device (lib.explore.device_timing.time_devices)."""
    from lib.explore.device_timing import time_devices
    return time_devices(stage, config, devices, time_limit_s=time_limit_s)
