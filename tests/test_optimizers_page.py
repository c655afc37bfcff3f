"""The "Inside the optimizers" page through AppTest: every optimizer renders, agrees with torch.optim, reacts to k."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.text.i18n import EN
from lib.tutorial.optimizers import OPTIMIZERS

pytestmark = pytest.mark.slow   # every test here runs a page in AppTest
# The page file alone: ensure_app_frame only acts in Streamlit's legacy pages/ mode, which a script
# opened by itself is not in, so this runs without app.py's navigation.
PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "optimizers.py")


def open_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def marks(at: AppTest, index: int = 0) -> list[str]:
    return list(at.dataframe[index].value[EN["column.match"]])


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_every_optimizer_renders_and_agrees(optimizer):
    at = open_page()
    at.selectbox(key="optimizer").set_value(optimizer).run()
    if OPTIMIZERS[optimizer].uses_momentum:
        at.slider(key="momentum").set_value(0.9).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Inside the optimizers"
    assert any(EN[f"optimizer.{optimizer}"] in h.value for h in at.header)
    assert any(EN[f"rule.{optimizer}"][:40] in m.value for m in at.markdown)
    assert marks(at) == ["✓"] * 4
    assert at.success and "agree" in at.success[0].value
    assert not at.error
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any("update_chart" in c for c in charts)              # the update-size curve
    if optimizer == "sgd":
        assert any("keeps no state" in i.value for i in at.info)
        assert not any("state_heatmap" in c for c in charts)
    else:
        assert any("state_heatmap" in c for c in charts)         # and the state heatmap
        assert set(marks(at, 1)) == {"✓"}


def test_changing_k_changes_the_numbers():
    at = open_page()
    assert at.slider(key="opt_k").value == 20
    before = at.dataframe[0].value[EN["column.torch_norm"]].tolist()
    at.slider(key="opt_k").set_value(5).run()
    assert not at.exception
    after = at.dataframe[0].value[EN["column.torch_norm"]].tolist()
    assert after != before
    assert marks(at) == ["✓"] * 4
    assert any("after 5 steps" in h.value for h in at.header)


def test_state_selectboxes_pick_the_heatmap():
    at = open_page()
    at.selectbox(key="optimizer").set_value("adam").run()
    assert at.selectbox(key="opt_state_name").options == ["exp_avg", "exp_avg_sq"]
    at.selectbox(key="opt_state_name").set_value("exp_avg_sq").run()
    at.selectbox(key="opt_state_param").set_value("2.weight").run()
    at.selectbox(key="opt_update_param").set_value("0.bias").run()
    assert not at.exception, [e.value for e in at.exception]
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("exp_avg_sq of 2.weight" in t for t in titles)
    assert any("Size of each update step: 0.bias" in t for t in titles)


def test_float64_and_a_momentum_optimizer():
    at = open_page()
    at.selectbox(key="optimizer").set_value("rmsprop").run()
    at.slider(key="momentum").set_value(0.9).run()
    at.radio(key="dtype").set_value("float64").run()
    assert not at.exception, [e.value for e in at.exception]
    assert marks(at) == ["✓"] * 4
    assert "float64" in at.success[0].value
    assert set(at.selectbox(key="opt_state_name").options) == {"momentum_buffer", "square_avg"}


def test_the_comparison_is_kept_for_every_later_session():
    """The page's file runs afresh on every rerun: its results must live in a cache that outlives the run."""
    from ui.runs import OPTIMIZER_COMPARISONS
    open_page()
    kept = [key for key in OPTIMIZER_COMPARISONS._done if key[:2] == ("lib.serve.jobs", "optimizer_comparison")]
    assert kept
    assert all(OPTIMIZER_COMPARISONS.cached(key)[0] for key in kept)
