"""Home: what this is, the map of the seven stages and a link to every other page, how to use it in class."""
import streamlit as st

from lib.tutorial.config import default_config
from lib.classroom.presets import PRESETS
from lib.text.numbers import lr_text
from lib.tutorial.stages import STAGES
from ui.frame import ensure_app_frame
from ui.links import say_ignored_keys
from ui.text import lang, optimizer_label, t

ensure_app_frame()
st.title(t("home.title"))
st.markdown(t("home.intro"))
say_ignored_keys()   # home reads no setting from a link

st.subheader(t("home.stages"))
for name, info in STAGES.items():
    cfg = default_config(name)
    with st.container(border=True):
        left, right = st.columns([3, 1])
        left.page_link(f"pages/{name}.py", label=f"**{t(f'stage.{name}.title')}**")
        left.markdown(t(f"stage.{name}.whats_new"))
        if info.uses_optimizer:
            right.caption(t("home.tutorial_settings_optim", lr=lr_text(cfg.lr),
                            optimizer=optimizer_label(cfg.optimizer)))
        else:
            right.caption(t("home.tutorial_settings_by_hand", lr=lr_text(cfg.lr)))
# every page of app.py's navigation, in its order, with its icon (tests/test_home_links.py)
st.page_link("pages/lessons.py", label=t("home.link_lessons"), icon=":material/school:")
st.page_link("pages/board.py", label=t("home.link_board"), icon=":material/groups:")
st.page_link("pages/step.py", label=t("home.link_step_mode"), icon=":material/calculate:")
st.page_link("pages/compare.py", label=t("home.link_compare"), icon=":material/monitoring:")
st.page_link("pages/a_vs_b.py", label=t("home.link_a_vs_b"), icon=":material/compare:")
st.page_link("pages/optimizers.py", label=t("home.link_optimizers"), icon=":material/tune:")
st.page_link("pages/mnist.py", label=t("home.link_mnist"), icon=":material/draw:")
st.page_link("pages/experiments.py", label=t("home.link_experiments"), icon=":material/science:")
st.page_link("pages/own_network.py", label=t("home.link_own_network"), icon=":material/account_tree:")

st.subheader(t("home.presets"))
st.caption(t("home.presets_caption"))
for i, preset in enumerate(PRESETS):
    left, right = st.columns([1, 2])
    left.page_link(f"pages/{preset.page}.py", label=t(f"preset.{i}.title"), query_params={**preset.settings, "lang": lang()},
                   icon=":material/school:")
    right.caption(t(f"preset.{i}.notice"))

st.subheader(t("home.class"))
st.markdown(t("home.class_tips"))
