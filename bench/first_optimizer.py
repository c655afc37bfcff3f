"""Time a fresh process building its first optimizer of every kind, with and without the workers' PRELOAD.

Run from the repo root: .venv/bin/python bench/first_optimizer.py [--repeats 3]
torch.optim imports torch._dynamo when the first optimizer is built; a worker has it preloaded by the forkserver
(lib.serve.workers.PRELOAD), so its first run pays none of it. tests/test_workers.py checks that nothing more of
torch is imported then; this prints what that saves.
"""
import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_OPTIMIZER = """
import importlib, sys, time, torch
from lib.serve.workers import PRELOAD
if {preload}:
    for name in PRELOAD:
        importlib.import_module(name)
from lib.tutorial.config import TrainConfig
from lib.tutorial.optimizers import OPTIMIZERS, make_optimizer
start = time.perf_counter()
for name in OPTIMIZERS:
    for fused in (False, True):
        make_optimizer(torch.nn.Linear(2, 2).parameters(), TrainConfig(optimizer=name), fused=fused)
print(time.perf_counter() - start)
"""


def first_optimizer_s(preload: bool) -> float:
    done = subprocess.run([sys.executable, "-c", FIRST_OPTIMIZER.format(preload=preload)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, check=True)
    return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for preload in (True, False):
        times = [first_optimizer_s(preload) for _ in range(args.repeats)]
        label = "with PRELOAD (a worker)" if preload else "without (a plain process)"
        print(f"first optimizers built, {label:26} median {statistics.median(times):.3f} s  "
              f"(runs: {', '.join(f'{t:.3f}' for t in times)})")


if __name__ == "__main__":
    main()
