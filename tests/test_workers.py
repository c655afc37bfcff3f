"""lib.serve.workers: runs in worker processes reproduce in-process runs under concurrency, report progress, keep to the
time limit (stopping by themselves, or ended and replaced), and a run nobody waits for any more is cancelled."""
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lib.digits import mnist_data, mnist_models, mnist_training

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


def nap_span(seconds, *, progress, time_limit_s):
    """When the nap began and ended, on the clock every process shares: runs on one worker never overlap."""
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def failing(*, progress, time_limit_s):
    raise ValueError("a job that fails")


@pytest.mark.slow
def test_a_worker_run_is_the_in_process_run_and_its_progress_is_every_loss():
    cfg = default_config("tensors").with_(**SMALL)
    messages = []
    summary = workers.run(jobs.train_stage, "tensors", cfg, on_message=messages.append)
    assert summary.losses == tuple(run_stage("tensors", cfg).losses)
    sent = [loss for m in messages if m is not None and m[0] == "steps" for loss in m[2]]
    assert sent == list(summary.losses)
    assert [m[1] for m in messages if m is not None and m[0] == "steps"][0] == 0


@pytest.mark.slow
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


@pytest.mark.slow
def test_different_stages_and_mnist_at_once_each_match_their_serial_run():
    """Runs of every stage and an MNIST training side by side: no run shifts another's random numbers."""
    configs = {stage: default_config(stage).with_(**SMALL) for stage in STAGE_NAMES}
    expected = {stage: run_stage(stage, cfg).losses for stage, cfg in configs.items()}
    data = mnist_data.load_mnist(MNIST_ROOT, download=False)
    mnist_cfg = mnist_models.MnistConfig(epochs=1, batch_size=256)
    mnist_expected = mnist_training.train_mnist(data, mnist_cfg).batch_losses
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


@pytest.mark.slow
def test_a_run_stops_itself_at_the_time_limit_and_keeps_what_it_computed(monkeypatch):
    monkeypatch.setenv(workers.TIME_LIMIT_ENV, "0.5")
    big = default_config("dynamic_net").with_(n=1024, d_in=1, hidden=1024, d_out=1, steps=1093)
    start = time.perf_counter()
    summary = workers.run(jobs.train_stage, "dynamic_net", big)
    assert time.perf_counter() - start < 0.5 + workers.KILL_GRACE_S
    assert summary.time_limited_at is not None and summary.time_limited_at == len(summary.losses) < 1093
    assert summary.diverged_at is None


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_session_with_many_runs_leaves_a_worker_for_another_session():
    """One student's sweep takes all workers but one; another student's run starts at once, not after it."""
    workers_n = workers.worker_count()
    warm = [workers.Job(napper, (0.2,), owner=i) for i in range(workers_n)]   # every worker up and idle
    workers.wait_jobs(dict(enumerate(warm)))
    sweep = [workers.Job(nap_span, (0.4,), owner="student A") for _ in range(3 * workers_n)]
    assert sum(job.started for job in sweep) == max(1, workers_n - 1)   # the sweep itself started at once
    time.sleep(0.3)
    other = workers.Job(nap_span, (0.1,), owner="student B")
    assert other.started                                           # no wait for a sweep run to end
    spans = {}
    workers.wait_jobs({i: job for i, job in enumerate(sweep + [other])},
                      on_done=lambda i, value: spans.__setitem__(i, value))
    sweep_spans = sorted(spans[i] for i in range(len(sweep)))
    assert sweep_spans[0][0] < spans[len(sweep)][0] < sweep_spans[-1][1]   # it ran beside the sweep, not after
    concurrent = max(sum(start <= t < end for start, end in sweep_spans) for t, _ in sweep_spans)
    assert concurrent == max(1, workers_n - 1)                     # all workers but one


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_job_that_raises_gives_a_run_failed_with_its_message():
    with pytest.raises(workers.RunFailed) as info:
        workers.run(failing)
    assert info.value.code == "run.error" and "a job that fails" in info.value.detail


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_cache_answers_a_second_time_without_a_job():
    cache = workers.JobCache(4)
    cfg = default_config("tensors").with_(**SMALL)
    first = cache.get(jobs.train_stage, "tensors", cfg)
    hit, value = cache.cached(workers.request_key(jobs.train_stage, ("tensors", cfg)))
    assert hit and value is first


def test_a_request_key_is_the_job_and_its_arguments_with_tensors_by_their_contents():
    import torch
    cfg = default_config("tensors")
    key = workers.request_key
    assert key(jobs.train_stage, ("tensors", cfg, False)) == key(jobs.train_stage, ("tensors", cfg.with_(), False))
    assert key(jobs.train_stage, ("tensors", cfg, False)) != key(jobs.train_stage, ("tensors", cfg, True))
    assert key(jobs.gradients, (cfg, 0)) != key(jobs.network_gradients, (cfg, 0))   # one cache, two jobs
    state = {"w": torch.ones(2, 3)}
    assert key(jobs.mnist_inside, (cfg, state, torch.zeros(4))) == key(jobs.mnist_inside, (cfg, {"w": torch.ones(2, 3)},
                                                                                          torch.zeros(4)))
    assert key(jobs.mnist_inside, (cfg, state, torch.zeros(4))) != key(jobs.mnist_inside, (cfg, state, torch.eye(2)))
    assert key(jobs.mnist_inside, (cfg, {"w": torch.ones(3, 2)}, torch.zeros(4))) != \
        key(jobs.mnist_inside, (cfg, state, torch.zeros(4)))
    with pytest.raises(TypeError):
        key(jobs.sine, ({1, 2},))   # no key for an argument that can change


def test_every_job_a_page_can_ask_for_has_one_cache():
    import inspect

    from ui import runs
    asked = {fn for name, fn in inspect.getmembers(jobs, inspect.isfunction)
             if fn.__module__ == jobs.__name__ and "progress" in inspect.signature(fn).parameters}
    assert asked - set(runs.CACHES) == {jobs.ping, jobs.worker_settings, jobs.calibrate}   # run uncached
    assert set(runs.CACHES) <= asked



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


@pytest.mark.slow
def test_the_calibration_measures_this_machine():
    start = time.perf_counter()
    speed = workers.run(jobs.calibrate)
    took = time.perf_counter() - start
    assert set(speed.step_overhead_s) == set(STAGE_NAMES)
    assert speed.macs_per_s["float32"] > 1e8 and speed.macs_per_s["float64"] > 1e8
    # seconds per step, not per run: every stage ran its CALIBRATION_STEPS steps twice within the calibration's time
    assert 0 < min(speed.step_overhead_s.values())
    assert 2 * limits.CALIBRATION_STEPS * sum(speed.step_overhead_s.values()) < took


FIRST_OPTIMIZER = """
import importlib, sys, torch
from lib.serve.workers import PRELOAD
for name in PRELOAD:
    importlib.import_module(name)
from lib.tutorial.config import TrainConfig
from lib.tutorial.optimizers import OPTIMIZERS, make_optimizer
before = set(sys.modules)
for name in OPTIMIZERS:
    for fused in (False, True):
        make_optimizer(torch.nn.Linear(2, 2).parameters(), TrainConfig(optimizer=name), fused=fused)
print(" ".join(sorted(m for m in set(sys.modules) - before if m.startswith("torch"))))
"""


@pytest.mark.slow
def test_a_fresh_worker_builds_its_first_optimizer_without_importing_more_of_torch():
    """torch.optim imports torch._dynamo when the first optimizer is built (seconds: bench/first_optimizer.py); the
    forkserver preloads it."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", FIRST_OPTIMIZER], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    imported = done.stdout.strip()
    assert imported == "", f"first optimizer imported {imported[:300]}"


ALLOCATOR = """
import sys
sys.path.insert(0, {root!r})
from lib.serve import workers
print(workers.allocator_tuned())
"""


@pytest.mark.slow
def test_workers_keep_big_blocks_in_their_heap():
    """The workers start with lib.serve.workers' GLIBC_TUNABLES (this machine runs glibc), and their malloc keeps a
    block of half the threshold in its heap, which a process started without them maps fresh; one torch thread."""
    import subprocess
    import sys
    settings = workers.run(jobs.worker_settings)
    assert settings["tunables"].split(":")[-2:] == [f"glibc.malloc.mmap_threshold={32 * 2**20}",
                                                    f"glibc.malloc.trim_threshold={64 * 2**20}"]   # the last word
    assert settings["allocator_tuned"] is True
    assert settings["threads"] == 1 and settings["pid"] != os.getpid()
    assert os.environ.get(workers.TUNABLES_ENV) != settings["tunables"]   # the server's own environment is left as it was
    root = str(Path(__file__).resolve().parents[1])
    environ = {k: v for k, v in os.environ.items() if k != workers.TUNABLES_ENV}
    for tunables, tuned in ((None, "False"), (workers.TUNABLES, "True")):
        env = environ if tunables is None else {**environ, workers.TUNABLES_ENV: tunables}
        done = subprocess.run([sys.executable, "-c", ALLOCATOR.format(root=root)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.stdout.strip() == tuned, done.stderr[-2000:]


# ---------------------------------------------------------------- TRAIN_WORKERS=0: the same call, in this thread
def whose_thread(*, progress, time_limit_s):
    progress(("thread", threading.get_ident()))
    return os.getpid(), threading.get_ident()


@pytest.mark.slow
def test_with_no_workers_a_job_runs_in_the_asking_thread_with_its_progress_and_the_same_numbers(monkeypatch):
    cfg = default_config("tensors").with_(**SMALL)
    in_worker = workers.run(jobs.train_stage, "tensors", cfg)
    monkeypatch.setenv(workers.WORKERS_ENV, "0")
    monkeypatch.setattr(workers, "pool", lambda: pytest.fail("TRAIN_WORKERS=0 started the pool"))
    messages = []
    summary = workers.run(jobs.train_stage, "tensors", cfg, on_message=messages.append)
    untimed = dict(elapsed_s=0.0)
    assert replace(summary, **untimed) == replace(in_worker, **untimed)
    assert summary.losses == tuple(run_stage("tensors", cfg).losses)
    sent = [loss for m in messages if m is not None and m[0] == "steps" for loss in m[2]]
    assert sent == list(summary.losses)                                  # progress came as in a worker
    heard = []
    assert workers.run(whose_thread, on_message=heard.append) == (os.getpid(), threading.get_ident())
    assert heard == [("thread", threading.get_ident()), ("done",)]
    with pytest.raises(workers.RunFailed) as info:                       # a failure is a RunFailed, as from a worker
        workers.run(failing)
    assert info.value.code == "run.error" and "a job that fails" in info.value.detail


def test_with_no_workers_a_run_still_stops_itself_at_the_time_limit(monkeypatch):
    monkeypatch.setenv(workers.WORKERS_ENV, "0")
    monkeypatch.setenv(workers.TIME_LIMIT_ENV, "0.5")
    big = default_config("dynamic_net").with_(n=1024, d_in=1, hidden=1024, d_out=1, steps=1093)
    summary = workers.run(jobs.train_stage, "dynamic_net", big)
    assert summary.time_limited_at is not None and summary.time_limited_at == len(summary.losses) < 1093


def test_with_no_workers_the_cache_keeps_the_result_and_a_request_from_two_threads_runs_once(monkeypatch):
    monkeypatch.setenv(workers.WORKERS_ENV, "0")
    cache = workers.JobCache(4)
    cfg = default_config("tensors").with_(**SMALL)
    calls = []
    real = jobs.train_stage

    def counted(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(0.3)   # the second thread asks while the first runs it
        return real(*args, **kwargs)
    counted.__module__, counted.__qualname__ = "tests.test_workers", "counted"
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(counted, "tensors", cfg))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(calls) == 1 and len(results) == 2 and results[0] == results[1]
    assert cache.get(counted, "tensors", cfg) == results[0] and len(calls) == 1   # from the cache


@pytest.mark.slow
def test_a_page_shows_the_same_numbers_with_its_runs_in_workers_and_in_its_own_process(monkeypatch):
    """Stage 1 and its gradients tab, once through the workers, once with TRAIN_WORKERS=0 (no pool at all): every
    number shown is the same (but the training time)."""
    import json

    from streamlit.testing.v1 import AppTest

    from lib.text import i18n
    from tests.page_support import open_stage_tab
    from ui import runs

    def shown() -> dict:
        for cache in set(runs.CACHES.values()):   # nothing cached: every run runs again
            cache._done.clear()
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120).run()
        at.switch_page("pages/tensors.py").run()
        assert not at.exception, [e.value for e in at.exception]
        numbers = {"metrics": [(m.label, m.value) for m in at.metric if m.label != i18n.EN["metric.time"]],
                   "loss": [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart") if c.key == "loss_chart"]}
        open_stage_tab(at, "gradients")
        numbers["gradients"] = at.dataframe[0].value.to_dict("list")
        numbers["heatmap"] = [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart") if c.key == "grad_heatmap"]
        return numbers

    in_workers = shown()
    monkeypatch.setenv(workers.WORKERS_ENV, "0")
    monkeypatch.setattr(workers, "pool", lambda: pytest.fail("TRAIN_WORKERS=0 started the pool"))
    in_process = shown()
    assert in_workers["metrics"] and in_workers["loss"] and in_workers["gradients"] and in_workers["heatmap"]
    assert in_process == in_workers
