"""Cost of one run at the edges of what lib/config.py allows: time and peak memory per stage.

Each measurement runs in a fresh process (one torch thread, as the app sets), so peak RSS is its own.
Run from the repository root: python bench/caps.py
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.config import COST_CAP, SIZE_CAPS, STEPS_CAP, TrainConfig, run_cost  # noqa: E402

CHILD = """
import json, resource, sys, time, torch
torch.set_num_threads(1)
sys.path.insert(0, {root!r})
from lib.config import default_config
from lib.stages import run_stage
stage, fields = sys.argv[1], json.loads(sys.argv[2])
cfg = default_config(stage).with_(**fields)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
result = run_stage(stage, cfg)
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"s": elapsed, "peak_mb": peak / 1024, "extra_mb": (peak - before) / 1024,
                  "steps_run": len(result.losses)}}))
"""


def largest_steps(n, d_in, hidden, d_out) -> int:
    steps = STEPS_CAP
    while steps > 1 and run_cost(n, d_in, hidden, d_out, steps) > COST_CAP:
        steps -= 1
    return steps


def corners() -> list[tuple[str, dict]]:
    big = dict(n=SIZE_CAPS["n"], d_in=SIZE_CAPS["d_in"], hidden=SIZE_CAPS["hidden"], d_out=SIZE_CAPS["d_out"])
    tutorial = dict(n=64, d_in=1000, hidden=100, d_out=10)
    tiny = dict(n=1, d_in=1, hidden=1, d_out=1)
    wide_n = dict(n=SIZE_CAPS["n"], d_in=1000, hidden=100, d_out=10)
    out = []
    for label, sizes in (("every size at its cap", big), ("tutorial sizes", tutorial), ("N at its cap", wide_n),
                         ("tiny", tiny)):
        out.append((label, {**sizes, "steps": largest_steps(**sizes)}))
    return out


def main() -> None:
    # lr so small that nothing diverges: a diverged run would stop early and look cheap
    print(f"COST_CAP {COST_CAP:.0e}; each row: the most steps the cap allows at those sizes, float64 "
          f"(the costlier dtype), fresh process, 1 thread\n")
    print("| stage | sizes | N, D_IN, H, D_OUT, steps | time s | peak RSS MB | RSS added by the run MB |")
    print("|---|---|---|---|---|---|")
    worst_s = worst_mb = 0.0
    for stage in ("tensors", "optim", "dynamic_net"):
        for label, fields in corners():
            fields = {**fields, "lr": 1e-12, "dtype": "float64"}
            TrainConfig(**fields)   # allowed
            out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)), stage, json.dumps(fields)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            worst_s, worst_mb = max(worst_s, r["s"]), max(worst_mb, r["extra_mb"])
            sizes = ", ".join(str(fields[k]) for k in ("n", "d_in", "hidden", "d_out", "steps"))
            print(f"| {stage} | {label} | {sizes} | {r['s']:.2f} | {r['peak_mb']:.0f} | {r['extra_mb']:.0f} |")
    print(f"\nworst time {worst_s:.2f} s (target ~2 s), worst added memory {worst_mb:.0f} MB (target <= 500 MB)")


if __name__ == "__main__":
    main()
