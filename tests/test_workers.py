"""lib.serve.workers: runs in worker processes reproduce in-process runs under concurrency, report progress, keep to the
time limit (stopping by themselves, or ended and replaced), and a run nobody waits for any more is cancelled."""
import os
import threading
import time
from pathlib import Path

import pytest

from lib.digits import mnist

from lib.serve import jobs, limits, workers
from lib.tutorial.config import STAGE_NAMES, default_config
from lib.tutorial.stages import run_stage

SMALL = dict(n=16, d_in=50, hidden=20, d_out=5, steps=60)
MNIST_ROOT = str(Path(__file__).resolve().parents[2] / "shared" / "data")


# jobs only these tests need; workers import this module by name, like lib.serve.jobs
def sleeper(seconds, *, progress, time_limit_s):
    """Ignores its time limit, as a run stuck in one long step would."""
    progress(("steps", 0, [1.0]))
    time.sleep(seconds)
    return os.getpid()


def napper(seconds, *, progress, time_limit_s):
    start = time.time()
    time.sleep(seconds)
    return start


def own_nice(seconds, *, progress, time_limit_s):
    """The nice value of the thread that runs this job after `seconds`, and the worker's pid."""
    time.sleep(seconds)
    return os.getpid(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def started_and_nice(seconds, *, progress, time_limit_s):
    """When this job started (CLOCK_MONOTONIC is one clock for every process) and its thread's nice value at once
    and after `seconds`."""
    start = time.monotonic()
    at_start = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    time.sleep(seconds)
    return start, at_start, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def failing(*, progress, time_limit_s):
    raise ValueError("a job that fails")


def test_a_worker_run_is_the_in_process_run_and_its_progress_is_every_loss():
    cfg = default_config("tensors").with_(**SMALL)
    messages = []
    summary = workers.run(jobs.train_stage, "tensors", cfg, on_message=messages.append)
    assert summary.losses == tuple(run_stage("tensors", cfg).losses)
    sent = [loss for m in messages if m is not None and m[0] == "steps" for loss in m[2]]
    assert sent == list(summary.losses)
    assert [m[1] for m in messages if m is not None and m[0] == "steps"][0] == 0


def test_the_same_seed_gives_the_same_numbers_in_8_threads_at_once():
    cfg = default_config("autograd").with_(**SMALL)
    expected = run_stage("autograd", cfg).losses
    results = [None] * 8

    def work(i):
        results[i] = workers.run(jobs.train_stage, "autograd", cfg).losses
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(list(r) == expected for r in results)


def test_different_stages_and_mnist_at_once_each_match_their_serial_run():
    """Runs of every stage and an MNIST training side by side: no run shifts another's random numbers."""
    configs = {stage: default_config(stage).with_(**SMALL) for stage in STAGE_NAMES}
    expected = {stage: run_stage(stage, cfg).losses for stage, cfg in configs.items()}
    data = mnist.load_mnist(MNIST_ROOT, download=False)
    mnist_cfg = mnist.MnistConfig(epochs=1, batch_size=256)
    mnist_expected = mnist.train_mnist(data, mnist_cfg).batch_losses
    got = {}

    def stage_work(stage):
        got[stage] = list(workers.run(jobs.train_stage, stage, configs[stage]).losses)

    def mnist_work():
        got["mnist"] = workers.run(jobs.mnist, mnist_cfg, MNIST_ROOT).result.batch_losses
    threads = [threading.Thread(target=stage_work, args=(s,)) for s in STAGE_NAMES * 2]
    threads.insert(3, threading.Thread(target=mnist_work))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert {stage: got[stage] for stage in STAGE_NAMES} == expected
    assert got["mnist"] == mnist_expected


def test_a_run_stops_itself_at_the_time_limit_and_keeps_what_it_computed(monkeypatch):
    monkeypatch.setenv(workers.TIME_LIMIT_ENV, "0.5")
    big = default_config("dynamic_net").with_(n=1024, d_in=1, hidden=1024, d_out=1, steps=1093)
    start = time.perf_counter()
    summary = workers.run(jobs.train_stage, "dynamic_net", big)
    assert time.perf_counter() - start < 0.5 + workers.KILL_GRACE_S
    assert summary.time_limited_at is not None and summary.time_limited_at == len(summary.losses) < 1093
    assert summary.diverged_at is None


def test_a_run_past_its_limit_is_ended_and_its_worker_replaced_while_others_go_on(monkeypatch):
    monkeypatch.setattr(workers, "KILL_GRACE_S", 0.5)
    monkeypatch.setenv(workers.TIME_LIMIT_ENV, "0.5")
    stuck = workers.Job(sleeper, (30,))
    cfg = default_config("tensors").with_(**SMALL)
    assert workers.run(jobs.train_stage, "tensors", cfg).losses == tuple(run_stage("tensors", cfg).losses)
    start = time.perf_counter()
    outcome = []
    workers.wait_jobs({0: stuck}, on_done=lambda i, value: outcome.append(value))
    assert time.perf_counter() - start < 5
    assert isinstance(outcome[0], workers.RunFailed) and outcome[0].code == "run.killed_time"
    assert outcome[0].messages == [("steps", 0, [1.0])]          # what it sent before it was ended
    monkeypatch.setenv(workers.TIME_LIMIT_ENV, "30")
    assert isinstance(workers.run(jobs.ping), int)               # the pool answers: a fresh worker took over


def test_a_session_with_many_runs_leaves_a_worker_for_another_session():
    """One student's sweep takes all workers but one; another student's run starts at once, not after it."""
    workers_n = workers.worker_count()
    warm = [workers.Job(napper, (0.2,), owner=i) for i in range(workers_n)]   # every worker up and idle
    workers.wait_jobs(dict(enumerate(warm)))
    sent = time.time()
    sweep = [workers.Job(napper, (0.4,), owner="student A") for _ in range(3 * workers_n)]
    time.sleep(0.3)
    asked = time.time()
    other = workers.Job(napper, (0.1,), owner="student B")
    starts = {}
    workers.wait_jobs({i: job for i, job in enumerate(sweep + [other])},
                      on_done=lambda i, value: starts.__setitem__(i, value))
    sweep_starts = sorted(starts[i] for i in range(len(sweep)))
    assert starts[len(sweep)] - asked < 0.3                        # no wait for a sweep run to end
    assert sweep_starts[0] - sent < 0.3                            # the sweep itself started at once
    concurrent = max(sum(s <= t < s + 0.4 for s in sweep_starts) for t in sweep_starts)
    assert concurrent == max(1, workers_n - 1)                     # all workers but one


def test_a_pages_next_run_keeps_its_place_in_line():
    """A page asks for its runs one after another: its next run goes before the runs of pages that came later."""
    workers_n = workers.worker_count()
    warm = [workers.Job(napper, (0.2,), owner=i) for i in range(workers_n)]   # every worker up and idle
    workers.wait_jobs(dict(enumerate(warm)))
    first = workers.Job(napper, (0.2,), owner="page A")
    time.sleep(0.05)
    later = [workers.Job(napper, (0.6,), owner=f"page {i}") for i in range(workers_n + 2)]   # some must wait
    starts = {}

    def done(i, value):
        starts[i] = value
        if i == "first":   # the page's next run, as soon as its first is in
            jobs_[("next",)] = workers.Job(napper, (0.1,), owner="page A")
    jobs_ = {"first": first, **{i: job for i, job in enumerate(later)}}
    workers.wait_jobs(jobs_, on_done=done)
    workers.wait_jobs({("next",): jobs_[("next",)]}, on_done=done)
    # the worker page A freed went at once to a waiting page; the next free one is page A's, before the two
    # pages still waiting (first come, first served would have put page A's run after all of them)
    assert sum(starts[i] > starts[("next",)] for i in range(len(later))) == 2


def test_a_job_that_raises_gives_a_run_failed_with_its_message():
    with pytest.raises(workers.RunFailed) as info:
        workers.run(failing)
    assert info.value.code == "run.error" and "a job that fails" in info.value.detail


def test_a_job_two_sessions_ask_for_runs_once_and_an_abandoned_one_is_cancelled():
    cache = workers.JobCache(4)
    job = cache.start("key", sleeper, (30,))
    assert cache.start("key", sleeper, (30,)) is job and job.waiters == 2   # the second session joins it
    cache.finish("key", job)
    assert not job.future.cancelled()                                        # one still waits
    cache.finish("key", job)
    assert job.future.cancelled() or job.future.done()                       # nobody does: cancelled
    outcome = []
    workers.wait_jobs({0: job}, on_done=lambda i, value: outcome.append(value))
    assert outcome[0].code == "run.cancelled"


def test_the_cache_answers_a_second_time_without_a_job():
    cache = workers.JobCache(4)
    cfg = default_config("tensors").with_(**SMALL)
    first = cache.get(("t", cfg), jobs.train_stage, ("tensors", cfg))
    hit, value = cache.cached(("t", cfg))
    assert hit and value is first


# ---------------------------------------------------------------- the cost model behind the sliders
SPEED = limits.Speed(macs_per_s={"float32": 1e10, "float64": 5e9},
                     step_overhead_s={stage: 1e-4 for stage in STAGE_NAMES}, init_s_per_param=1e-8)


def test_run_seconds_counts_every_layer_and_dynamic_nets_middle_layer_per_use():
    sizes = dict(n=1024, d_in=1, hidden=1024, d_out=1)
    plain = limits.run_seconds(SPEED, "custom_module", steps=100, **sizes)
    dynamic = limits.run_seconds(SPEED, "dynamic_net", steps=100, seed=0, **sizes)
    uses = sum(limits.depth_draws(0, 100))
    extra = 3 * uses * 1024 * 1024 * 1024 / 1e10 + 1e-8 * 1024 * 1024
    assert dynamic - plain == pytest.approx(extra, rel=1e-9)
    assert limits.run_seconds(SPEED, "tensors", dtype="float64", steps=10, **sizes) > \
        limits.run_seconds(SPEED, "tensors", steps=10, **sizes)


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_max_steps_is_the_last_step_count_that_fits(stage):
    sizes = dict(n=512, d_in=1000, hidden=512, d_out=10)
    steps = limits.max_steps(SPEED, 2.0, stage, seed=3, **sizes)
    assert 1 <= steps < 2000
    assert limits.run_seconds(SPEED, stage, steps=steps, seed=3, **sizes) <= 2.0
    assert limits.run_seconds(SPEED, stage, steps=steps + 1, seed=3, **sizes) > 2.0


def test_depth_draws_are_the_ones_training_makes():
    cfg = default_config("dynamic_net").with_(**SMALL, seed=5)
    assert limits.depth_draws(5, SMALL["steps"]) == run_stage("dynamic_net", cfg).depths


def test_the_calibration_measures_this_machine():
    speed = workers.run(jobs.calibrate)
    assert set(speed.step_overhead_s) == set(STAGE_NAMES)
    assert speed.macs_per_s["float32"] > 1e8 and speed.macs_per_s["float64"] > 1e8
    assert 0 < min(speed.step_overhead_s.values()) < 0.05


FIRST_OPTIMIZER = """
import importlib, sys, time, torch
from lib.serve.workers import PRELOAD
for name in PRELOAD:
    importlib.import_module(name)
from lib.tutorial.config import TrainConfig
from lib.tutorial.optimizers import OPTIMIZERS, make_optimizer
before = set(sys.modules)
start = time.perf_counter()
for name in OPTIMIZERS:
    for fused in (False, True):
        make_optimizer(torch.nn.Linear(2, 2).parameters(), TrainConfig(optimizer=name), fused=fused)
print(time.perf_counter() - start)
print(" ".join(sorted(m for m in set(sys.modules) - before if m.startswith("torch"))))
"""


def test_a_fresh_worker_builds_its_first_optimizer_without_importing_more_of_torch():
    """torch.optim imports torch._dynamo when the first optimizer is built (seconds); the forkserver preloads it."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", FIRST_OPTIMIZER], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    seconds, imported = (done.stdout.splitlines() + [""])[:2]
    assert imported == "", f"first optimizer imported {imported[:300]}"
    assert float(seconds) < 0.5


def test_workers_keep_big_blocks_in_their_heap():
    """glibc's mallopt took lib.serve.workers' thresholds in the workers (this machine runs glibc), one torch thread."""
    settings = workers.run(jobs.worker_settings)
    assert settings["allocator_tuned"] is True
    assert settings["threads"] == 1 and settings["pid"] != os.getpid()


def test_a_long_run_gives_way_and_the_workers_next_run_starts_at_the_normal_priority():
    """A job still running after DEMOTE_AFTER_S runs DEMOTED_NICE nicer; a short one, and the next job of the same
    worker, run at the server's own nice value (Linux keeps one per thread)."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    pid, nice = workers.run(own_nice, workers.DEMOTE_AFTER_S + 3 * workers.JOIN_S)
    assert nice == min(19, base + workers.DEMOTED_NICE)
    assert workers.run(own_nice, 0.0)[1] == base
    for _ in range(50):   # the pool hands a job to whichever worker is free: ask until the demoted one answers
        again, nice = workers.run(own_nice, 0.0)
        if again == pid:
            break
    assert again == pid and nice == base


def test_a_pages_runs_give_way_together_once_the_first_has_run_its_time():
    """get_many's runs are one batch: a run that starts DEMOTE_AFTER_S after the first started starts demoted, and
    ones before it run at the normal priority until then (a sweep's later runs give way at once)."""
    base, demoted = os.getpriority(os.PRIO_PROCESS, 0), min(19, os.getpriority(os.PRIO_PROCESS, 0) + workers.DEMOTED_NICE)
    wave = max(1, workers.worker_count() - 1)   # one session's runs at once (FairQueue leaves a worker free)
    after, seconds, margin = workers.DEMOTE_AFTER_S, 0.6 * workers.DEMOTE_AFTER_S, 0.2 * workers.DEMOTE_AFTER_S
    cache = workers.JobCache(16)
    outcomes = cache.get_many([(("nice", i), started_and_nice, (seconds,), None) for i in range(4 * wave)],
                              owner="one page")
    first = min(start for start, _, _ in outcomes)
    early = [(at_start, end) for start, at_start, end in outcomes if start + seconds < first + after - margin]
    late = [(at_start, end) for start, at_start, end in outcomes if start >= first + after + margin]
    assert early and all(nice == (base, base) for nice in early)     # over before the batch's time was up
    assert late and all(nice == (demoted, demoted) for nice in late)  # started after it
