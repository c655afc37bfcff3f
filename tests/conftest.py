"""Shared test settings, and a note at the end of a run naming any test of the fast tier that took too long."""
import time

import pytest
import torch

from lib.serve import limits
from lib.tutorial.config import STAGE_NAMES

# As in app.py: one intra-op thread. The browser test's server runs beside pytest on 2 cores, and
# oversubscribed OpenMP threads slow small matmuls down many times over.
torch.set_num_threads(1)

# What the sliders offer follows the server's measured speed (lib.serve.limits.calibrate). Page tests take a fixed,
# modest speed instead, so that what they see does not depend on how busy the machine was when it measured:
# the tutorial's 500 steps always fit, the biggest sizes never do. tests/test_workers.py measures for real.
TEST_SPEED = limits.Speed(macs_per_s={"float32": 1e10, "float64": 5e9},
                          step_overhead_s={stage: 2e-4 for stage in STAGE_NAMES}, init_s_per_param=1e-8)


@pytest.fixture(autouse=True)
def fixed_server_speed(monkeypatch):
    import ui.runs
    monkeypatch.setattr(ui.runs, "server_speed", lambda: TEST_SPEED)


# The tiers (pytest.ini): a test none of these marks runs in `bash scripts/test.sh --fast`, which must stay quick.
# CPU time, not wall-clock time, decides: it hardly changes with how busy the machine is.
TIERS = ("browser", "serve", "postgres", "slow")
SLOW_CPU_S = 2.0
_overran: list[tuple[float, str]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.process_time()
    yield
    cpu_s = time.process_time() - start
    if cpu_s > SLOW_CPU_S and not any(item.get_closest_marker(tier) for tier in TIERS):
        _overran.append((cpu_s, item.nodeid))


def pytest_terminal_summary(terminalreporter):
    if _overran:
        terminalreporter.section(f"unmarked tests over {SLOW_CPU_S:.0f} s of CPU: mark them slow (pytest.ini)")
        for cpu_s, nodeid in sorted(_overran, reverse=True):
            terminalreporter.write_line(f"{cpu_s:6.1f} s  {nodeid}")
