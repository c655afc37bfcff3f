"""A against B: two settings of one stage that differ in one field, as a link carries them (pages/a_vs_b.py).

The link holds A as any stage link does (lib.tutorial.config's keys) plus `stage`, `vary` (the field B changes) and `b`
(B's value of it, read with that field's own parser and checked by TrainConfig).
"""
from __future__ import annotations

from dataclasses import dataclass

from lib.tutorial.config import (QUERY_KEYS, SIZE_CAPS, STAGE_NAMES, TrainConfig, config_from_query, default_config,
                        shown_text)
from lib.text.messages import Message
from lib.tutorial.optimizers import OPTIMIZERS
from lib.tutorial.stages import STAGES

VARIES = ("lr", "optimizer", "momentum", "dtype", "n", "hidden", "seed")   # what B may change
LINK_KEYS = ("stage", "vary", "b")
DEFAULT_STAGE, DEFAULT_VARY = "tensors", "lr"


@dataclass(frozen=True)
class Pair:
    stage: str
    vary: str
    a: TrainConfig
    b: TrainConfig


def default_b(a: TrainConfig, vary: str):
    """B's value of `vary` when the link gives none: a change that shows something (5× the lr, the other dtype)."""
    if vary == "lr":
        return round(a.lr * 5, 12)
    if vary == "optimizer":
        return "sgd" if a.optimizer == "adam" else "adam"
    if vary == "momentum":
        return 0.9 if a.momentum == 0 else 0.0
    if vary == "dtype":
        return "float64" if a.dtype == "float32" else "float32"
    if vary in ("n", "hidden"):
        return min(2 * getattr(a, vary), SIZE_CAPS[vary])
    return a.seed + 1


def b_config(a: TrainConfig, vary: str, text: str) -> TrainConfig:
    """A with `vary` set from the link's text; ValueError (a Refusal is one) for anything its parser or
    TrainConfig refuses."""
    if vary not in VARIES:
        raise ValueError(vary)
    config, problems = config_from_query({vary: text}, a)
    if problems:
        raise ValueError(problems[0])
    return config


def pair_from_query(query: dict[str, str]) -> tuple[Pair, list[Message]]:
    """The stage, A and B a link names; refused values are dropped (each with a message) for the defaults."""
    problems: list[Message] = []
    stage = query.get("stage", DEFAULT_STAGE)
    if stage not in STAGE_NAMES:
        problems.append(Message("versus.bad_key", name="stage", text=shown_text(str(stage))))
        stage = DEFAULT_STAGE
    a, refused = config_from_query({k: v for k, v in query.items() if k in QUERY_KEYS}, default_config(stage))
    problems += refused
    vary = query.get("vary", DEFAULT_VARY)
    if vary not in VARIES:
        problems.append(Message("versus.bad_key", name="vary", text=shown_text(str(vary))))
        vary = DEFAULT_VARY
    try:
        b = b_config(a, vary, query["b"]) if "b" in query else a.with_(**{vary: default_b(a, vary)})
    except ValueError:
        problems.append(Message("versus.bad_key", name="b", text=shown_text(str(query["b"]))))
        b = a.with_(**{vary: default_b(a, vary)})
    return Pair(stage, vary, a, b), problems


def uses_field(stage: str, vary: str, config: TrainConfig) -> bool:
    """Whether the stage's run reads `vary`: the raw-tensor stages update by hand (no optimizer, no momentum),
    and momentum reaches only the optimizers that take it."""
    if vary in ("optimizer", "momentum") and not STAGES[stage].uses_optimizer:
        return False
    if vary == "momentum":
        return OPTIMIZERS[config.optimizer].uses_momentum
    return True
