"""The frame: page config, the language, navigation over pages/, and the sidebar's heading. Pages do the rest."""
import os

import streamlit as st
import torch

from lib.text.i18n import LANGUAGES
from lib.tutorial.stages import STAGES
from ui.board import class_frame
from ui.frame import app_frame, short_error, write_query
from ui.teacher import apply_view, teacher_view
from ui.text import language_from_link, t

# Sessions are threads of one process on a small machine: one intra-op thread per run keeps concurrent
# runs from fighting over the cores (README: bench/load.py with TORCH_THREADS=1 vs 2). TORCH_THREADS overrides.
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))


def navigation() -> dict[str, list]:
    """The navigation's sections and pages, titled in this session's language."""
    home = st.Page("pages/home.py", title=t("nav.home"), icon=":material/home:", default=True)
    stages = [st.Page(f"pages/{name}.py", title=t(f"stage.{name}.short_title"), url_path=name) for name in STAGES]
    compare = st.Page("pages/compare.py", title=t("nav.compare"), icon=":material/monitoring:", url_path="compare")
    mnist = st.Page("pages/mnist.py", title=t("nav.mnist"), icon=":material/draw:", url_path="mnist")
    optimizers = st.Page("pages/optimizers.py", title=t("nav.optimizers"), icon=":material/tune:",
                         url_path="optimizers")
    experiments = st.Page("pages/experiments.py", title=t("nav.experiments"), icon=":material/science:",
                          url_path="experiments")
    own_network = st.Page("pages/own_network.py", title=t("nav.own_network"), icon=":material/account_tree:",
                          url_path="own_network")
    step_mode = st.Page("pages/step.py", title=t("nav.step_mode"), icon=":material/calculate:", url_path="step")
    lessons = st.Page("pages/lessons.py", title=t("nav.lessons"), icon=":material/school:", url_path="lessons")
    a_vs_b = st.Page("pages/a_vs_b.py", title=t("nav.a_vs_b"), icon=":material/compare:", url_path="a_vs_b")
    board = st.Page("pages/board.py", title=t("nav.board"), icon=":material/groups:", url_path="board")
    return {t("nav.start"): [home, lessons, board], t("nav.stages"): stages,
            t("nav.together"): [step_mode, compare, a_vs_b, optimizers, mnist, experiments, own_network]}


lang = language_from_link()   # before the navigation: its page titles are in this language
view = teacher_view()          # a teacher's link: locked controls, hidden parts, projector mode
st.set_page_config(page_title=t("app.page_title"), page_icon=":material/school:", layout="wide",
                   initial_sidebar_state="collapsed" if view.folds_sidebar else "auto")

# A session keeps its pages for its language: st.Page resolves its file's path on disk, ~0.2 ms a page, 16 pages on
# every rerun (py-spy, bench/load.py). Not shared between sessions: st.navigation marks the page it picks as the one
# allowed to run, and Page.run clears the mark, a state of the object.
if st.session_state.get("nav_language") != lang or "nav_pages" not in st.session_state:
    st.session_state["nav_pages"], st.session_state["nav_language"] = navigation(), lang
page = st.navigation(st.session_state["nav_pages"], expanded=True)   # no "View 6 more": Streamlit's English

st.sidebar.markdown(t("app.heading"))
st.sidebar.radio(t("app.language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
write_query({"lang": lang})
apply_view(view)
class_frame(auto_join=page.url_path != "board")   # the class the link names, on every page
# a control that does not apply (momentum beside Adam) is drawn disabled; Streamlit fades its label to 40 % of the
# text colour (2.4:1), this keeps it lighter than a live label yet readable (5.3:1 on white, 4.7:1 on the sidebar)
st.html('<style>label[data-testid="stWidgetLabel"][disabled] p {color: #6b6b69;}</style>')
with short_error(), app_frame():   # a last guard: a short message on screen, never a traceback
    page.run()
