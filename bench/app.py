"""Page speed through Streamlit's AppTest: first render, re-render of a setting already seen, Compare cold.

Run from the repository root: python bench/app.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import ui.runs  # noqa: E402
from lib.serve import workers  # noqa: E402
from lib.serve import jobs
from lib.tutorial.stages import STAGE_NAMES  # noqa: E402

APP = str(ROOT / "app.py")
TARGETS = {"first render": 1.5, "re-render (seen)": 0.3, "compare cold": 6.0}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def checked(at: AppTest) -> AppTest:
    if at.exception:
        raise SystemExit(f"page raised: {[e.value for e in at.exception]}")
    return at


def clear_caches() -> None:
    """Forget every finished run, as a fresh server would (the workers stay up, as on a server)."""
    for cache in (ui.runs.RUNS, ui.runs.GRADIENTS):
        cache._done.clear()


def measure_stage(stage: str) -> tuple[float, float]:
    clear_caches()
    at = checked(AppTest.from_file(APP, default_timeout=300).run())
    first = timed(lambda: checked(at.switch_page(f"pages/{stage}.py").run()))
    checked(at.slider(key="n").set_value(32).run())
    again = timed(lambda: checked(at.slider(key="n").set_value(64).run()))
    return first, again


def measure_compare() -> float:
    clear_caches()
    at = checked(AppTest.from_file(APP, default_timeout=300).run())
    return timed(lambda: checked(at.switch_page("pages/compare.py").run()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))   # what app.py sets on its first run
    # a server that is up: its workers started and calibrated (scripts/launch.py does this before serving)
    ui.runs.server_speed()
    for _ in range(workers.worker_count()):
        workers.run(jobs.ping)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, {workers.worker_count()} "
          f"training workers, median of {args.repeats} runs, seconds\n")
    print("| page | first render | re-render (seen) |")
    print("|---|---|---|")
    worst = {"first render": 0.0, "re-render (seen)": 0.0}
    for stage in STAGE_NAMES:
        runs = [measure_stage(stage) for _ in range(args.repeats)]
        first = statistics.median(r[0] for r in runs)
        again = statistics.median(r[1] for r in runs)
        worst["first render"] = max(worst["first render"], first)
        worst["re-render (seen)"] = max(worst["re-render (seen)"], again)
        print(f"| {stage} | {first:.2f} | {again:.2f} |")
    compare = statistics.median(measure_compare() for _ in range(args.repeats))
    print(f"| compare (all seven, cold) | {compare:.2f} | |\n")
    results = {**worst, "compare cold": compare}
    for name, target in TARGETS.items():
        verdict = "PASS" if results[name] <= target else "FAIL"
        print(f"{name}: worst {results[name]:.2f} s, target <= {target} s: {verdict}")


if __name__ == "__main__":
    main()
