"""Lesson presets: named setups a teacher can jump to, each a page plus URL settings, and what the class will see
there as checkable data (lib/classroom/claims.py; tests/test_claims.py opens every preset's link and checks it)."""
from __future__ import annotations

from dataclasses import dataclass

from lib.classroom.claims import Check, Claim, Then


@dataclass(frozen=True)
class Preset:
    """Preset i's title and what the class should look for are texts (`preset.<i>.title`, `preset.<i>.notice` in
    locales/), in the reader's language; here is what the notice promises, checked."""
    page: str                   # a stage name (its page's url_path)
    settings: dict[str, str]    # URL query parameters, read like any shared link (`tab`: the stage page's tab it opens)
    checks: tuple[Check, ...] = ()   # the notice's promise over the page the link opens
    then: tuple[Then, ...] = ()      # changes the notice asks for, and what they show

    def claim(self, index: int) -> Claim:
        return Claim(f"preset.{index}.notice", self.page, self.settings, self.checks, self.then)


PRESETS = (
    # preset.0: lr too high: it diverges
    Preset("tensors", {"lr": "5e-06"},
           (Check("diverged_at", "<", 10),)),
    # preset.1: the same lr, a bigger batch
    Preset("tensors", {"n": "256", "steps": "200"},
           (Check("diverged_at", "<", 20),),
           (Then({"n": 64}, (Check("diverged", "==", False),
                             Check("autograd_norm", "<", 0.5, rows=("w1", "w2"), versus_before=True))),)),
    # preset.2: float32 against float64 gradients
    Preset("nn_module", {"dtype": "float64", "tab": "gradients"},
           (Check("rel_error", "<", 1e-14),),
           (Then({"dtype": "float32"}, (Check("rel_error", ">", 1e-9), Check("rel_error", "<", 1e-6))),)),
    # preset.3: a wrong backward
    Preset("custom_function", {"broken": "1", "tab": "gradients"},
           (Check("diverged", "==", False), Check("within_tol", "==", False, rows=("w1",)),
            Check("within_tol", "==", True, rows=("w2",)), Check("fd_rel_error", ">", 1e-3, rows=("w1",)),
            Check("fd_rel_error", "<", 1e-6, rows=("w2",)))),
    # preset.4: Adam against SGD
    Preset("optim", {"optimizer": "sgd"},
           (Check("diverged", "==", False),),
           (Then({"optimizer": "adam"}, (Check("final_loss", "<", 1.0, versus_before=True),)),)),
    # preset.5: weight sharing
    Preset("dynamic_net", {"steps": "200", "tab": "gradients"},
           (Check("depth_3_steps", ">", 0), Check("uses", "==", 3),
            Check("within_tol", "==", True, rows=("middle_linear.weight",)))),
)
