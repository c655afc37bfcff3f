"""The cost model behind the sliders (lib.serve.limits) against real runs, at the corners of what the sliders offer.

It measures this machine as the server does (lib.serve.limits.calibrate), then for every stage and corner takes the
most steps the steps slider would offer (lib.serve.limits.max_steps with the plan budget: PLAN_SHARE of the time limit),
runs exactly that in a fresh process (one torch thread, the modules and malloc settings a worker starts with,
as the workers run) and prints the estimate beside the
measured time and memory. Targets: every planned run ends within the plan budget x 1.5 and far inside the time
limit, so on an idle server the limit never cuts a run the sliders offered; memory added <= 500 MB.

Run from the repository root: python bench/caps.py [--dtype float64] [--stages tensors dynamic_net]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lib.serve import workers  # noqa: E402

from lib.explore import own_network  # noqa: E402
from lib.explore.own_network import DEPTH_CAP  # noqa: E402
from lib.serve import limits  # noqa: E402
from lib.tutorial.config import SIZE_CAPS, STAGE_NAMES, STEPS_CAP  # noqa: E402

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from lib.serve.workers import start_like_a_worker
start_like_a_worker()     # the forkserver's modules, one torch thread, the workers' malloc settings
from lib.explore.own_network import NetworkConfig, train_network
from lib.tutorial.config import default_config
from lib.tutorial.stages import run_stage
stage, fields = sys.argv[1], json.loads(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if stage == "own_network":
    result = train_network(NetworkConfig(**fields))
else:
    result = run_stage(stage, default_config(stage).with_(**fields))
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"s": elapsed, "peak_mb": peak / 1024, "extra_mb": (peak - before) / 1024,
                  "steps_run": len(result.losses)}}))
"""

# the own-network page's corners (lib.explore.own_network): its widths replace H, up to DEPTH_CAP hidden layers
OWN_CORNERS = {
    "the tutorial's network": dict(widths=[100], n=64, d_in=1000, d_out=10),
    "4 Sigmoid layers of 100": dict(widths=[100] * 4, activation="sigmoid", n=64, d_in=1000, d_out=10),
    "4 layers at the width cap, N at its cap": dict(widths=[SIZE_CAPS["hidden"]] * DEPTH_CAP, n=SIZE_CAPS["n"],
                                                    d_in=1000, d_out=10),
    "thin input, 4 wide layers": dict(widths=[SIZE_CAPS["hidden"]] * DEPTH_CAP, n=SIZE_CAPS["n"], d_in=1, d_out=1),
    "every size at its cap": dict(widths=[SIZE_CAPS["hidden"]] * DEPTH_CAP, n=SIZE_CAPS["n"], d_in=SIZE_CAPS["d_in"],
                                  d_out=SIZE_CAPS["d_out"]),
    "tiny": dict(widths=[1], n=1, d_in=1, d_out=1),
}

CORNERS = {
    "every size at its cap": dict(n=SIZE_CAPS["n"], d_in=SIZE_CAPS["d_in"], hidden=SIZE_CAPS["hidden"],
                                  d_out=SIZE_CAPS["d_out"]),
    "tutorial sizes": dict(n=64, d_in=1000, hidden=100, d_out=10),
    "N at its cap": dict(n=SIZE_CAPS["n"], d_in=1000, hidden=100, d_out=10),
    "thin input, wide hidden": dict(n=SIZE_CAPS["n"], d_in=1, hidden=SIZE_CAPS["hidden"], d_out=1),
    "wide hidden only": dict(n=64, d_in=1000, hidden=SIZE_CAPS["hidden"], d_out=10),
    "tiny": dict(n=1, d_in=1, hidden=1, d_out=1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    parser.add_argument("--stages", nargs="*", default=[*STAGE_NAMES, "own_network"],
                        help="stages of the tutorial, and own_network (the own-network page)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    speed = limits.calibrate()
    limit = workers.time_limit_s()
    budget = limits.PLAN_SHARE * limit
    print(f"torch {torch.__version__}, 1 thread; this machine: {speed.macs_per_s['float32']:.2e} multiply-adds/s "
          f"float32, {speed.macs_per_s['float64']:.2e} float64; time limit {limit:g} s, plan budget {budget:g} s "
          f"({limits.PLAN_SHARE:g} of it); {args.dtype}, seed 0, lr 1e-12 (nothing diverges), fresh process each\n")
    print("| stage | corner | N, D_IN, H, D_OUT | steps offered | estimate s | measured s | measured / estimate "
          "| peak RSS MB | RSS added MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    worst_s = worst_mb = 0.0
    ratios = []
    for stage in args.stages:
        for label, sizes in (OWN_CORNERS if stage == "own_network" else CORNERS).items():
            if stage == "own_network":
                cfg = own_network.NetworkConfig(**sizes, dtype=args.dtype)
                steps = own_network.max_steps(speed, budget, cfg)
                estimate = own_network.run_seconds(speed, cfg, steps)
                shape = ", ".join(str(v) for v in (cfg.n, cfg.d_in, "×".join(map(str, cfg.widths)), cfg.d_out))
            else:
                steps = limits.max_steps(speed, budget, stage, dtype=args.dtype, cap=STEPS_CAP, **sizes)
                estimate = limits.run_seconds(speed, stage, steps=steps, dtype=args.dtype, **sizes)
                shape = ", ".join(str(sizes[k]) for k in ("n", "d_in", "hidden", "d_out"))
            fields = {**sizes, "steps": steps, "lr": 1e-12, "dtype": args.dtype}
            out = subprocess.run([sys.executable, "-c", CHILD.format(root=str(ROOT)),
                                  stage, json.dumps(fields)], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            worst_s, worst_mb = max(worst_s, r["s"]), max(worst_mb, r["extra_mb"])
            ratios.append(r["s"] / estimate)
            print(f"| {stage} | {label} | {shape} | {steps} | {estimate:.2f} | {r['s']:.2f} | {r['s'] / estimate:.2f} "
                  f"| {r['peak_mb']:.0f} | {r['extra_mb']:.0f} |", flush=True)
    print(f"\n- worst measured run {worst_s:.2f} s: target <= {1.5 * budget:.1f} s (plan budget x 1.5) "
          f"{'PASS' if worst_s <= 1.5 * budget else 'FAIL'}; time limit {limit:g} s "
          f"{'PASS' if worst_s <= limit else 'FAIL'}")
    print(f"- measured / estimate: {min(ratios):.2f} to {max(ratios):.2f}")
    print(f"- worst added memory {worst_mb:.0f} MB: target <= 500 MB {'PASS' if worst_mb <= 500 else 'FAIL'}")


if __name__ == "__main__":
    main()
