"""Shared test settings."""
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
