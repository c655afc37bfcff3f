"""Classroom-proofing: any allowed config runs or stops cleanly; any refused one names its field."""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.tutorial.config import STAGE_NAMES, TrainConfig
from lib.tutorial.optimizers import OPTIMIZERS
from lib.tutorial.stages import GROWTH_LIMIT, run_stage

small_configs = st.builds(
    TrainConfig,
    n=st.integers(1, 12), d_in=st.integers(1, 12), hidden=st.integers(1, 12), d_out=st.integers(1, 6),
    lr=st.floats(1e-9, 10.0), optimizer=st.sampled_from(list(OPTIMIZERS)), momentum=st.floats(0.0, 0.99),
    steps=st.integers(1, 30), seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(["float32", "float64"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stage=st.sampled_from(STAGE_NAMES), config=small_configs, broken=st.booleans())
def test_every_allowed_config_trains_or_stops_cleanly(stage, config, broken):
    result = run_stage(stage, config, broken_relu=broken)
    assert all(math.isfinite(loss) for loss in result.losses)
    if result.diverged_at is None:
        assert len(result.losses) == config.steps
    else:
        assert len(result.losses) == result.diverged_at < config.steps
        assert result.divergence_reason
    assert all(loss <= GROWTH_LIMIT * result.losses[0] for loss in result.losses)
