"""Hyperparameters of the tutorial's two-layer network, their validation, and each stage's own defaults."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields, replace

import torch

from lib.text.messages import Message, Refusal
from lib.text.numbers import lr_text
from lib.tutorial.optimizers import OPTIMIZERS

# The tutorial's stages in its order; lib.tutorial.stages holds their code and texts.
STAGE_NAMES = ("tensors", "autograd", "custom_function", "nn_module", "optim", "custom_module", "dynamic_net")

DTYPES = {"float32": torch.float32, "float64": torch.float64}
DEVICES = ("cpu", "cuda")   # the tutorial's `device = torch.device('cpu')  # torch.device('cuda:0')`

# Each size has its own cap, so one step stays cheap and memory bounded (bench/caps.py: every corner adds at
# most a few hundred MB). How many steps a run may take at given sizes is not a rule of the config: the sidebar
# offers the steps this server finishes in time (lib.serve.limits), and the server's time limit stops any run.
SIZE_CAPS = {"n": 1024, "d_in": 2048, "hidden": 1024, "d_out": 256}
STEPS_CAP = 2000
SEED_CAP = 2**31 - 1
LR_CAP = 10.0


@dataclass(frozen=True)
class TrainConfig:
    n: int = 64                  # batch size N: rows of random x and y
    d_in: int = 1000             # input dimension D_IN
    hidden: int = 100            # hidden dimension H
    d_out: int = 10              # output dimension D_OUT
    lr: float = 1e-6             # learning rate; the summed MSE makes the safe value shrink as N grows
    optimizer: str = "sgd"       # a key of lib.tutorial.optimizers.OPTIMIZERS; the raw-tensor stages update by hand
    momentum: float = 0.0        # used by the optimizers that take momentum (SGD with momentum, RMSprop)
    steps: int = 500             # training steps (the tutorial's `for t in range(500)`)
    seed: int = 0                # torch.manual_seed and random.seed before anything is drawn
    dtype: str = "float32"       # "float32" (the tutorial) or "float64" (for exact gradient checks)
    device: str = "cpu"          # "cpu", or "cuda" where torch.cuda.is_available()

    def __post_init__(self):
        for name, cap in SIZE_CAPS.items():
            check_int(name, getattr(self, name), 1, cap)
        check_int("steps", self.steps, 1, STEPS_CAP)
        check_int("seed", self.seed, 0, SEED_CAP)
        check_training(self.lr, self.momentum, self.optimizer, LR_CAP)
        check_choice("dtype", self.dtype, DTYPES)
        check_device(self.device)

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    def with_(self, **changes) -> "TrainConfig":
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)


def check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Refusal("refusal.int_range", name=name, value=repr(value), low=low, high=high)


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise Refusal("refusal.choice", name=name, value=repr(value), allowed=", ".join(allowed))


def check_device(device) -> None:
    check_choice("device", device, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise Refusal("refusal.no_cuda", name="device", value=repr(device))


def available_devices() -> tuple[str, ...]:
    return DEVICES if torch.cuda.is_available() else ("cpu",)


def server_device() -> str:
    """The device runs start on: the environment variable TRAIN_DEVICE ("cpu" or "cuda") where this server has it,
    else "cpu"."""
    wanted = os.environ.get("TRAIN_DEVICE", "cpu")
    return wanted if wanted in available_devices() else "cpu"


def check_training(lr, momentum, optimizer, lr_cap: float) -> None:
    """The fields every training config shares (TrainConfig, MnistConfig)."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= lr_cap:
        raise Refusal("refusal.lr_range", name="lr", value=repr(lr), high=lr_cap)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not math.isfinite(momentum) \
            or not 0 <= momentum < 1:
        raise Refusal("refusal.momentum_range", name="momentum", value=repr(momentum))
    check_choice("optimizer", optimizer, OPTIMIZERS)


# The tutorial's own settings: raw-tensor stages use lr 1e-6, nn stages 1e-4.
_STAGE_SETTINGS = {
    "tensors": dict(lr=1e-6),
    "autograd": dict(lr=1e-6),
    "custom_function": dict(lr=1e-6),
    "nn_module": dict(lr=1e-4),
    "optim": dict(lr=1e-4, optimizer="adam"),
    "custom_module": dict(lr=1e-4, optimizer="sgd"),
    "dynamic_net": dict(lr=1e-4, optimizer="sgd_momentum", momentum=0.9),
}


def default_config(stage: str) -> TrainConfig:
    """The tutorial's settings for `stage` (N=64, D_IN=1000, H=100, D_OUT=10, 500 steps, its lr and optimizer)."""
    if stage not in _STAGE_SETTINGS:
        raise ValueError(f"stage={stage!r} is not one of {', '.join(STAGE_NAMES)}")
    return TrainConfig(**_STAGE_SETTINGS[stage], device=server_device())


CONFIG_FIELDS = tuple(f.name for f in fields(TrainConfig))


_LABELS = {"n": "N", "d_in": "D_IN", "hidden": "H", "d_out": "D_OUT"}


def format_setting(name: str, value) -> str:
    if name == "lr":
        return f"lr={lr_text(value)}"
    return f"{_LABELS.get(name, name)}={value:g}" if isinstance(value, float) else f"{_LABELS.get(name, name)}={value}"


def difference_label(config: TrainConfig, reference: TrainConfig) -> str:
    """The settings where `config` differs from `reference`, e.g. "lr=1e-05, N=32" (for a chart's legend);
    "" when they are the same (the page says "same settings" in the reader's language)."""
    return ", ".join(format_setting(name, getattr(config, name)) for name in CONFIG_FIELDS
                     if getattr(config, name) != getattr(reference, name))


# ---------------------------------------------------------------- shareable links
# The URL carries a config as text. Only these keys are read, each with its own parser; nothing else
# in a query string is used.
_QUERY_TYPES = {"n": int, "d_in": int, "hidden": int, "d_out": int, "steps": int, "seed": int,
                "lr": float, "momentum": float, "optimizer": str, "dtype": str, "device": str}
QUERY_KEYS = tuple(_QUERY_TYPES)
QUERY_VALUE_MAX = 40   # characters; longer values are refused before parsing


def config_to_query(config: TrainConfig) -> dict[str, str]:
    """The config as URL query parameters (floats in a form that parses back to the same number)."""
    return {name: (repr(value) if isinstance(value, float) else str(value))
            for name in _QUERY_TYPES for value in [getattr(config, name)]}


def shown_text(text: str, limit: int = QUERY_VALUE_MAX) -> str:
    """Text that holds a user-typed value, safe to echo in a message: short, printable, no markdown marks."""
    clean = "".join(ch for ch in text[:limit] if ch.isprintable() and ch not in "`\\*[]|")
    return clean + ("…" if len(text) > limit else "")


def config_from_query(query: dict[str, str], defaults: TrainConfig) -> tuple[TrainConfig, list[Message]]:
    """Read the config keys of `query` over `defaults`, in any case and by the tutorial's names too (N=, H=, LR=:
    `query_field`). A value the config can't use as given is dropped, with a message that names the key as the
    link wrote it, the value, why, and the default used instead (lib.text.messages; the same codes as
    `values_from_query`)."""
    problems: list[Message] = []
    given = _given_fields(query, problems)
    values: dict = {}
    for name, kind in _QUERY_TYPES.items():
        if name not in given:
            continue
        key, text = given[name]
        value, problem = read_link_value(key, text, kind, getattr(defaults, name))
        if problem is None:
            values[name] = value
        else:
            problems.append(problem)
    while True:   # drop the fields TrainConfig refuses, one at a time, keeping its message
        try:
            return replace(defaults, **values), problems
        except Refusal as err:
            bad = err.values["name"]   # every rule of TrainConfig is about one field
            err.values["name"], err.values["value"] = given[bad][0], shown_text(err.values["value"])
            problems.append(Message("link.refused", reason=err, default=getattr(defaults, bad)))
            del values[bad]


# the tutorial's names of the sizes, folded to lower case (N, D_IN, D_OUT fold to the fields' own names)
_TUTORIAL_NAMES = {"h": "hidden"}


def query_field(key: str) -> str | None:
    """The config field a link's key names: the field's own name in any case (n, N, Lr), or the tutorial's name
    for it (H for hidden); None for any other key (the page's own choices, lang=, a teacher's lock=)."""
    folded = key.lower()
    folded = _TUTORIAL_NAMES.get(folded, folded)
    return folded if folded in _QUERY_TYPES else None


def _given_fields(query: dict[str, str], problems: list[Message]) -> dict[str, tuple[str, str]]:
    """field -> (the key as the link wrote it, its text). A field named twice (n= and N=) takes the field's own
    name, else the first; each other one gets a message."""
    given: dict[str, tuple[str, str]] = {}
    for key in sorted(query, key=lambda key: key != query_field(key)):   # the fields' own names first
        name = query_field(key)
        if name is None:
            continue
        if name in given:
            problems.append(Message("links.named_twice", name=shown_text(key), text=shown_text(str(query[key])),
                                    used=given[name][0]))
        else:
            given[name] = (key, str(query[key]))
    return given


def read_link_value(key: str, text: str, kind: type, default) -> tuple[object, Message | None]:
    """A link's text as a value of `kind` (int, float, str), or None and the message that says why not and that
    `default` is used instead."""
    if len(text) > QUERY_VALUE_MAX:
        return None, Message("link.too_long", name=shown_text(key), text=shown_text(text), default=default)
    try:
        return kind(text), None
    except ValueError:
        code = {int: "link.not_int", float: "link.not_number"}[kind]
        return None, Message(code, name=shown_text(key), text=shown_text(text), default=default)


def values_from_query(query: dict[str, str], ranges: dict[str, tuple[str, type, float, float]], defaults
                      ) -> tuple[dict[str, object], list[Message]]:
    """A page's own numeric settings from a link, with the messages config_from_query gives (step mode's sm_n=,
    sm_lr=, ...). `ranges` maps each URL key to (field, int or float, low, high); keys are read in any case.
    Returns the fields the link sets within range, and a message for each value refused, naming the default of
    `defaults` used instead."""
    problems: list[Message] = []
    folded = {}
    for key in sorted(query, key=lambda key: key not in ranges):   # the keys' own spelling first
        own = key.lower() if key.lower() in ranges else None
        if own is None:
            continue
        if own in folded:
            problems.append(Message("links.named_twice", name=shown_text(key), text=shown_text(str(query[key])),
                                    used=folded[own][0]))
        else:
            folded[own] = (key, str(query[key]))
    values: dict[str, object] = {}
    for url_key, (name, kind, low, high) in ranges.items():
        if url_key not in folded:
            continue
        key, text = folded[url_key]
        default = getattr(defaults, name)
        value, problem = read_link_value(key, text, kind, default)
        if problem is None and not (math.isfinite(value) and low <= value <= high):
            code = "refusal.int_range" if kind is int else "refusal.number_range"
            reason = Refusal(code, name=shown_text(key), value=shown_text(text), low=low, high=high)
            problem = Message("link.refused", reason=reason, default=default)
        if problem is None:
            values[name] = value
        else:
            problems.append(problem)
    return values, problems
