"""Home: what this is, the map of the seven stages, how to use it in class."""
import streamlit as st

from lib.config import default_config
from lib.presets import PRESETS
from lib.stages import STAGES
from pages.common import ensure_app_frame

ensure_app_frame()
st.title("Learning PyTorch with Examples, live")
st.markdown(
    "PyTorch's classic tutorial trains one small network — a two-layer net on random data, "
    "`N, D_IN, H, D_OUT = 64, 1000, 100, 10` — seven times, each time letting PyTorch do a little more of the "
    "work. Here every stage **trains live** with the settings in the sidebar, plots its loss, and puts the "
    "gradient you would write by hand **beside autograd's**, with a table that says whether they agree.")

st.subheader("The seven stages")
for name, info in STAGES.items():
    cfg = default_config(name)
    with st.container(border=True):
        left, right = st.columns([3, 1])
        left.page_link(f"pages/{name}.py", label=f"**{info.title}**")
        left.markdown(info.whats_new)
        update = "torch.optim" if info.uses_optimizer else "by hand"
        right.caption(f"tutorial settings: lr {cfg.lr:.0e}, update {update}"
                      + (f" ({cfg.optimizer})" if info.uses_optimizer else ""))
st.page_link("pages/compare.py", label="**Compare stages**: all seven on one chart", icon=":material/monitoring:")
st.page_link("pages/optimizers.py", label="**Inside the optimizers**: SGD, momentum, Adam, RMSprop and "
             "Adagrad written by hand beside torch.optim", icon=":material/tune:")
st.page_link("pages/mnist.py", label="**MNIST**: the same network on real handwritten digits (the tutorial's "
             "\"coming soon\", built)", icon=":material/draw:")

st.subheader("Lesson presets")
st.caption("Each opens a page with the settings of one lesson; the link in the page's sidebar shares it.")
for preset in PRESETS:
    left, right = st.columns([1, 2])
    left.page_link(f"pages/{preset.page}.py", label=preset.title, query_params=preset.settings,
                   icon=":material/school:")
    right.caption(preset.notice)

st.subheader("Using it in class")
st.markdown(
    "- **Projector:** each page starts from the tutorial's own values; move one slider at a time and let the "
    "class predict the curve before it appears. *Reset to the tutorial's values* brings a stage back.\n"
    "- **Gradients:** on *3. MyReLU*, switch on *Break MyReLU's backward* and watch one row of the table "
    "turn red. Switch the sidebar's dtype to float64 and the errors drop from ~1e-7 to ~1e-15.\n"
    "- **Divergence:** raise lr to 1e-4 on stage 1 (or N to 1000): the summed squared error makes the safe "
    "learning rate depend on N and on the scale of the weights.\n"
    "- **Students:** everyone can open the same server; each browser tab keeps its own settings, and runs "
    "already seen by anyone come back instantly from the cache.")
