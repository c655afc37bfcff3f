"""Runs in the worker processes (lib.serve.workers), cached for every session, with a progress bar on the page."""
from __future__ import annotations

import functools
import time

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib.serve import jobs, limits, workers
from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import GradientComparison
from lib.tutorial.stages import RunSummary
from ui.text import t


# Results are shared by every session and bounded. A run summary is a few KB; a gradient comparison holds
# full gradients (up to ~70 MB at the size caps), hence fewer of those.
CACHE_ENTRIES = 256
GRADIENT_CACHE_ENTRIES = 16
CACHE_TTL_S = 3600
RUNS = workers.JobCache(CACHE_ENTRIES, CACHE_TTL_S)
GRADIENTS = workers.JobCache(GRADIENT_CACHE_ENTRIES, CACHE_TTL_S)
# The other pages' results live here too: Streamlit executes a page's file afresh on every run, so a cache made in
# the page would be a new, empty one each time (tests/test_pages.py checks that no page makes one).
OPTIMIZER_COMPARISONS = workers.JobCache(32, CACHE_TTL_S)   # the optimizers page and the lessons
EXPERIMENTS = workers.JobCache(32, CACHE_TTL_S)             # held-out points and sine fits
MNIST_MODELS = workers.JobCache(8, CACHE_TTL_S)             # trained MNIST models, a few hundred KB each
REDRAW_S = 0.5   # while a run waits or trains, its progress bar is redrawn at least this often


@functools.cache
def server_speed() -> limits.Speed:
    """This server's measured speed (lib.serve.limits.calibrate, once per server process, in a worker)."""
    return workers.run(jobs.calibrate)


class Progress:
    """One progress bar for one or several runs side by side: each run's share fills as its steps come in.

    Runs report through lib.serve.workers' messages; a tick (no news) redraws the bar every REDRAW_S, which lets
    Streamlit stop this page when its visitor moves a slider meanwhile (the runs nobody else waits for are
    then cancelled).
    """

    def __init__(self, bar, runs: list[tuple[str, int]]):
        self.bar, self.runs = bar, runs                       # runs: (label, steps) per index
        self.done = [0.0] * len(runs)
        self.text = t("progress.waiting")
        self.step_text = t("progress.step")
        self.done_text = t("progress.done")
        self.drawn = 0.0

    def __call__(self, index: int, message) -> None:
        if message is not None and index >= 0:
            label, steps = self.runs[index]
            if message[0] == "steps":
                _, first, losses = message
                step = first + len(losses)
                self.done[index] = min(1.0, step / max(steps, 1))
                self.text = self.step_text.format(label=label, step=step, steps=steps, loss=losses[-1])
            elif message[0] == "done":
                self.done[index] = 1.0
                self.text = self.done_text.format(label=label, done=sum(d == 1.0 for d in self.done),
                                                  runs=len(self.done))
        elif time.monotonic() - self.drawn < REDRAW_S:
            return
        self.drawn = time.monotonic()
        self.bar.progress(sum(self.done) / len(self.done), text=self.text)


def run_jobs(cache: workers.JobCache, requests: list[tuple], runs: list[tuple[str, int]]) -> list:
    """Jobs side by side over the workers under one progress bar, each (key, job, args) cached in `cache`.

    `runs` gives each job's (label, steps) for the bar. A job that gave no result comes back as its RunFailed.
    """
    bar = st.empty()
    results = cache.get_many([(key, fn, args, None) for key, fn, args in requests], Progress(bar, runs),
                             owner=session_id())
    bar.empty()
    return results


def session_id() -> str | None:
    """Who asks for a run: the workers are shared fairly between sessions (lib.serve.workers.FairQueue)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def run_stages(requests: list[tuple[str, TrainConfig, bool]], labels: list[str]) -> list[RunSummary]:
    """Several stage runs side by side over the workers, one progress bar, cached for every session."""
    return run_jobs(RUNS, [(("stage", stage, cfg, broken), jobs.train_stage, (stage, cfg, broken))
                           for stage, cfg, broken in requests],
                    [(label, cfg.steps) for label, (_, cfg, _) in zip(labels, requests)])


def cached_run(stage: str, config: TrainConfig, broken_relu: bool = False) -> RunSummary:
    """One stage run (cached for every session), without a progress bar; RunFailed if it gave no result."""
    return RUNS.get(("stage", stage, config, broken_relu), jobs.train_stage, (stage, config, broken_relu),
                    owner=session_id())


def cached_gradients(stage: str, config: TrainConfig, step: int, broken_relu: bool,
                     depth: int | None) -> GradientComparison:
    return GRADIENTS.get(("gradients", stage, config, step, broken_relu, depth), jobs.gradients,
                         (stage, config, step, broken_relu, depth), owner=session_id())


def train_with_progress(stage: str, cfg: TrainConfig, broken_relu: bool = False) -> RunSummary:
    result = run_stages([(stage, cfg, broken_relu)], [t("progress.training")])[0]
    if isinstance(result, workers.RunFailed):
        raise result
    return result


def run_failed_message(failure: workers.RunFailed) -> str:
    return t(failure.code, limit=workers.time_limit_s())


def time_limit_message(ran: int, steps: int) -> str:
    return t("limits.stopped", ran=ran, steps=steps, limit=workers.time_limit_s())
