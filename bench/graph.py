"""Building the graph autograd records (lib/graph.py), per stage at the tutorial's sizes: target ≤ 0.2 s.

"build" is the forward pass + torchviz at given parameters; "job" is what the page's worker runs for step 0
(training up to the step, then the build). Run from the repository root: python bench/graph.py [--repeats 5]
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

from lib.config import STAGE_NAMES, default_config  # noqa: E402
from lib.graph import autograd_graph, graph_at_step  # noqa: E402
from lib.stages import run_stage  # noqa: E402

TARGET_S = 0.2


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


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
                  f"[target {TARGET_S * 1e3:.0f} ms: {verdict}]")


if __name__ == "__main__":
    main()
