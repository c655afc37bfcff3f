"""The frame: page config, navigation over pages/, and the sidebar's heading. Pages do the rest."""
import os

import streamlit as st
import torch

from lib.stages import STAGES

# Sessions are threads of one process on a small machine: one intra-op thread per run keeps concurrent
# runs from fighting over the cores (bench/threads.py measures it). TORCH_THREADS overrides.
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))

st.set_page_config(page_title="Learning PyTorch with Examples", page_icon=":material/school:", layout="wide")

home = st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)
stages = [st.Page(f"pages/{name}.py", title=info.short_title, url_path=name) for name, info in STAGES.items()]
compare = st.Page("pages/compare.py", title="Compare stages", icon=":material/monitoring:", url_path="compare")
mnist = st.Page("pages/mnist.py", title="MNIST: real digits", icon=":material/draw:", url_path="mnist")
optimizers = st.Page("pages/optimizers.py", title="Inside the optimizers", icon=":material/tune:",
                     url_path="optimizers")
page = st.navigation({"Start": [home], "The tutorial, stage by stage": stages,
                      "Putting it together": [compare, optimizers, mnist]})

st.sidebar.markdown("**Learning PyTorch with Examples** · an interactive companion to the tutorial")
try:
    page.run()
except Exception as err:   # a last guard: a short message on screen, never a traceback
    st.error("Something went wrong on this page. The other pages still work; try \"Reset to the tutorial's "
             "values\" in the sidebar, or reload.")
    with st.expander("Details for the teacher"):
        st.text(f"{type(err).__name__}: {err}")
