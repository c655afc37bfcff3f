"""One step, every number: each tensor equals the tutorial's own computation, each written-out sum its entry."""
import math
import random
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lib.tutorial import step_mode as sm

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SIZES = [sm.StepSettings(), sm.StepSettings(n=8, d_in=8, hidden=8, d_out=8, seed=7, lr=0.001),
         sm.StepSettings(n=1, d_in=5, hidden=3, d_out=1, seed=123, lr=0.05)]


def tutorial(settings, steps):
    """tests/reference.py's stage 1, keeping every tensor of every step instead of only the loss."""
    torch.manual_seed(settings.seed)
    random.seed(settings.seed)
    N, D_IN, H, D_OUT, lr = settings.n, settings.d_in, settings.hidden, settings.d_out, settings.lr
    x = torch.randn(N, D_IN)
    y = torch.randn(N, D_OUT)
    w1 = torch.randn(D_IN, H)
    w2 = torch.randn(H, D_OUT)
    out = []
    for _ in range(steps):
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)
        step = dict(x=x, y=y, w1=w1.clone(), w2=w2.clone(), h=h, h_relu=h_relu, y_pred=y_pred, loss=loss,
                    grad_y_pred=grad_y_pred, grad_w2=grad_w2, grad_h_relu=grad_h_relu, grad_h=grad_h,
                    grad_w1=grad_w1)
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
        step.update(new_w1=w1.clone(), new_w2=w2.clone())
        out.append(step)
    return out


def walk(settings, steps):
    """The step mode's states after each phase of `steps` steps: [(after forward, backward, update), ...]."""
    state, out = sm.init(settings), []
    for _ in range(steps):
        f = sm.forward(state)
        b = sm.backward(f)
        state = sm.update(b)
        out.append((f, b, state))
    return out


@pytest.mark.parametrize("settings", SIZES)
def test_every_tensor_equals_the_tutorials(settings):
    reference = tutorial(settings, 4)
    for ref, (f, b, u) in zip(reference, walk(settings, 4)):
        for name in ("x", "y", "w1", "w2", "h", "h_relu", "y_pred", "loss"):
            assert torch.equal(f.tensors[name], ref[name]), name
        for name in sm.BACKWARD:
            assert torch.equal(b.tensors[name], ref[name]), name
        assert torch.equal(u.tensors["w1"], ref["new_w1"]) and torch.equal(u.tensors["w2"], ref["new_w2"])
        assert torch.equal(u.tensors["w1_before"], ref["w1"])
    # and the losses equal tests/reference.py's own function
    from tests.reference import tensors as reference_tensors
    losses = reference_tensors(settings.seed, settings.n, settings.d_in, settings.hidden, settings.d_out,
                               settings.lr, 4)
    assert list(walk(settings, 4)[-1][2].losses) == losses


@pytest.mark.parametrize("settings", SIZES)
def test_every_written_out_sum_equals_its_entry(settings):
    checked = 0
    for states in walk(settings, 2):
        for state in states:
            for name in sm.SHOWN:
                if name not in state.tensors:
                    continue
                tensor = state.tensors[name]
                shape = (1, 1) if name == "loss" else tensor.shape
                for i in range(shape[0]):
                    for j in range(shape[1]):
                        text, terms, value = sm.expand_entry(state, name, i, j)
                        entry = tensor.item() if name == "loss" else tensor[i, j].item()
                        assert value == pytest.approx(entry, rel=1e-5, abs=1e-5), text
                        assert value == sum(math.prod(term) for term in terms)
                        assert text.startswith("loss = " if name == "loss" else f"{name}[{i},{j}] = ")
                        checked += 1
    assert checked > 100


def test_the_issues_example_reads_as_written():
    state = sm.backward(sm.forward(sm.init(sm.StepSettings())))
    text, terms, value = sm.expand_entry(state, "grad_w2", 1, 0)
    h_relu, g = state.tensors["h_relu"], state.tensors["grad_y_pred"]
    assert terms == [(h_relu[0, 1].item(), g[0, 0].item()), (h_relu[1, 1].item(), g[1, 0].item())]
    assert text.startswith("grad_w2[1,0] = Σ_n h_relu[n,1]·grad_y_pred[n,0] = ")
    assert text.endswith(f"= {value:.3f}".replace("-", "−"))


def test_relu_and_mask_entries_say_which_side_of_zero():
    settings = sm.StepSettings(n=8, d_in=8, hidden=8, d_out=2, seed=3)
    state = sm.backward(sm.forward(sm.init(settings)))
    h = state.tensors["h"]
    neg = (h < 0).nonzero()[0].tolist()
    text, terms, value = sm.expand_entry(state, "grad_h", *neg)
    assert terms == [] and value == 0 and "< 0" in text
    text, terms, value = sm.expand_entry(state, "h_relu", *neg)
    assert value == 0 and text.startswith(f"h_relu[{neg[0]},{neg[1]}] = max(h[")


def test_reset_replays_exactly():
    settings = sm.StepSettings(seed=11)
    first, second = walk(settings, 3), walk(settings, 3)
    for a, b in zip(first, second):
        for sa, sb in zip(a, b):
            assert sa.tensors.keys() == sb.tensors.keys()
            assert all(torch.equal(sa.tensors[k], sb.tensors[k]) for k in sa.tensors)
    # a reset in the middle of training starts from the same weights again
    assert torch.equal(sm.init(settings).tensors["w1"], first[0][0].tensors["w1"])
    assert not torch.equal(sm.init(sm.StepSettings(seed=12)).tensors["w1"], first[0][0].tensors["w1"])


@pytest.mark.parametrize("settings", SIZES)
def test_autograd_agrees(settings):
    for _, b, _ in walk(settings, 3):
        for name in sm.BACKWARD:
            assert torch.allclose(b.autograd[name], b.tensors[name], rtol=1e-5, atol=1e-6), name


def test_phases_come_in_order():
    state = sm.init(sm.StepSettings())
    with pytest.raises(ValueError, match="order"):
        sm.backward(state)
    with pytest.raises(ValueError, match="order"):
        sm.update(sm.forward(state))
    with pytest.raises(ValueError, match="not been computed"):
        sm.expand_entry(sm.forward(state), "grad_w1", 0, 0)
    # a whole step from any phase ends after an update, one update later
    for s in (state, sm.forward(state), sm.backward(sm.forward(state))):
        done = sm.whole_step(s)
        assert done.phase == "update" and done.step == 1


def test_settings_from_the_link_are_checked():
    settings, problems = sm.settings_from_query({"sm_n": "5", "sm_hidden": "9", "sm_lr": "abc", "sm_seed": "4",
                                                 "n": "64", "sm_speed": "0.5"})
    assert (settings.n, settings.hidden, settings.seed, settings.lr, settings.speed) == (5, 4, 4, 0.01, 0.5)
    assert len(problems) == 2 and problems[0].startswith("sm_hidden=9")
    assert sm.settings_from_query(sm.settings_to_query(settings))[0] == settings
    with pytest.raises(ValueError, match="d_out"):
        sm.StepSettings(d_out=0)


def shown_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.mark.slow
def test_page_walks_forward_backward_update():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/step.py").run()
    assert not at.exception, [e.value for e in at.exception]
    ref = tutorial(sm.StepSettings(), 1)[0]
    assert f"{ref['w1'][0, 0].item():.3f}" in shown_text(at)
    assert at.button(key="sm_do_backward").disabled
    at.button(key="sm_do_forward").click().run()
    assert not at.exception
    assert f"{ref['loss'].item():.3f}" in shown_text(at)
    assert f"{ref['h'][1, 3].item():.3f}" in shown_text(at)
    at.button(key="sm_do_backward").click().run()
    assert not at.exception
    text = shown_text(at)
    assert f"{ref['grad_w1'][2, 1].item():.3f}" in text and "autograd: grad_w1" in text
    at.selectbox(key="sm_entry_tensor").set_value("grad_w2").run()
    at.selectbox(key="sm_entry_row").set_value(1).run()
    at.selectbox(key="sm_entry_col").set_value(0).run()
    assert at.code[0].value.startswith("grad_w2[1,0] = Σ_n h_relu[n,1]·grad_y_pred[n,0] = ")
    assert at.code[0].value.endswith(f"{ref['grad_w2'][1, 0].item():.3f}".replace("-", "−"))
    at.button(key="sm_do_update").click().run()
    assert not at.exception
    assert f"{ref['new_w2'][1, 0].item():.3f}" in shown_text(at)
    assert "w1 (updated)" in shown_text(at)
    # Play runs whole steps; Pause stops; Reset returns to the seed's weights
    at.button(key="sm_play").click().run()
    assert not at.exception
    assert at.session_state["sm_state"].step == 2
    at.button(key="sm_play").click().run()
    at.button(key="sm_do_reset").click().run()
    assert at.session_state["sm_state"].step == 0
    assert torch.equal(at.session_state["sm_state"].tensors["w1"], ref["w1"])
    assert at.query_params["sm_n"] in ("2", ["2"])
    assert at.query_params["sm_lr"] in ("0.01", ["0.01"])


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.slow
def test_page_renders_in_both_languages(lang):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.query_params["sm_hidden"] = "3"
    at.run()
    at.switch_page("pages/step.py").run()
    for button in ("sm_do_forward", "sm_do_backward", "sm_do_update"):
        at.button(key=button).click().run()
        assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == {"en": "One step, every number", "ko": "한 스텝, 모든 숫자"}[lang]
    assert at.session_state["sm_state"].settings.hidden == 3


@pytest.mark.slow
def test_leaving_while_playing_comes_back_paused():
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/step.py").run()
    at.button(key="sm_play").click().run()
    assert at.session_state["sm_playing"]
    step = at.session_state["sm_state"].step
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/step.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.session_state["sm_playing"]
    assert at.button(key="sm_play").label == "Play"
    assert at.session_state["sm_state"].step == step   # paused where it was, not reset
    at.button(key="sm_play").click().run()   # and Play still plays
    assert at.session_state["sm_playing"]
