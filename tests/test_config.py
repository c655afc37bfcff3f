"""lib.tutorial.config validation and defaults, and lib.tutorial.optimizers.make_optimizer."""
import math
import re
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.tutorial.config import (CONFIG_FIELDS, DTYPES, LR_CAP, SEED_CAP, SIZE_CAPS, STAGE_NAMES, STEPS_CAP, TrainConfig,
                        default_config)
from lib.tutorial.optimizers import OPTIMIZERS, make_optimizer

INT_CAPS = {**SIZE_CAPS, "steps": STEPS_CAP, "seed": SEED_CAP}
INT_LOWS = {"n": 1, "d_in": 1, "hidden": 1, "d_out": 1, "steps": 1, "seed": 0}


def names_field(message, name):
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) is not None


def assert_refused(name, value):
    with pytest.raises(ValueError) as info:
        TrainConfig(**{name: value})
    assert names_field(str(info.value), name), (name, value, str(info.value))


def test_the_defaults_are_the_tutorials_and_construct():
    assert CONFIG_FIELDS == ("n", "d_in", "hidden", "d_out", "lr", "optimizer", "momentum", "steps", "seed", "dtype",
                             "device")
    config = TrainConfig()
    assert (config.n, config.d_in, config.hidden, config.d_out, config.steps) == (64, 1000, 100, 10, 500)
    assert config.torch_dtype is torch.float32


# ---------------------------------------------------------------- every invalid field names itself
NOT_AN_INT = [1.0, 2.5, math.nan, "8", None, True, False]


@pytest.mark.parametrize("name", INT_CAPS)
@pytest.mark.parametrize("kind", ["below", "negative", "above cap", "not an int"])
def test_an_invalid_whole_number_field_is_refused_by_name(name, kind):
    values = {"below": [INT_LOWS[name] - 1], "negative": [-1, -10**9], "above cap": [INT_CAPS[name] + 1, 10**12],
              "not an int": NOT_AN_INT}[kind]
    for value in values:
        assert_refused(name, value)


@pytest.mark.parametrize("value", [0, 0.0, -1e-6, -1, LR_CAP * 1.0001, 1e9, math.nan, math.inf, -math.inf,
                                   True, "1e-4", None])
def test_an_invalid_lr_is_refused_by_name(value):
    assert_refused("lr", value)


@pytest.mark.parametrize("value", [-0.1, 1, 1.0, 1.5, math.nan, math.inf, True, "0.9", None])
def test_an_invalid_momentum_is_refused_by_name(value):
    assert_refused("momentum", value)


@pytest.mark.parametrize("value", ["SGD", "Adam", "lbfgs", "", None, 0])
def test_an_unknown_optimizer_is_refused_by_name(value):
    assert_refused("optimizer", value)


@pytest.mark.parametrize("value", ["float16", "double", "", None, torch.float32])
def test_an_unknown_dtype_is_refused_by_name(value):
    assert_refused("dtype", value)


def test_with_validates_again():
    with pytest.raises(ValueError, match="hidden"):
        TrainConfig().with_(hidden=0)
    assert TrainConfig().with_(hidden=7).hidden == 7


# ---------------------------------------------------------------- the valid space, by hypothesis
fields_within_caps = st.fixed_dictionaries({
    **{name: st.integers(INT_LOWS[name], cap) for name, cap in INT_CAPS.items()},
    "lr": st.floats(0, LR_CAP, exclude_min=True),
    "momentum": st.floats(0, 1, exclude_max=True),
    "optimizer": st.sampled_from(sorted(OPTIMIZERS)),
    "dtype": st.sampled_from(sorted(DTYPES)),
})


@settings(max_examples=300, deadline=None)
@given(fields_within_caps)
def test_fields_within_caps_construct(fields):
    """Every size and step count within its own cap is a config: how long a run may take is the server's
    business (lib.serve.limits for what the sliders offer, lib.serve.workers' time limit for what runs), not a refusal."""
    config = TrainConfig(**fields)
    assert {name: getattr(config, name) for name in fields} == fields
    assert config.torch_dtype is DTYPES[fields["dtype"]]


def test_the_costliest_link_of_the_issue_is_a_config():
    config = default_config("dynamic_net").with_(n=1024, d_in=1, hidden=1024, d_out=1, steps=1093)
    assert config.steps == 1093


invalid_values = st.one_of(
    st.tuples(st.sampled_from(sorted(INT_CAPS)), st.integers(max_value=0)),
    st.tuples(st.sampled_from(sorted(INT_CAPS)), st.floats(allow_nan=True)),
    st.tuples(st.sampled_from(sorted(INT_CAPS)), st.booleans()),
    st.tuples(st.sampled_from(sorted(SIZE_CAPS)), st.integers(min_value=1)),
    st.tuples(st.just("lr"), st.floats(max_value=0) | st.floats(min_value=LR_CAP, exclude_min=True)),
    st.tuples(st.just("lr"), st.sampled_from([math.nan, math.inf, -math.inf, True, False, "0.1"])),
    st.tuples(st.just("momentum"), st.floats(max_value=0, exclude_max=True) | st.floats(min_value=1)),
    st.tuples(st.just("momentum"), st.sampled_from([math.nan, True, "0.5"])),
    st.tuples(st.just("optimizer"), st.text().filter(lambda s: s not in OPTIMIZERS)),
    st.tuples(st.just("dtype"), st.text().filter(lambda s: s not in DTYPES)),
)


@settings(max_examples=300, deadline=None)
@given(invalid_values)
def test_any_invalid_field_is_refused_by_name(name_value):
    name, value = name_value
    if name == "seed" and isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return   # seed 0 is valid: the only integer <= 0 that is
    if name in SIZE_CAPS and isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        value += SIZE_CAPS[name]   # drawn from 1 up: make it above the cap
    assert_refused(name, value)


# ---------------------------------------------------------------- the tutorial's settings per stage
TUTORIAL_SETTINGS = {   # from the write-up: lr 1e-6 for raw tensors, 1e-4 with nn; Adam, SGD, SGD + momentum 0.9
    "tensors": dict(lr=1e-6, optimizer="sgd", momentum=0.0),
    "autograd": dict(lr=1e-6, optimizer="sgd", momentum=0.0),
    "custom_function": dict(lr=1e-6, optimizer="sgd", momentum=0.0),
    "nn_module": dict(lr=1e-4, optimizer="sgd", momentum=0.0),
    "optim": dict(lr=1e-4, optimizer="adam", momentum=0.0),
    "custom_module": dict(lr=1e-4, optimizer="sgd", momentum=0.0),
    "dynamic_net": dict(lr=1e-4, optimizer="sgd_momentum", momentum=0.9),
}


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_default_config_is_the_tutorials(stage):
    config = default_config(stage)
    expected = dict(n=64, d_in=1000, hidden=100, d_out=10, steps=500, seed=0, dtype="float32", device="cpu",
                    **TUTORIAL_SETTINGS[stage])
    assert {name: getattr(config, name) for name in CONFIG_FIELDS} == expected


def test_every_stage_has_tutorial_settings():
    assert set(STAGE_NAMES) == set(TUTORIAL_SETTINGS)


@pytest.mark.parametrize("stage", ["Tensors", "mnist", "", None])
def test_default_config_refuses_an_unknown_stage(stage):
    with pytest.raises(ValueError, match="stage"):
        default_config(stage)


# ---------------------------------------------------------------- make_optimizer
EXPECTED_CLASS = {
    "sgd": torch.optim.SGD,
    "sgd_momentum": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}


def test_every_optimizer_has_an_expected_class():
    assert set(OPTIMIZERS) == set(EXPECTED_CLASS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_make_optimizer_builds_the_named_class_with_lr_and_momentum(name):
    model = torch.nn.Linear(3, 2)
    config = TrainConfig(optimizer=name, lr=0.0123, momentum=0.7)
    optimizer = make_optimizer(model.parameters(), config)
    group = optimizer.param_groups[0]

    assert type(optimizer) is EXPECTED_CLASS[name]
    assert group["lr"] == 0.0123
    assert group["params"] == list(model.parameters())
    if OPTIMIZERS[name].uses_momentum:
        assert group["momentum"] == 0.7
    elif "momentum" in group:
        assert group["momentum"] == 0       # config.momentum must not leak into plain SGD


def test_make_optimizer_steps_like_the_class_it_names():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    twin = torch.nn.Linear(4, 1)
    twin.load_state_dict(model.state_dict())
    config = TrainConfig(optimizer="sgd_momentum", lr=0.1, momentum=0.9)
    ours = make_optimizer(model.parameters(), config)
    theirs = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9)
    x = torch.randn(5, 4)
    for _ in range(3):
        for m, opt in ((model, ours), (twin, theirs)):
            opt.zero_grad()
            m(x).pow(2).sum().backward()
            opt.step()
    assert torch.equal(model.weight, twin.weight)


def test_make_optimizer_refuses_an_unknown_name():
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer(torch.nn.Linear(2, 2).parameters(), SimpleNamespace(optimizer="lbfgs", lr=0.1, momentum=0.0))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_fused_step_follows_the_same_rule(name):
    """MNIST asks for fused kernels: every optimizer must still update as its unfused self (RMSprop has none)."""
    torch.manual_seed(0)
    model, twin = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    twin.load_state_dict(model.state_dict())
    start = model.weight.detach().clone()
    config = TrainConfig(optimizer=name, lr=0.05, momentum=0.9)
    fused, plain = make_optimizer(model.parameters(), config, fused=True), make_optimizer(twin.parameters(), config)
    assert fused.defaults.get("fused") is (None if name == "rmsprop" else True)
    x = torch.randn(6, 4)
    for _ in range(5):
        for m, opt in ((model, fused), (twin, plain)):
            opt.zero_grad()
            m(x).pow(2).sum().backward()
            opt.step()
    for ours, theirs in zip(model.parameters(), twin.parameters()):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(model.weight, start), "five steps moved the weights"
