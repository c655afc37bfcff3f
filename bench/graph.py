"""Issue 11's speeds: building the graph autograd records (lib/tutorial/graph.py), per stage at the tutorial's sizes
(target ≤ 0.2 s); one step-mode click (lib/tutorial/step_mode.py, target ≤ 0.2 s); the loss landscape (lib/explore/landscape.py,
41×41 at the tutorial's size, target ≤ 3 s).

"build" is the forward pass + torchviz at given parameters; "job" is what the page's worker runs for step 0
(training up to the step, then the build). A click is the phase's lib call plus writing out the chosen entry.
Run from the repository root: python bench/graph.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lib.tutorial import step_mode as sm  # noqa: E402
from lib.tutorial.config import STAGE_NAMES, default_config  # noqa: E402
from lib.tutorial.graph import autograd_graph, graph_at_step  # noqa: E402
from lib.explore.landscape import GRID_MAX, loss_landscape  # noqa: E402
from lib.tutorial.stages import run_stage  # noqa: E402

TARGET_S = 0.2
CLICK_TARGET_S = 0.2
LANDSCAPE_TARGET_S = 3.0


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def click(state: sm.StepState) -> sm.StepState:
    """One click of the step page's lib work: the next phase, then the chosen entry written out."""
    state = {"forward": sm.forward, "backward": sm.backward, "update": sm.update}[sm.next_phase(state)](state)
    name = "loss" if state.phase == "forward" else "grad_w1" if state.phase == "backward" else "w1"
    sm.expand_entry(state, name, 0, 0)
    return state


def bench_clicks(repeats: int) -> None:
    for settings in (sm.StepSettings(), sm.StepSettings(n=8, d_in=8, hidden=8, d_out=8)):
        for phase in ("forward", "backward", "update"):
            def one():
                state = sm.init(settings)
                while sm.next_phase(state) != phase:
                    state = click(state)
                start = time.perf_counter()
                click(state)
                return time.perf_counter() - start
            times = [one() for _ in range(repeats)]
            verdict = "ok" if min(times) <= CLICK_TARGET_S else "SLOW"
            print(f"step-mode click {phase:8s} N={settings.n} D_IN={settings.d_in} H={settings.hidden} "
                  f"D_OUT={settings.d_out}: best {min(times) * 1e3:6.2f} ms (median {statistics.median(times) * 1e3:6.2f})"
                  f"  [target {CLICK_TARGET_S * 1e3:.0f} ms: {verdict}]")


def bench_landscape(repeats: int) -> None:
    cfg = default_config("optim")
    for k in (1, 20):
        took = best(lambda: loss_landscape(cfg, k, grid=GRID_MAX), repeats)
        verdict = "ok" if took[0] <= LANDSCAPE_TARGET_S else "SLOW"
        print(f"landscape {GRID_MAX}x{GRID_MAX}, k={k:2d} steps x 5 optimizers, tutorial size: best {took[0]:.2f} s "
              f"(median {took[1]:.2f})  [target {LANDSCAPE_TARGET_S:.0f} s: {verdict}]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)   # as app.py and the workers
    import torchviz  # noqa: F401  (a worker imports it once; its first import is no part of a graph's cost)
    for stage in STAGE_NAMES:
        cfg = default_config(stage)
        for show_saved in (False, True):
            if stage == "tensors":
                build = best(lambda: graph_at_step(stage, cfg, 0), args.repeats)
            else:
                run = run_stage(stage, cfg, stop_at=0)
                build = best(lambda: autograd_graph(stage, cfg, run.params, run.x, run.y, 3, False, show_saved),
                             args.repeats)
            job = best(lambda: graph_at_step(stage, cfg, 0, depth=3, show_saved=show_saved), args.repeats)
            verdict = "ok" if build[0] <= TARGET_S else "SLOW"
            print(f"{stage:16s} saved={show_saved!s:5s} build best {build[0] * 1e3:7.1f} ms "
                  f"(median {build[1] * 1e3:7.1f}) · job at step 0 best {job[0] * 1e3:7.1f} ms  "
                  f"[target {TARGET_S * 1e3:.0f} ms: {verdict}]", flush=True)
    bench_clicks(args.repeats)
    bench_landscape(args.repeats)


if __name__ == "__main__":
    main()
