"""One training step against the batch size N on the CPU and, where torch.cuda.is_available(), the GPU.

The same measurement as the Experiments page's "CPU vs GPU" tab (lib.explore.device_timing.time_devices: the median of
TIMED_STEPS steps after one untimed step, lr at TIMING_LR), printed as a table with CPU time / GPU time. One
torch thread on the CPU, as the app's workers run.

Run from the repository root: python bench/device.py [--stages tensors optim] [--dtype float64]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from lib.tutorial.config import STAGE_NAMES, available_devices, default_config  # noqa: E402
from lib.explore.device_timing import BATCHES, TIMED_STEPS, time_devices  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", default=["tensors", "optim"], choices=STAGE_NAMES)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    devices = available_devices()
    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else "none (torch.cuda.is_available() is False)"
    print(f"torch {torch.__version__}, 1 CPU thread, GPU: {gpu}; D_IN=1000, H=100, D_OUT=10, {args.dtype}, "
          f"median of {TIMED_STEPS} steps after one untimed step, milliseconds per step\n")
    header = ["stage", "N"] + [f"{device} (ms)" for device in devices] + (["CPU / GPU"] if "cuda" in devices else [])
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|")
    for stage in args.stages:
        timing = time_devices(stage, default_config(stage).with_(dtype=args.dtype, device="cpu"), devices)
        for i, n in enumerate(timing.batches):
            cells = [stage, str(n)] + [f"{timing.seconds[d][i] * 1e3:.3f}" for d in devices]
            if "cuda" in devices:
                cells.append(f"{timing.ratio(i):.2f}")
            print("| " + " | ".join(cells) + " |")
    print(f"\nN = {', '.join(map(str, BATCHES))}; CPU / GPU > 1: the GPU is faster.")


if __name__ == "__main__":
    main()
