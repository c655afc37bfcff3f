"""What page tests share: opening a tab of a stage page (ui/stage_page.py draws only the open one), rerunning one
st.fragment as a browser asks for it."""
from unittest import mock

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import local_script_runner

from lib.text import i18n


def open_stage_tab(at: AppTest, tab: str, lang: str = "en", key: str = "stage_tab") -> AppTest:
    """Open a stage page's tab ("loss", "gradients", "graph", "histograms") as a click on it does, and rerun (`key`:
    "own_tab" on the own-network page, which has the same tabs)."""
    at.session_state[key] = i18n.t(f"stage_page.tab.{tab}", lang)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def plotly_values(values) -> list:
    """A series from a chart's JSON spec as a list: plotly sends numpy arrays as {"dtype", "bdata" (base64)}, and
    lists as they are."""
    if isinstance(values, dict) and "bdata" in values:
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def open_box(at: AppTest, key: str) -> AppTest:
    """Open an expander or popover that draws its contents only when open (on_change="rerun": the share link's
    "share_open", a stage page's "code_open"), as a click on it does, and rerun."""
    at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun_fragment(at: AppTest, key: str) -> AppTest:
    """The rerun a widget inside the fragment `@st.fragment(key=key)` asks for: that fragment alone (AppTest itself
    always reruns the whole script; why this reaches into it: tests/test_fragments.py's docstring). The tree it
    leaves holds only what the fragment drew, or the whole page when the fragment asked for a full run."""
    (fragment_id,) = at._fragment_storage.resolve_target(key)   # one call site: the id a browser would send
    real = local_script_runner.RerunData

    def as_the_browser_asks(**kwargs):
        return real(**kwargs, fragment_id=fragment_id)
    with mock.patch.object(local_script_runner, "RerunData", as_the_browser_asks):
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
