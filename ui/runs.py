"""Runs in the worker processes (lib.serve.workers), cached for every session, with a progress bar on the page.

A page asks for a run as a request, a job of lib.serve.jobs and its arguments: `get(jobs.gradients, stage, cfg,
...)`, `get_many([(jobs.train_stage, (stage, cfg, broken)), ...])`; the job's cache and key follow from it.
"""
from __future__ import annotations

import functools
import time
import uuid
from typing import Any, Callable

import streamlit as st

from lib.serve import jobs, limits, workers
from lib.tutorial.config import TrainConfig
from lib.tutorial.gradients import GradientComparison
from lib.tutorial.stages import RunSummary
from ui.text import t


# Results are shared by every session and bounded, every job's in one cache of CACHES (keyed by the job and its
# arguments, lib.serve.workers.request_key). They live here: Streamlit executes a page's file afresh on every run,
# so a cache made in the page would be a new, empty one each time (tests/test_pages.py checks that no page makes
# one). A run summary is a few KB; a gradient comparison holds full gradients (up to ~70 MB at the size caps).
CACHE_TTL_S = 3600
RUNS = workers.JobCache(256, CACHE_TTL_S)
GRADIENTS = workers.JobCache(16, CACHE_TTL_S)
OPTIMIZER_COMPARISONS = workers.JobCache(32, CACHE_TTL_S)
EXPERIMENTS = workers.JobCache(32, CACHE_TTL_S)     # held-out points and sine fits
MNIST_MODELS = workers.JobCache(8, CACHE_TTL_S)     # trained MNIST models, a few hundred KB each
CACHES = {
    jobs.train_stage: RUNS, jobs.train_network: RUNS,
    jobs.gradients: GRADIENTS, jobs.network_gradients: GRADIENTS,
    jobs.optimizer_comparison: OPTIMIZER_COMPARISONS,
    jobs.held_out_point: EXPERIMENTS, jobs.sine: EXPERIMENTS,
    jobs.mnist: MNIST_MODELS,
    jobs.mnist_inside: workers.JobCache(32, CACHE_TTL_S),      # one digit's maps and gradients: tens of KB
    **dict.fromkeys((jobs.graph, jobs.network_graph), workers.JobCache(64, CACHE_TTL_S)),   # DOT text, a few KB
    **dict.fromkeys((jobs.histograms, jobs.network_histograms), workers.JobCache(32, CACHE_TTL_S)),  # a few KB
    jobs.landscape: workers.JobCache(32, CACHE_TTL_S),         # 21 × 21 losses and 5 short paths: a few KB
    jobs.device_timing: workers.JobCache(8, CACHE_TTL_S),
}
REDRAW_S = 0.5   # while a run waits or trains, its progress bar is redrawn at least this often ...
SHOWN_AFTER_S = 0.5   # ... once it has taken this long: a quicker run draws no bar (each redraw re-renders the
                      # whole page in the browser: bench/browser.py, 8 redraws of a 0.3 s run cost ~0.3 s of script)


@functools.cache
def server_speed() -> limits.Speed:
    """This server's measured speed (lib.serve.limits.calibrate, once per server process, in a worker; with
    TRAIN_WORKERS=0 in this process)."""
    return workers.run(jobs.calibrate)


class Progress:
    """One progress bar for one or several runs side by side: each run's share fills as its steps come in.

    Runs report through lib.serve.workers' messages; a tick (no news) redraws the bar every REDRAW_S, which lets
    Streamlit stop this page when its visitor moves a slider meanwhile (the runs nobody else waits for are
    then cancelled).
    """

    def __init__(self, place: Callable[[], Any], runs: list[tuple[str, int]]):
        # the bar's element is placed on its first draw (`place()`, e.g. st.empty): a quick run sends the page
        # nothing, not an empty placeholder and its clearing (two deltas the browser redraws the page for)
        self.place, self.bar, self.runs = place, None, runs   # runs: (label, steps) per index
        self.done = [0.0] * len(runs)
        self.text = t("progress.waiting")
        self.step_text = t("progress.step")
        self.done_text = t("progress.done")
        self.drawn = 0.0
        self.started = time.monotonic()

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
        now = time.monotonic()
        if now - self.started < SHOWN_AFTER_S or (message is None and now - self.drawn < REDRAW_S):
            return
        self.drawn = now
        if self.bar is None:
            self.bar = self.place()
        self.bar.progress(sum(self.done) / len(self.done), text=self.text)

    def clear(self) -> None:
        """Take the bar off the page, if it was ever placed."""
        if self.bar is not None:
            self.bar.empty()


def get_many(requests: list[tuple[Callable, tuple]], progress: list[tuple[str, int]] | None = None,
             on_message: Callable[[int, Any], None] | None = None) -> list:
    """The results of (job, args) requests, side by side over the workers, each from its job's cache in CACHES or
    computed into it. `progress` gives each run's (label, steps) for one progress bar; or `on_message(index,
    message)` takes the runs' messages. A job that gave no result comes back as its RunFailed."""
    bar = Progress(st.empty, progress) if progress is not None else None   # placed where the runs' results go
    results = workers.get_many([(cache_of(job), job, args) for job, args in requests], bar or on_message,
                               owner=session_id())
    if bar is not None:
        bar.clear()
    return results


def get(job: Callable, *args, progress: tuple[str, int] | None = None) -> Any:
    """One job's result (cached as get_many's), under a progress bar if `progress` gives its (label, steps);
    RunFailed is raised."""
    outcome = get_many([(job, args)], None if progress is None else [progress])[0]
    if isinstance(outcome, workers.RunFailed):
        raise outcome
    return outcome


def cache_of(job: Callable) -> workers.JobCache:
    try:
        return CACHES[job]
    except KeyError:
        raise KeyError(f"{job.__qualname__} has no cache in ui.runs.CACHES") from None


def session_id() -> str:
    """Who asks for a run: this session, by an id it keeps in its state; the workers are shared fairly between
    sessions (lib.serve.workers.FairQueue)."""
    return st.session_state.setdefault("runs_owner", uuid.uuid4().hex)


def run_stages(requests: list[tuple[str, TrainConfig, bool]], labels: list[str]) -> list[RunSummary]:
    """Several stage runs (stage, config, broken_relu) side by side over the workers, one progress bar."""
    return get_many([(jobs.train_stage, request) for request in requests],
                    [(label, cfg.steps) for label, (_, cfg, _) in zip(labels, requests)])


def cached_gradients(stage: str, config: TrainConfig, step: int, broken_relu: bool,
                     depth: int | None) -> GradientComparison:
    return get(jobs.gradients, stage, config, step, broken_relu, depth)


def train_with_progress(stage: str, cfg: TrainConfig, broken_relu: bool = False) -> RunSummary:
    return get(jobs.train_stage, stage, cfg, broken_relu, progress=(t("progress.training"), cfg.steps))


def run_failed_message(failure: workers.RunFailed) -> str:
    return t(failure.code, limit=workers.time_limit_s())


def time_limit_message(ran: int, steps: int) -> str:
    return t("limits.stopped", ran=ran, steps=steps, limit=workers.time_limit_s())
