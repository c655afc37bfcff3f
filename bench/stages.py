"""Time run_stage against the tutorial's plain loop (tests/reference.py) at the tutorial's settings, per stage.

Run from the repo root: /work/venv/bin/python bench/stages.py [--repeats 7] [--threads 1] [stage ...]
Both run in this process, alternating, after one warm-up each; the table gives medians and lib / tutorial.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lib.tutorial.config import STAGE_NAMES, default_config  # noqa: E402
from lib.tutorial.stages import run_stage  # noqa: E402
from tests.reference import run_reference  # noqa: E402

TARGET_RATIO = 1.10   # run_stage may cost at most 10% more than the tutorial's own loop


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_stage(stage, repeats):
    config = default_config(stage)
    lib_run = lambda: run_stage(stage, config)            # noqa: E731
    tutorial_run = lambda: run_reference(stage, config)   # noqa: E731
    lib_run(), tutorial_run()                             # warm-up: first-call costs (kernels, optimizer setup)
    lib_times, tutorial_times = [], []
    for i in range(repeats):
        # alternate which goes first, so a slow spell on the shared machine falls on both sides
        order = [(lib_run, lib_times), (tutorial_run, tutorial_times)]
        for fn, times in order if i % 2 == 0 else reversed(order):
            times.append(seconds(fn))
    return statistics.median(lib_times), statistics.median(tutorial_times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stages", nargs="*", help=f"some of {', '.join(STAGE_NAMES)} (default: all)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads, 1 as app.py sets it; 0 keeps torch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if unknown := set(args.stages) - set(STAGE_NAMES):
        parser.error(f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {', '.join(STAGE_NAMES)}")

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.repeats} repeats after one "
          f"warm-up, medians; target lib / tutorial <= {TARGET_RATIO:.2f}\n")
    print("| stage | run_stage (s) | tutorial loop (s) | ratio | target |")
    print("|---|---:|---:|---:|:---:|")
    failed = []
    for stage in args.stages or STAGE_NAMES:
        lib_s, tutorial_s = bench_stage(stage, args.repeats)
        ratio = lib_s / tutorial_s
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        if verdict == "FAIL":
            failed.append(stage)
        print(f"| {stage} | {lib_s:.3f} | {tutorial_s:.3f} | {ratio:.3f} | {verdict} |", flush=True)
    if failed:
        print(f"\nover the target: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
