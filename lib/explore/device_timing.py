"""CPU against GPU: the time of one training step as the batch N grows, on each device this server has.

A step on the GPU pays a fixed cost to launch its kernels and to bring the loss back (`loss.item()` waits for
the GPU every step, as the tutorial's loop does); the CPU pays for the arithmetic itself. So the GPU loses at
small N and wins once a step holds enough arithmetic.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from lib.tutorial.config import SIZE_CAPS, TrainConfig, available_devices
from lib.tutorial.stages import run_stage

BATCHES = (1, 4, 16, 64, 256, 1024)   # N, up to the size cap
TIMED_STEPS = 20                      # steps per timing; their median is the step's time
TIMING_LR = 1e-8   # a step costs the same at any lr; this one never diverges within the timed steps
assert BATCHES[-1] <= SIZE_CAPS["n"]


@dataclass
class DeviceTiming:
    stage: str
    config: TrainConfig                  # the other sizes and settings (lr is TIMING_LR)
    batches: list[int]                   # N of each point
    seconds: dict[str, list[float]] = field(default_factory=dict)   # device -> median seconds per step, per N
    time_limited: bool = False           # the time limit came first: some points are missing

    def ratio(self, index: int) -> float | None:
        """CPU time over GPU time at batches[index] (> 1: the GPU wins); None without both."""
        cpu, gpu = self.seconds.get("cpu", []), self.seconds.get("cuda", [])
        return cpu[index] / gpu[index] if index < len(cpu) and index < len(gpu) and gpu[index] > 0 else None


def step_seconds(stage: str, config: TrainConfig, time_limit_s: float | None = None) -> float | None:
    """The median time of one training step of `stage` at `config` (one warm-up step first, untimed); None if
    no step ran (a divergence at step 0, or the time limit)."""
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(step: int, loss: float) -> None:   # loss.item() has waited for the device: the step is done
        now = time.perf_counter()
        if step > 0:
            times.append(now - last[0])
        last[0] = now

    run_stage(stage, config.with_(steps=TIMED_STEPS + 1), on_step=on_step, time_limit_s=time_limit_s)
    return statistics.median(times) if times else None


def time_devices(stage: str, config: TrainConfig, devices: tuple[str, ...] | None = None,
                 batches: tuple[int, ...] = BATCHES, time_limit_s: float | None = None,
                 on_point=None) -> DeviceTiming:
    """One step's time against N on each device (all this server has, by default), under `time_limit_s`."""
    devices = available_devices() if devices is None else devices
    config = config.with_(lr=TIMING_LR)
    deadline = None if time_limit_s is None else time.perf_counter() + time_limit_s
    timing = DeviceTiming(stage, config, list(batches), {device: [] for device in devices})
    for device in devices:
        step_seconds(stage, config.with_(n=batches[0], device=device, steps=1))   # start the device's libraries
        for n in batches:
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                timing.time_limited = True
                return timing
            seconds = step_seconds(stage, config.with_(n=n, device=device), left)
            if seconds is None:
                timing.time_limited = True
                return timing
            timing.seconds[device].append(seconds)
            if on_point is not None:
                on_point(device, n, seconds)
    return timing
