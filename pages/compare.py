"""Compare stages: all seven trained with the same seed and sizes, on one chart and in one table."""
import math

import pandas as pd
import streamlit as st

from lib import plots
from lib.config import default_config
from lib.optimizers import OPTIMIZERS
from lib.stages import STAGES
from pages.common import (LR_CHOICES, cached_run, divergence_message, ensure_app_frame, progress_callback,
                          settings_sidebar)

ensure_app_frame()
st.title("Compare stages")
st.markdown("All seven stages trained with the same seed, sizes and number of steps. Each uses its own "
            "tutorial learning rate and update rule unless you choose one lr for all in the sidebar.")
base = settings_sidebar("compare", sizes_only=True)
same_lr = st.sidebar.toggle("One lr for every stage", key="compare_same_lr")
if same_lr:
    st.sidebar.select_slider("lr for every stage", options=LR_CHOICES, value=1e-6, key="compare_lr",
                             format_func=lambda v: f"{v:.0e}")
if base is None:
    st.warning("The settings in the sidebar can't run (the message there says why).")
    st.stop()

bar = st.empty()
results = {}
for i, (name, info) in enumerate(STAGES.items()):
    cfg = default_config(name).with_(n=base.n, d_in=base.d_in, hidden=base.hidden, d_out=base.d_out,
                                     steps=base.steps, seed=base.seed, dtype=base.dtype)
    if same_lr:
        cfg = cfg.with_(lr=st.session_state["compare_lr"])
    on_step = progress_callback(bar, cfg.steps, f"{info.title}", done=i / len(STAGES), share=1 / len(STAGES))
    results[name] = cached_run(name, cfg, _on_step=on_step)
bar.empty()

log_y = st.toggle("Log-scale loss axis", value=True, key="log_y")
curves = [(STAGES[name].title, r.losses) for name, r in results.items()]
diverged = {STAGES[name].title: r.diverged_at for name, r in results.items() if r.diverged_at is not None}
st.plotly_chart(plots.loss_curves(curves, log_y=log_y, title="All stages, same seed", diverged=diverged),
                key="compare_chart", width="stretch")
st.info("**Stages 1, 2 and 3 lie on top of each other.** That is the lesson: the hand-written backward, "
        "`loss.backward()` and the custom `MyReLU` compute the same gradients from the same weights, so "
        "they take the same steps. Stages 4–7 start lower because `nn.Linear` draws small initial "
        "weights (uniform in ±1/√fan_in) where stages 1–3 draw `torch.randn`.")

rows = []
for name, r in results.items():
    cfg = r.config
    update = OPTIMIZERS[cfg.optimizer].label if STAGES[name].uses_optimizer else "by hand"
    to_1pct = plots.first_step_below(r.losses, 0.01)
    rows.append({"stage": STAGES[name].title, "lr": f"{cfg.lr:.0e}", "update": update,
                 "first loss": r.losses[0] if r.losses else math.nan, "final loss": r.final_loss,
                 "steps to 1% of first loss": "never" if to_1pct is None else str(to_1pct),
                 "time (s)": round(r.elapsed_s, 3),
                 "diverged": "—" if r.diverged_at is None else f"at step {r.diverged_at}"})
table = pd.DataFrame(rows)
st.dataframe(table.style.format({"first loss": "{:.3e}", "final loss": "{:.3e}", "time (s)": "{:.3f}"}),
             hide_index=True, width="stretch")
for name, r in results.items():
    if r.diverged_at is not None:
        st.warning(f"**{STAGES[name].title}** — " + divergence_message(r), icon=":material/warning:")
