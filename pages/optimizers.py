"""Inside the optimizers: each update rule written by hand in raw tensors, checked against torch.optim step by step."""
import inspect

import pandas as pd
import streamlit as st

from lib import optim_plots
from lib.config import TrainConfig
from lib.gradients import TOLERANCE
from lib.optim_internals import ALL, HAND_WRITTEN, UPDATE_RULES, OptimizerComparison, compare_optimizer
from lib.optimizers import OPTIMIZERS
from pages.common import ensure_app_frame, settings_sidebar


@st.cache_data(max_entries=32, show_spinner=False)
def cached_comparison(config: TrainConfig, k: int) -> OptimizerComparison:
    return compare_optimizer(config, k)


def comparison_table(table: pd.DataFrame):
    """The table for reading: scientific notation, ✓/✗, failures in red."""
    def sci(v):
        return "—" if pd.isna(v) else f"{v:.3e}"
    labels = [c for c in ("parameter", "state", "shape") if c in table]
    shown = pd.DataFrame({"match": table["allclose"].map({True: "✓", False: "✗"}),
                          **{c: table[c] for c in labels},
                          **{c: table[c].map(sci) for c in ("torch_norm", "manual_norm", "max_abs_diff", "rel_error")}})

    def colour(row):
        return ["background-color: #ffd6d6; color: #8b0000" if row["match"] == "✗" else "" for _ in row]
    return shown.style.apply(colour, axis=1)


ensure_app_frame()
st.title("Inside the optimizers")
st.markdown("`optimizer.step()` is a few lines of tensor arithmetic. Here each optimizer's update is written by "
            "hand in raw tensors and trained beside `torch.optim`'s on stage 5's network, from the same "
            "weights, each side computing its own gradients by autograd. After k steps the two sets of "
            "weights, and what each optimizer remembers between steps, are compared.")
cfg = settings_sidebar("optim")
if cfg is None:
    st.warning("The settings in the sidebar can't run (the message there says why). "
               "Change them, or press \"Reset to the tutorial's values\".")
    st.stop()
k = st.slider("k: training steps compared", 1, 200, value=20, key="opt_k",
              help="Both sides take this many steps; the sidebar's `steps` is not used here.")
st.caption(f"Settings used: N={cfg.n}, D_IN={cfg.d_in}, H={cfg.hidden}, D_OUT={cfg.d_out} · lr={cfg.lr:.0e} · "
           f"{k} steps · seed {cfg.seed} · {cfg.dtype}")

spec = OPTIMIZERS[cfg.optimizer]
st.header(f"{spec.label}: the update rule")
if spec.uses_momentum:
    st.caption(f"momentum μ = {cfg.momentum:g} (from the sidebar)")
st.markdown(UPDATE_RULES[cfg.optimizer])
with st.expander("The hand-written step (from lib/optim_internals.py, via inspect.getsource)"):
    st.code(inspect.getsource(HAND_WRITTEN[cfg.optimizer]), language="python")

try:
    with st.spinner("Training both side by side…"):
        comparison = cached_comparison(cfg, k)
except ValueError as err:
    st.error(f"This can't run: {err}")
    st.stop()
for note in comparison.notes:
    st.warning(note, icon=":material/warning:")
if comparison.k == 0:
    st.stop()

st.header(f"Weights after {comparison.k} steps: hand-written vs torch.optim")
st.markdown("`rel_error` = ‖hand-written − torch‖ / max(‖hand-written‖, ‖torch‖), over each parameter.")
table = comparison.table
st.dataframe(comparison_table(table), hide_index=True, width="stretch")
tol = TOLERANCE[cfg.dtype]
failed = table.loc[~table["allclose"], "parameter"].tolist()
if failed:
    st.error(f"✗ {', '.join(failed)}: the hand-written and torch.optim weights differ (rel_error above {tol:.0e}).")
else:
    st.success(f"✓ All {len(table)} parameters agree after {comparison.k} steps: rel_error ≤ {tol:.0e} ({cfg.dtype}).")
if cfg.dtype == "float32":
    st.info("In float32 the two sides round differently (torch fuses a multiply and an add into one rounding), "
            "and training carries those last-bit differences from step to step, so they grow with k. Switch the "
            "dtype to float64 to see agreement to ~1e-15.", icon=":material/info:")

st.header("What the optimizer remembers")
if not comparison.state_names:
    st.info(f"{spec.label}" + (" with momentum 0" if spec.uses_momentum else "") +
            " keeps no state between steps: each update uses only the current gradient.")
else:
    st.dataframe(comparison_table(comparison.state_table), hide_index=True, width="stretch")
    matrices = [name for name, p in comparison.torch_params.items() if p.dim() == 2]
    cols = st.columns(2)
    parameter = cols[0].selectbox("Parameter", matrices, key="opt_state_param")
    state = cols[1].selectbox("State", comparison.state_names, key="opt_state_name")
    st.plotly_chart(optim_plots.state_heatmaps(parameter, state, comparison.manual_state[parameter][state],
                                               comparison.torch_state[parameter][state]),
                    key="state_heatmap", width="stretch")

st.header("How big each step is")
target = st.selectbox("Update size of", [ALL, *comparison.torch_params], key="opt_update_param")
st.plotly_chart(optim_plots.update_size_curve(comparison.torch_update_sizes[target],
                                              comparison.manual_update_sizes[target], target),
                key="update_chart", width="stretch")
st.caption("‖Δθ‖ is the norm of how far one step moved the weights"
           + (", all parameters together." if target == ALL else f" of {target}."))
