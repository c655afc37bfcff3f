"""How a number a reader chose reads in a text: an lr as given, never rounded to another value."""
from __future__ import annotations

MAX_DIGITS = 17   # a float's shortest exact spelling never needs more


def lr_text(lr: float) -> str:
    """`lr` in the fewest digits that read back as the same number: "1e-06", "2.5e-06", "1e-04" (the sliders show
    it so, and every text that names the lr a run used)."""
    for digits in range(MAX_DIGITS):
        text = f"{lr:.{digits}e}"
        if float(text) == lr:
            return text
    return repr(lr)   # nan, inf
