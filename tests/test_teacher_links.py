"""Teacher links: locked and hidden controls, projector mode, and the link's options and QR code."""
import base64
import json
from pathlib import Path

import pytest
import segno
import streamlit
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from lib.text.i18n import EN, KO
from lib.text.messages import render
from lib.classroom.qr import qr_code, qr_svg
from lib.figures.replay_plots import FRAMES, frame_ends, loss_replay
from lib.classroom.teacher import HIDEABLE, LOCKABLE, TeacherView, view_from_query
from ui.teacher import HIDE_SIDEBAR_CSS, PROJECTOR_CSS
from tests.page_support import open_box, plotly_values

APP = str(Path(__file__).resolve().parents[1] / "app.py")
URL = "http://localhost:8501/tensors"


def open_link(page: str, url: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if url:
        at.context["url"] = url
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def styles(at: AppTest) -> str:
    return " ".join(node.proto.body for node in at.get("html"))


# ---------------------------------------------------------------- reading a link (lib.classroom.teacher)
def test_a_link_is_read_through_the_allow_lists():
    view, problems = view_from_query({"lock": "lr, n,lr", "hide": "sidebar", "projector": "1"})
    assert view == TeacherView(locked=("n", "lr"), hidden=("sidebar",), projector=True) and problems == []
    assert view.to_query() == {"lock": "n,lr", "hide": "sidebar", "projector": "1"}
    assert view_from_query(view.to_query()) == (view, [])
    assert view.folds_sidebar and TeacherView(hidden=("sidebar",)).folds_sidebar and not TeacherView().folds_sidebar
    assert TeacherView().to_query() == {}


@pytest.mark.parametrize("query, code", [
    ({"lock": "lr,password"}, "teacher.unknown"), ({"hide": "everything"}, "teacher.unknown"),
    ({"projector": "yes"}, "teacher.not_switch"), ({"lock": "n," * 100}, "teacher.too_long"),
])
def test_anything_else_is_refused_with_a_message(query, code):
    view, problems = view_from_query(query)
    assert [p.code for p in problems] == [code]
    assert view.locked in ((), ("lr",)) and view.hidden == () and view.projector is False
    for lang in ("en", "ko"):
        assert next(iter(query)) in render(problems[0], lang)


def test_a_refused_name_is_echoed_safely():
    _, problems = view_from_query({"lock": "lr,[x](javascript:alert(1))"})
    text = render(problems[0])
    assert "[" not in text and "](" not in text


# ---------------------------------------------------------------- locked controls on the page
@pytest.mark.slow
def test_locked_controls_keep_the_links_values_and_cannot_be_changed():
    at = open_link("pages/tensors.py", lock="lr,n", lr="2e-06", n="32")
    lr, n = at.select_slider(key="lr"), at.slider(key="n")
    assert (lr.value, n.value) == (2e-6, 32) and lr.disabled and n.disabled
    assert not at.slider(key="hidden").disabled and not at.number_input(key="seed").disabled
    assert any(EN["settings.lr"] in c.value and "🔒" in c.value for c in at.sidebar.caption)
    final = next(m.value for m in at.metric if m.label == "final loss")
    with pytest.raises(AppTestError):   # as in a browser: a disabled widget takes no input
        at.select_slider(key="lr").set_value(1e-3)
    # a value that reaches the session anyway (a forged message, a reset) does not move it
    at.session_state["lr"], at.session_state["n"] = 1e-3, 8
    at.run()
    assert (at.select_slider(key="lr").value, at.slider(key="n").value) == (2e-6, 32)
    at.button(key="reset").click().run()
    assert (at.select_slider(key="lr").value, at.slider(key="n").value) == (2e-6, 32)
    assert at.slider(key="hidden").value == 100
    assert next(m.value for m in at.metric if m.label == "final loss") == final
    assert any("N=32," in c.value and "lr=2e-06" in c.value for c in at.caption)
    assert at.query_params["lock"] in ("n,lr", ["n,lr"])


@pytest.mark.slow
def test_a_lock_outlives_a_page_switch_which_clears_the_url():
    at = open_link("pages/tensors.py", lock="seed")
    at.switch_page("pages/autograd.py").run()
    assert not at.exception and at.number_input(key="seed").disabled
    assert at.query_params["lock"] in ("seed", ["seed"])


@pytest.mark.parametrize("lang, texts", [("en", EN), ("ko", KO)])
@pytest.mark.slow
def test_an_unknown_name_gives_a_warning_in_the_readers_language(lang, texts):
    at = open_link("pages/tensors.py", lang=lang, lock="lr,everything")
    warnings = [w.value for w in at.warning]
    expected = texts["teacher.link_problem"].split("{")[0]
    assert any(w.startswith(expected) and "everything" in w for w in warnings), warnings
    assert at.select_slider(key="lr").disabled, "the names that are allowed still lock"


# ---------------------------------------------------------------- hidden parts and projector mode
@pytest.mark.slow
def test_hide_sidebar_hides_it_and_folds_it(monkeypatch):
    states = []
    original = streamlit.set_page_config
    monkeypatch.setattr(streamlit, "set_page_config",
                        lambda *a, **kw: (states.append(kw.get("initial_sidebar_state")), original(*a, **kw))[1])
    at = open_link("pages/tensors.py", hide="sidebar")
    assert HIDE_SIDEBAR_CSS in styles(at) and PROJECTOR_CSS not in styles(at)
    assert states[-1] == "collapsed"
    plain = open_link("pages/tensors.py")
    assert HIDE_SIDEBAR_CSS not in styles(plain) and states[-1] == "auto"


def test_the_css_fits_streamlits_own_frontend():
    """The selectors are the data-testid values Streamlit's frontend gives the sidebar and its open button; its
    text sizes are in rem, from a root font size it sets on html, which projector mode raises."""
    bundle = Path(streamlit.__file__).parent / "static" / "static" / "js"
    text = " ".join(path.read_text(errors="ignore") for path in bundle.glob("*.js"))
    assert "html{font-size:`,e.fontSizes.baseFontSize,`px;}" in text
    assert "baseFontSize:16,twoSm:`0.75rem`,sm:`0.875rem`,md:`1rem`" in text
    assert PROJECTOR_CSS.startswith("html {font-size: 24px")
    for test_id in ("stSidebar", "stExpandSidebarButton"):
        assert f'[data-testid="{test_id}"]' in HIDE_SIDEBAR_CSS
        assert f'"data-testid":`{test_id}`' in text, test_id


@pytest.mark.slow
def test_hide_code_leaves_out_the_tutorials_code():
    shown = open_box(open_link("pages/tensors.py"), "code_open")
    hidden = open_box(open_link("pages/tensors.py", hide="code"), "code_open")
    assert len(shown.code) >= 1 and len(hidden.code) == 0
    assert [e.label for e in hidden.expander if e.label == EN["source.tutorial"]] == []


@pytest.mark.slow
def test_projector_mode_enlarges_type_folds_the_sidebar_and_replays_the_loss(monkeypatch):
    states = []
    original = streamlit.set_page_config
    monkeypatch.setattr(streamlit, "set_page_config",
                        lambda *a, **kw: (states.append(kw.get("initial_sidebar_state")), original(*a, **kw))[1])
    at = open_link("pages/tensors.py", projector="1", steps="100")
    assert PROJECTOR_CSS in styles(at) and states[-1] == "collapsed"
    replay = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if json.loads(c.proto.spec).get("frames"))
    buttons = replay["layout"]["updatemenus"][0]["buttons"]
    last = replay["frames"][-1]["data"][0]["y"]
    assert len(replay["frames"]) == len(frame_ends(100)) and [b["method"] for b in buttons] == ["animate"] * 2
    assert buttons[0]["label"] == EN["plot.replay_play"]
    # the replay plays on the loss chart itself (issue 22): the page's one chart, showing the whole run
    assert len(at.get("plotly_chart")) == 1 and _decoded(replay["data"][0]["y"]) == _decoded(last)
    plain = open_link("pages/tensors.py", steps="100")
    assert not any(json.loads(c.proto.spec).get("frames") for c in plain.get("plotly_chart"))
    assert _decoded(last) == pytest.approx(_decoded(_loss_chart_y(plain)))   # the run the plain page shows


def _loss_chart_y(at: AppTest):
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if not json.loads(c.proto.spec).get("frames"))
    return plotly_values(spec["data"][0]["y"])


def _decoded(values):
    """Plotly sends numpy arrays as {dtype, bdata}: back to a list of floats."""
    import numpy as np
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_the_replay_shows_the_run_step_by_step_on_fixed_axes():
    losses = [100.0 / (k + 1) for k in range(500)]
    ends = frame_ends(len(losses))
    assert len(ends) == FRAMES and ends[-1] == 500 and ends == sorted(set(ends))
    assert frame_ends(7) == [1, 2, 3, 4, 5, 6, 7] and frame_ends(0) == [0]
    fig = loss_replay(losses, log_y=True, lang="ko")
    assert [len(frame.data[0].y) for frame in fig.frames] == ends
    assert list(fig.frames[-1].data[0].y) == losses
    assert fig.layout.yaxis.range[0] < 0.2 < 100 < 10 ** fig.layout.yaxis.range[1]   # log10 range spans the run
    assert fig.layout.xaxis.range[1] == 499
    assert fig.layout.updatemenus[0].buttons[0].label == KO["plot.replay_play"]


# ---------------------------------------------------------------- "Link to this setup" and its QR code
def shared_link(at: AppTest) -> str:
    return next(c.value for c in at.sidebar.code if c.value.startswith("http"))


def shown_qr(at: AppTest) -> str:
    images = [img for node in at.sidebar.get("image") for img in node.proto.imgs]
    assert len(images) == 1
    header, data = images[0].url.split(",", 1)
    assert header == "data:image/svg+xml;base64"
    return base64.b64decode(data).decode()


def as_streamlit_sends(svg: str) -> str:
    """st.image adds the SVG namespace that inline SVG leaves out, and nothing else."""
    return svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)


@pytest.mark.slow
def test_the_link_offers_the_teachers_options_and_its_qr_code_is_that_link():
    at = open_box(open_link("pages/tensors.py", url=URL), "share_open")
    link = shared_link(at)
    assert "lock=" not in link and "projector" not in link
    assert shown_qr(at) == as_streamlit_sends(qr_svg(link))
    at.multiselect(key="share_lock").set_value(["lr", "n"])
    at.multiselect(key="share_hide").set_value(["code"])
    at.toggle(key="share_projector").set_value(True).run()
    link = shared_link(at)
    assert link.startswith(URL + "?") and link.endswith("&lock=n,lr&hide=code&projector=1")
    assert shown_qr(at) == as_streamlit_sends(qr_svg(link))
    assert not at.select_slider(key="lr").disabled, "the options shape the link, not this session"
    # the link, opened in a fresh session, locks and hides what it says
    query = dict(pair.split("=", 1) for pair in link.split("?", 1)[1].split("&"))
    fresh = open_box(open_link("pages/tensors.py", **query), "code_open")
    assert fresh.select_slider(key="lr").disabled and fresh.slider(key="n").disabled and len(fresh.code) == 0
    assert PROJECTOR_CSS in styles(fresh)


@pytest.mark.slow
def test_a_link_made_from_a_teachers_link_keeps_its_locks():
    at = open_box(open_link("pages/tensors.py", url=URL, lock="seed", projector="1"), "share_open")
    assert at.multiselect(key="share_lock").value == ["seed"] and at.toggle(key="share_projector").value
    assert shared_link(at).endswith("&lock=seed&projector=1")


def test_the_qr_code_holds_exactly_the_link():
    link = URL + "?n=64&d_in=1000&hidden=100&d_out=10&steps=500&seed=0&dtype=float32&lr=1e-06&lock=n,lr"
    code = qr_code(link)
    assert code.mode == "byte" and not code.is_micro and code.error == "M"
    # the same matrix as segno makes for the same text, and a different one for a link one character off
    assert code.matrix == segno.make(link, error="m", micro=False, boost_error=False).matrix
    assert code.matrix != qr_code(link[:-1] + "n").matrix
    # the smallest version that holds the link's bytes at level M
    assert code.version == segno.make(link, error="m", micro=False, boost_error=False).version
    assert segno.make("x" * len(link.encode()), error="m", micro=False, boost_error=False, mode="byte").version \
        == code.version
    svg = qr_svg(link)
    assert svg.startswith("<svg") and 'viewBox="0 0' in svg and "width=" not in svg.split(">")[0]


def test_lockable_names_are_the_sidebars_widget_keys():
    from lib.tutorial.config import CONFIG_FIELDS
    assert set(LOCKABLE) <= set(CONFIG_FIELDS) and HIDEABLE == ("sidebar", "code")


@pytest.mark.slow
def test_everything_a_teachers_link_adds_is_korean_in_korean():
    from tests.test_korean import assert_korean
    at = open_link("pages/tensors.py", url=URL, lang="ko", lock="lr,n,dtype,nothing", hide="code",
                   projector="yes", steps="50")
    assert len(at.warning) == 2
    at = open_box(open_box(at, "share_open"), "code_open")   # the boxes that draw their texts when opened
    assert_korean(at)
    at.toggle(key="share_projector").set_value(True).run()
    at = open_link("pages/tensors.py", url=URL, lang="ko", projector="1", steps="50")
    at = open_box(open_box(at, "share_open"), "code_open")
    assert any(json.loads(c.proto.spec).get("frames") for c in at.get("plotly_chart"))
    assert_korean(at)
