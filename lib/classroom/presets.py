"""Lesson presets: named setups a teacher can jump to, each a page plus URL settings, and what the class will see
there as checkable data (lib/classroom/claims.py; tests/test_claims.py opens every preset's link and checks it)."""
from __future__ import annotations

from dataclasses import dataclass

from lib.classroom.claims import Check, Claim, Then


@dataclass(frozen=True)
class Preset:
    title: str
    page: str                   # a stage name (its page's url_path)
    settings: dict[str, str]    # URL query parameters, read like any shared link (`tab`: the stage page's tab it opens)
    notice: str                 # what the class should look for
    checks: tuple[Check, ...] = ()   # the notice's promise over the page the link opens
    then: tuple[Then, ...] = ()      # changes the notice asks for, and what they show

    def claim(self, index: int) -> Claim:
        return Claim(f"preset.{index}.notice", self.page, self.settings, self.checks, self.then)


PRESETS = (
    Preset("lr too high: watch it diverge", "tensors", {"lr": "5e-06"},
           "Five times the tutorial's lr: the loss explodes within a few steps and training stops there.",
           (Check("diverged_at", "<", 10),)),
    Preset("Same lr, bigger batch", "tensors", {"n": "256", "steps": "200"},
           "The tutorial's lr, but N = 256: the loss is a sum over N rows, so it and its gradient grow with N "
           "(at step 0 here, 2 to 5 times N = 64's) and the same lr now diverges. Set N back to 64 and it trains.",
           (Check("diverged_at", "<", 20),),
           (Then({"n": 64}, (Check("diverged", "==", False),
                             Check("autograd_norm", "<", 0.5, rows=("w1", "w2"), versus_before=True))),)),
    Preset("float32 vs float64 gradients", "nn_module", {"dtype": "float64", "tab": "gradients"},
           "On 4. nn.Sequential, hand-written and autograd gradients agree to ~1e-16 in float64; switch dtype to "
           "float32 and the rel_error column rises to ~1e-7. (On stages 1–3 rel_error is exactly 0 in both: the "
           "hand-written backward does the same floating-point operations as autograd's, in the same order.)",
           (Check("rel_error", "<", 1e-14),),
           (Then({"dtype": "float32"}, (Check("rel_error", ">", 1e-9), Check("rel_error", "<", 1e-6))),)),
    Preset("A wrong backward", "custom_function", {"broken": "1", "tab": "gradients"},
           "MyReLU's backward forgets the mask: training still runs, but the w1 row turns red, and the "
           "finite differences show it is autograd's gradient that is wrong.",
           (Check("diverged", "==", False), Check("within_tol", "==", False, rows=("w1",)),
            Check("within_tol", "==", True, rows=("w2",)), Check("fd_rel_error", ">", 1e-3, rows=("w1",)),
            Check("fd_rel_error", "<", 1e-6, rows=("w2",)))),
    Preset("Adam vs SGD", "optim", {"optimizer": "sgd"},
           "The optim stage with plain SGD at lr 1e-4; then choose Adam in the row over the loss chart and "
           "overlay the two runs: Adam ends lower.",
           (Check("diverged", "==", False),),
           (Then({"optimizer": "adam"}, (Check("final_loss", "<", 1.0, versus_before=True),)),)),
    Preset("Weight sharing", "dynamic_net", {"steps": "200", "tab": "gradients"},
           "Pick a training step where middle_linear ran 3 times (step 0 is one): three gradient terms add up to "
           "the one autograd stores.",
           (Check("depth_3_steps", ">", 0), Check("uses", "==", 3),
            Check("within_tol", "==", True, rows=("middle_linear.weight",)))),
)
