"""What the texts promise the class will see, as data: a page, the settings its link carries, and conditions over
what that page then shows. tests/test_claims.py opens every claim's page as its link does and checks each one.

A quantity is read off the page (tests/test_claims.py says how); per-row quantities come from the gradient table
("rel_error", "fd_rel_error", "within_tol", "autograd_norm"), per-stage ones from the Compare chart.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}

# what a check can be about, and whether it has one value per row (gradient-table parameter or Compare stage)
QUANTITIES = {
    "rel_error": True, "fd_rel_error": True, "within_tol": True, "autograd_norm": True,
    "uses": False,              # stage 7: per-use rows of middle_linear.weight in the gradient table
    "diverged": False,          # the page marks a divergence (bool)
    "diverged_at": False,       # the step that stopped training (None when it did not)
    "final_loss": False,        # the last loss of a run that did not diverge
    "depth_3_steps": False,     # stage 7: training steps whose forward ran middle_linear 3 times
    "first_gap_step": True,     # Compare: first step where a stage's loss differs from stage 1's (None: never)
    "max_rel_gap": True,        # Compare: max |loss - stage 1's loss| / stage 1's loss over the steps
}


@dataclass(frozen=True)
class Check:
    quantity: str
    op: str
    value: float | bool | None
    rows: tuple[str, ...] = ()        # per-row quantities: these rows (empty: every parameter row of the table)
    versus_before: bool = False       # value is a factor of the same quantity seen before the last change

    def __post_init__(self):
        if self.quantity not in QUANTITIES or self.op not in OPS:
            raise ValueError(f"unknown check {self.quantity} {self.op}")


@dataclass(frozen=True)
class Then:
    """A change the text asks for (widget key -> value), and what must hold after it."""
    widgets: dict
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Claim:
    text: str                          # the locale key whose words make the promise
    page: str                          # the page's file stem
    settings: dict[str, str]           # URL query parameters, as the link carries them
    checks: tuple[Check, ...]
    then: tuple[Then, ...] = field(default=())


def holds(check: Check, observed: dict, before: dict | None = None) -> bool:
    """Whether `check` holds over `observed` (quantity -> value, or -> {row: value})."""
    value = observed[check.quantity]
    op = OPS[check.op]

    def one(got, row=None):
        limit = check.value
        if check.versus_before:
            seen = before[check.quantity]
            limit = limit * (seen[row] if row is not None else seen)
        if got is None or limit is None:
            return op is operator.eq and got is limit
        if isinstance(got, float) and math.isnan(got):
            return False
        return bool(op(got, limit))

    if not QUANTITIES[check.quantity]:
        return one(value)
    rows = check.rows or [row for row in value if "(use" not in row]
    return bool(rows) and all(row in value and one(value[row], row) for row in rows)


def curve_gap(reference: list[float], other: list[float]) -> tuple[int | None, float]:
    """First step where `other` differs from `reference` (None: never, over their common steps), and the largest
    relative difference |other - reference| / |reference| over those steps."""
    common = list(zip(reference, other))
    first = next((step for step, (a, b) in enumerate(common) if a != b), None)
    gap = max((abs(b - a) / abs(a) for a, b in common if a != b and a != 0), default=0.0)
    return first, gap


# The tips and help texts that promise an observation (the presets carry theirs in lib/classroom/presets.py).
TIP_CLAIMS = (
    # stages 1-3: the hand-written backward is autograd's, float op for float op, in either precision
    Claim("settings.dtype_help", "autograd", {"dtype": "float32"},
          (Check("rel_error", "==", 0.0),),
          (Then({"dtype": "float64"}, (Check("rel_error", "==", 0.0),)),)),
    Claim("settings.dtype_help", "custom_function", {"dtype": "float64"}, (Check("rel_error", "==", 0.0),)),
    # stages 4-7: ~1e-7 in float32, ~1e-16 in float64
    Claim("settings.dtype_help", "nn_module", {},
          (Check("rel_error", ">", 1e-9), Check("rel_error", "<", 1e-6)),
          (Then({"dtype": "float64"}, (Check("rel_error", "<", 1e-14),)),)),
    Claim("settings.dtype_help", "custom_module", {"dtype": "float64"}, (Check("rel_error", "<", 1e-14),)),
    # class tips: the broken backward turns one row red; lr 1e-4 or N=1000 (at 50 steps) diverge on stage 1
    Claim("home.class_tips", "custom_function", {"broken": "1"},
          (Check("within_tol", "==", False, rows=("w1",)), Check("within_tol", "==", True, rows=("w2",)))),
    Claim("home.class_tips", "tensors", {"lr": "0.0001"}, (Check("diverged_at", "<", 10),)),
    Claim("home.class_tips", "tensors", {"n": "1000", "steps": "50"}, (Check("diverged_at", "<", 10),)),
    Claim("home.class_tips", "tensors", {"n": "1000", "steps": "50", "lr": "1e-07"}, (Check("diverged", "==", False),)),
    # Compare: stages 1 and 3 identical; stage 2 identical until a ReLU tie, then close. Where the tie comes depends
    # on the CPU's float32 rounding (seed 0: step 115 on one machine, 43 on one with AVX-512); that the gap starts at
    # a tie, as compare.drift_cause says: tests/test_claims.py's test_the_compare_gap_starts_at_a_relu_tie
    Claim("compare.lesson", "compare", {},
          (Check("first_gap_step", "==", None, rows=("custom_function",)),
           Check("first_gap_step", ">", 0, rows=("autograd",)),
           Check("max_rel_gap", "<", 0.05, rows=("autograd",)))),
    # Inside the optimizers: float32 differs in the last bits, float64 agrees to ~1e-15
    Claim("optim.float32", "optimizers", {},
          (Check("rel_error", ">", 1e-10), Check("rel_error", "<", 1e-5)),
          (Then({"dtype": "float64"}, (Check("rel_error", "<", 1e-15),)),)),
    Claim("compare.lesson", "compare", {"dtype": "float64"},
          (Check("first_gap_step", "==", None, rows=("autograd", "custom_function")),)),
)
