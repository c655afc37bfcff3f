"""Link values honoured or refused out loud (issue 25, item 4), and why a run stalls (item 5)."""
import re
import string
from pathlib import Path

import pytest
import streamlit
import torch
from streamlit.testing.v1 import AppTest

from lib.text.i18n import EN, KO, TEXTS, t
from lib.text.messages import render
from lib.tutorial.config import (QUERY_KEYS, TrainConfig, config_from_query, default_config, difference_label,
                                 query_field)
from lib.tutorial.diagnosis import (JUMP, KEPT, MOMENTUM_DIVERGES, PLAIN_SGD_TRAINS, diagnose_stall,
                                    divergence_cause)
from lib.tutorial.stages import run_stage
from lib.text.numbers import lr_text
from ui.links import SHARE_LINK_CSS, STEP_RANGES, ignored_keys, step_settings_from_link
from ui.sidebar import LR_CHOICES
from ui.stage_page import link_keys
from tests.page_support import open_box

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)((?:[:!][^{}]*)?)\}(?!\})")
PYTHON_ERRORS = ("could not convert", "invalid literal", "must be a whole number from", "Traceback")


def open_link(page: str, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params.update(query)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if w.icon == ":material/link_off:"]


# ---------------------------------------------------------------- reading a link (lib.tutorial.config)
@pytest.mark.parametrize("text, lr", [("5", 5.0), ("3e-6", 3e-6), ("1.5e-06", 1.5e-6), ("0.1", 0.1)])
def test_an_lr_in_range_is_used_as_given(text, lr):
    config, problems = config_from_query({"lr": text}, default_config("tensors"))
    assert config.lr == lr and problems == []


def test_keys_are_read_in_any_case_and_by_the_tutorials_names():
    assert [query_field(key) for key in ("n", "N", "D_IN", "d_out", "H", "hidden", "LR", "Steps", "tab", "lock")] \
        == ["n", "n", "d_in", "d_out", "hidden", "hidden", "lr", "steps", None, None]
    config, problems = config_from_query({"N": "32", "H": "7", "LR": "1e-5"}, default_config("tensors"))
    assert (config.n, config.hidden, config.lr, problems) == (32, 7, 1e-5, [])


@pytest.mark.parametrize("query, shown, default", [
    ({"N": "-5"}, "N=-5", 64), ({"H": "100000000"}, "H=100000000", 100), ({"n": "-5"}, "n=-5", 64),
    ({"Lr": "abc"}, "Lr=abc", 1e-6), ({"optimizer": "Adam"}, "optimizer='Adam'", "sgd"),
    ({"lr": "11"}, "lr=11", 1e-6), ({"steps": "9" * 60}, "steps=" + "9" * 40 + "…", 500),
])
def test_a_value_not_used_is_named_with_what_is_used_instead_in_both_languages(query, shown, default):
    config, problems = config_from_query(query, default_config("tensors"))
    assert len(problems) == 1 and config == default_config("tensors")
    for lang in ("en", "ko"):
        text = render(problems[0], lang)
        assert shown in text and f"{default}" in text, text
        assert not any(error in text for error in PYTHON_ERRORS)
    assert HANGUL.search(render(problems[0], "ko"))


def test_a_field_named_twice_takes_its_own_name_and_says_so():
    config, problems = config_from_query({"N": "7", "n": "5"}, default_config("tensors"))
    assert config.n == 5 and [p.code for p in problems] == ["links.named_twice"]
    assert "N=7" in str(problems[0]) and "n=" in str(problems[0])


def test_step_mode_refuses_with_the_stage_pages_codes():
    settings, problems = step_settings_from_link({"sm_n": "1000", "sm_lr": "abc"})
    _, stage_problems = config_from_query({"n": "-5", "lr": "abc"}, default_config("tensors"))
    assert [p.code for p in problems] == ["link.refused", "link.not_number"]
    assert sorted(p.code for p in stage_problems) == sorted(p.code for p in problems)
    refused = next(p for p in stage_problems if p.code == "link.refused")
    assert problems[0].values["reason"].code == refused.values["reason"].code == "refusal.int_range"
    assert (settings.n, settings.lr) == (2, 0.01)
    for lang in ("en", "ko"):
        texts = [render(p, lang) for p in problems]
        assert "sm_n=1000" in texts[0] and "sm_lr=abc" in texts[1]
        assert not any(error in text for text in texts for error in PYTHON_ERRORS), texts
    # in range, off the slider's grid: used as given
    settings, problems = step_settings_from_link({"sm_lr": "0.003", "sm_speed": "0.3", "SM_HIDDEN": "5"})
    assert (settings.lr, settings.speed, settings.hidden, problems) == (0.003, 0.3, 5, [])
    assert set(STEP_RANGES) == {"sm_n", "sm_d_in", "sm_hidden", "sm_d_out", "sm_seed", "sm_lr", "sm_speed"}


def test_the_lr_control_shows_an_off_grid_value_with_its_digits():
    assert lr_text(3e-6) == "3e-06" and lr_text(1.5e-6) == "1.5e-06" and lr_text(1e-4) == "1e-04"
    assert 2e-6 in LR_CHOICES and 3e-6 not in LR_CHOICES and 1.5e-6 not in LR_CHOICES and 5.0 not in LR_CHOICES


# ---------------------------------------------------------------- the pages
@pytest.mark.slow
@pytest.mark.parametrize("text, lr, shown", [("3e-6", 3e-6, "3e-06"), ("2.5e-6", 2.5e-6, "2.5e-06")])
def test_an_off_grid_lr_trains_as_given_and_the_slider_shows_it(text, lr, shown):
    at = open_link("pages/tensors.py", lr=text, steps="20")
    slider = at.select_slider(key="lr")
    assert slider.value == lr and shown in slider.options
    assert any(f"lr={shown} ·" in c.value for c in at.caption), "the settings used name it as given"
    assert link_warnings(at) == []
    assert at.query_params["lr"] in (repr(lr), [repr(lr)])
    reference = run_stage("tensors", default_config("tensors").with_(lr=lr, steps=20))
    shown = next(m.value for m in at.metric if m.label == EN["metric.final_loss"])
    assert float(shown) == pytest.approx(reference.final_loss, rel=1e-3)
    at.select_slider(key="lr").set_value(1e-6).run()   # back onto the grid: the off-grid option may go
    assert not at.exception and at.select_slider(key="lr").value == 1e-6


@pytest.mark.slow
def test_lr_5_runs_at_5_and_says_it_diverged():
    at = open_link("pages/tensors.py", lr="5", steps="20")
    assert at.select_slider(key="lr").value == 5.0
    assert any(EN["divergence.message"].split("{")[0] in w.value for w in at.warning)


@pytest.mark.slow
def test_korean_page_names_every_value_not_used_in_korean():
    at = open_link("pages/custom_function.py", lang="ko", N="-5", H="100000000", broken="maybe", steps="5")
    warnings = link_warnings(at)
    assert len(warnings) == 3, warnings
    for given in ("N=-5", "H=100000000", "broken=maybe"):
        assert sum(given in w for w in warnings) == 1, (given, warnings)
    assert all(HANGUL.search(w) and not any(e in w for e in PYTHON_ERRORS) for w in warnings), warnings
    assert any("broken=0" in w for w in warnings), "what the page uses instead"
    assert (at.slider(key="n").value, at.slider(key="hidden").value) == (64, 100)


@pytest.mark.slow
def test_a_depth_the_page_cannot_take_is_refused_even_alone_in_the_link():
    at = open_link("pages/dynamic_net.py", depth="99")
    warnings = link_warnings(at)
    assert len(warnings) == 1 and "depth=99" in warnings[0] and "depth=drawn" in warnings[0], warnings
    assert "0, 1, 2, 3" in warnings[0]
    assert at.radio(key="dyn_depth").value == "as in training"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_step_mode_link_refusals_are_in_the_readers_language(lang):
    at = open_link("pages/step.py", lang=lang, sm_n="1000", sm_lr="abc")
    warnings = link_warnings(at)
    assert len(warnings) == 2 and "sm_n=1000" in warnings[0] and "sm_lr=abc" in warnings[1], warnings
    assert not any(error in w for w in warnings for error in PYTHON_ERRORS), warnings
    assert all(bool(HANGUL.search(w)) == (lang == "ko") for w in warnings)
    assert at.slider(key="sm_n").value == 2


@pytest.mark.slow
def test_step_mode_uses_an_off_grid_lr_as_given():
    at = open_link("pages/step.py", sm_lr="0.003")
    assert at.select_slider(key="sm_lr").value == 0.003 and link_warnings(at) == []


@pytest.mark.slow
def test_locks_keep_the_links_values_on_the_next_page_and_stay_in_the_url():
    at = open_link("pages/tensors.py", lr="5e-06", n="32", lock="n,lr", steps="5")
    assert (at.select_slider(key="lr").value, at.slider(key="n").value) == (5e-6, 32)
    at.switch_page("pages/autograd.py").run()
    assert not at.exception
    lr, n = at.select_slider(key="lr"), at.slider(key="n")
    assert (lr.value, n.value) == (5e-6, 32) and lr.disabled and n.disabled
    assert at.slider(key="hidden").value == 100 and not at.slider(key="hidden").disabled
    assert at.query_params["lock"] in ("n,lr", ["n,lr"])
    assert any("lr=5e-06" in c.value and "N=32," in c.value for c in at.caption)
    at.switch_page("pages/nn_module.py").run()   # a stage whose own lr is 1e-4
    assert (at.select_slider(key="lr").value, at.slider(key="n").value) == (5e-6, 32)
    assert at.query_params["lock"] in ("n,lr", ["n,lr"])


@pytest.mark.slow
def test_the_share_link_leaves_room_for_the_copy_button():
    at = AppTest.from_file(APP, default_timeout=600)
    at.context["url"] = "http://localhost:8501/tensors"
    at.query_params.update(steps="5")
    at.switch_page("pages/tensors.py").run()
    assert not at.sidebar.code   # the box draws the link when it is opened
    open_box(at, "share_open")
    assert SHARE_LINK_CSS in " ".join(node.proto.body for node in at.get("html"))
    assert any(c.value.startswith("http://localhost:8501/tensors?") for c in at.sidebar.code)
    bundle = Path(streamlit.__file__).parent / "static" / "static" / "js"
    text = " ".join(path.read_text(errors="ignore") for path in bundle.glob("*.js"))
    assert '"data-testid":`stCode`' in text and "st-key-" in text


# ---------------------------------------------------------------- why a run stalls (lib.tutorial.diagnosis)
@pytest.mark.slow
def test_adam_at_lr_0_1_stalls_for_the_reason_the_message_gives():
    """The issue's run: stage 5 with Adam at lr 1e-1. The loss jumps at step 1, every hidden ReLU unit ends dead for
    every sample, and the loss sits at the best constant output's: what stall.jumped_size_free says."""
    config = default_config("optim").with_(lr=1e-1)
    result = run_stage("optim", config)
    stall = diagnose_stall(result.losses, config)
    assert stall is not None and stall.code == "stall.jumped_size_free"
    assert stall.peak_step == 1 and stall.peak_ratio > JUMP and 0.9 < stall.kept < 1
    hidden = torch.relu(result.x @ result.params["0.weight"].T + result.params["0.bias"])   # (N, H)
    assert (hidden == 0).all(), "every hidden unit gives 0 for every sample"
    best_constant = ((result.y - result.y.mean(0)) ** 2).sum().item()
    assert result.final_loss == pytest.approx(best_constant, rel=1e-4)
    first_step = (config.lr, config.d_in ** -0.5)   # Adam's first step is about lr per weight; nn.Linear's bound
    assert first_step[0] > 3 * first_step[1]
    for lang in ("en", "ko"):
        text = t(stall.code, lang, peak_step=1, peak_ratio=stall.peak_ratio, optimizer="Adam", lr=config.lr,
                 init=config.d_in ** -0.5, total=500, reset="")
        assert "1e-4" in text and "0.032" in text and f"{stall.peak_ratio:.0f}" in text


@pytest.mark.slow   # the tutorial's full runs
@pytest.mark.parametrize("stage", ["tensors", "optim", "dynamic_net"])
def test_the_tutorials_own_runs_do_not_stall(stage):
    config = default_config(stage)
    result = run_stage(stage, config)
    assert result.final_loss < 1e-3 * result.losses[0]
    assert diagnose_stall(result.losses, config) is None


@pytest.mark.slow
def test_an_lr_too_small_is_a_slow_stall_and_a_larger_one_is_none():
    config = default_config("tensors").with_(lr=1e-9)
    result = run_stage("tensors", config)
    stall = diagnose_stall(result.losses, config, uses_optimizer=False)
    assert stall is not None and stall.code == "stall.slow" and stall.peak_step is None
    assert all(later < earlier for earlier, later in zip(result.losses, result.losses[1:])), "still falling"
    assert result.final_loss > KEPT * result.losses[0]
    faster = run_stage("tensors", config.with_(lr=1e-7))
    assert diagnose_stall(faster.losses, faster.config, uses_optimizer=False) is None


def test_a_diverged_run_or_a_short_one_is_no_stall():
    flat = [100.0] * 50
    assert diagnose_stall(flat, TrainConfig()).code == "stall.flat"
    assert diagnose_stall(flat, TrainConfig(), diverged=True) is None
    assert diagnose_stall(flat[:10], TrainConfig()) is None
    jumped = [100.0, 5000.0] + [95.0] * 48
    assert diagnose_stall(jumped, TrainConfig(optimizer="adam")).code == "stall.jumped_size_free"
    assert diagnose_stall(jumped, TrainConfig(optimizer="adam"), uses_optimizer=False).code == "stall.jumped"


@pytest.mark.slow
def test_the_stall_message_is_on_the_stage_page_in_korean():
    at = open_link("pages/optim.py", lang="ko", lr="0.1")
    stalls = [w.value for w in at.warning if w.icon == ":material/trending_flat:"]
    assert len(stalls) == 1 and KO["stall.message"].split(".")[0] in stalls[0], stalls
    assert HANGUL.search(stalls[0]) and "Adam" in stalls[0]
    plain = open_link("pages/optim.py", lang="ko", steps="100")
    assert not [w for w in plain.warning if w.icon == ":material/trending_flat:"]


# ---------------------------------------------------------------- an lr reads as given (lib.text.numbers)
# every text that names the lr a run used or a reader chose; the sweep's texts name the computed points of its grid
LR_TEXTS = ("describe.settings", "divergence.message", "own.diverged", "optim.settings_used",
            "home.tutorial_settings_by_hand", "home.tutorial_settings_optim", "experiments.sine.diverged",
            "device.settings", "stall.jumped_size_free", "stall.jumped", "stall.slow", "mnist_schedule.recipe")
SWEEP_POINTS = ("experiments.sweep.progress", "exp_plot.diverged_hover")


def _filled(text: str, **values) -> str:
    """`text` with every placeholder filled: the given values, 7 for any number, "x" for any other."""
    filled = {}
    for _, name, spec, _ in string.Formatter().parse(text):
        if name and name not in values:
            filled[name] = 7.0 if spec and spec[-1] in "efg%d," else "x"
    return text.format(**filled, **values)


def test_an_lr_reads_with_all_its_digits_and_nothing_more():
    assert [lr_text(lr) for lr in (1e-6, 2.5e-6, 1e-4, 0.1, 5.0, 1.23456789e-6)] == \
        ["1e-06", "2.5e-06", "1e-04", "1e-01", "5e+00", "1.23456789e-06"]
    for lr in [*LR_CHOICES, 3e-6, 2.5e-6, 1 / 3 * 1e-5, 0.123456789, 10.0]:
        assert float(lr_text(lr)) == lr, lr


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_text_that_names_an_lr_shows_an_off_grid_one_as_given(lang):
    for key in LR_TEXTS:
        text = _filled(TEXTS[lang][key], lr=lr_text(2.5e-6))
        assert "2.5e-06" in text and "2e-06" not in text and "3e-06" not in text, (key, text)
    # no text rounds an lr itself (a format spec on an lr placeholder), but the sweep's computed points
    rounding = [key for key, text in TEXTS[lang].items() for name, spec in PLACEHOLDER.findall(text)
                if name.startswith("lr") and spec and key not in SWEEP_POINTS]
    assert rounding == [], rounding


def test_a_legend_names_an_off_grid_lr_as_given():
    a = default_config("tensors").with_(lr=2.5e-6)
    assert difference_label(a, default_config("tensors")) == "lr=2.5e-06"


# ---------------------------------------------------------------- keys a page does not read (ui.links)
def test_a_key_is_ignored_unless_the_frame_the_page_or_its_settings_read_it():
    query = {"lang": "ko", "lock": "lr", "projector": "1", "class": "ABC", "embed": "true", "N": "5", "LR": "1e-5",
             "tab": "graph", "Tab": "graph", "foo": "1", "sm_n": "3", "SM_HIDDEN": "4", "net_lr": "1e-3"}
    assert ignored_keys(query, own={"tab"}, fields=QUERY_KEYS) == ["Tab", "foo", "sm_n", "SM_HIDDEN", "net_lr"]
    assert ignored_keys(query, any_case=STEP_RANGES) == ["N", "LR", "tab", "Tab", "foo", "net_lr"]
    assert ignored_keys(query, own={"net_lr"}, fields=("n",)) == ["LR", "tab", "Tab", "foo", "sm_n", "SM_HIDDEN"]


def test_the_stage_pages_read_their_tabs_choices_and_only_their_own():
    assert link_keys("tensors") == {"tab", "log", "step", "heatmap", "hist"}
    assert link_keys("custom_function") == link_keys("tensors") | {"broken"}
    assert link_keys("dynamic_net") == link_keys("tensors") | {"depth"}


# ---------------------------------------------------------------- what made a run diverge (lib.tutorial.diagnosis)
def test_momentum_is_named_as_a_cause_for_sgd_with_momentum_only():
    momentum = default_config("dynamic_net")
    assert divergence_cause(momentum) == "divergence.momentum"
    assert divergence_cause(momentum, uses_optimizer=False) is None
    assert divergence_cause(momentum.with_(momentum=0.3)) is None
    assert divergence_cause(momentum.with_(optimizer="sgd", momentum=0.0)) is None
    assert divergence_cause(momentum.with_(optimizer="rmsprop")) is None
    for lang in ("en", "ko"):
        text = t("divergence.momentum", lang, momentum=0.9, factor=1 / (1 - 0.9), diverges=lr_text(MOMENTUM_DIVERGES),
                 trains=lr_text(PLAIN_SGD_TRAINS))
        assert "0.9" in text and "10" in text and "7e-04" in text and "2e-03" in text, text


@pytest.mark.slow
def test_stage_7_diverges_at_a_large_lr_for_its_momentum():
    """Stage 7 at a large lr does not stall, it diverges: from MOMENTUM_DIVERGES on with the tutorial's momentum 0.9,
    while plain SGD (momentum 0) still trains at PLAIN_SGD_TRAINS, what divergence.momentum says."""
    config = default_config("dynamic_net")
    assert (config.optimizer, config.momentum) == ("sgd_momentum", 0.9)
    assert run_stage("dynamic_net", config.with_(lr=5e-4)).diverged_at is None
    for lr in (MOMENTUM_DIVERGES, 1e-3, 1e-2, 1e-1):
        result = run_stage("dynamic_net", config.with_(lr=lr))
        assert result.diverged_at is not None, lr
        assert diagnose_stall(result.losses, result.config, diverged=True) is None
    plain = config.with_(optimizer="sgd", momentum=0.0)
    for lr in (MOMENTUM_DIVERGES, 1e-3, PLAIN_SGD_TRAINS):
        result = run_stage("dynamic_net", plain.with_(lr=lr))
        assert result.diverged_at is None and result.final_loss < 0.1 * result.losses[0], lr


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_stage_7s_divergence_names_momentum(lang):
    at = open_link("pages/dynamic_net.py", lang=lang, lr="1e-3", steps="50")
    diverged = [w.value for w in at.warning if w.icon == ":material/warning:"]
    assert len(diverged) == 1 and "lr = 1e-03" in diverged[0], diverged
    assert TEXTS[lang]["divergence.momentum"].split("{")[0] in diverged[0]
    assert not [w for w in at.warning if w.icon == ":material/trending_flat:"]


# ---------------------------------------------------------------- every page honours a link's values or says why not
def reopened(at: AppTest, page: str) -> AppTest:
    """A new session opened from the link the page wrote: it reads it whole, and says nothing."""
    again = open_link(page, **{key: value for key, value in at.query_params.items()})
    assert link_warnings(again) == [], link_warnings(again)
    return again


def said_in(lang: str, warnings: list[str]) -> bool:
    return all(bool(HANGUL.search(w)) == (lang == "ko") and not any(e in w for e in PYTHON_ERRORS) for w in warnings)


def ignored_message(lang: str, keys: str) -> str:
    return TEXTS[lang]["links.keys_ignored"].format(keys=keys)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_stage_page_names_the_keys_it_ignores(lang):
    at = open_link("pages/tensors.py", lang=lang, steps="5", depth="2", Tab="graph", foo="1")
    assert link_warnings(at) == [ignored_message(lang, "depth=2, Tab=graph, foo=1")]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lessons_and_the_board_name_the_keys_they_ignore(lang):
    lessons = open_link("pages/lessons.py", lang=lang, lesson="lr", step="1", lr="1e-3")
    assert link_warnings(lessons) == [ignored_message(lang, "lr=1e-3")]
    assert link_warnings(open_link("pages/lessons.py", lang=lang, lesson="lr", step="1")) == []
    board = open_link("pages/board.py", lang=lang, tab="graph")
    assert link_warnings(board) == [ignored_message(lang, "tab=graph")]
    assert link_warnings(open_link("pages/board.py", lang=lang)) == []


def lr_column(at: AppTest) -> list[str]:
    return list(next(df.value for df in at.dataframe if "lr" in df.value.columns)["lr"])


@pytest.mark.slow
def test_compare_trains_every_stage_at_a_links_lr_as_given():
    at = open_link("pages/compare.py", lr="2.5e-6", steps="5")
    assert at.toggle(key="compare_same_lr").value and at.select_slider(key="compare_lr").value == 2.5e-6
    assert link_warnings(at) == [] and lr_column(at) == ["2.5e-06"] * 7
    assert lr_column(reopened(at, "pages/compare.py")) == ["2.5e-06"] * 7


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_compare_refuses_a_bad_lr_and_an_unused_key_out_loud(lang):
    at = open_link("pages/compare.py", lang=lang, lr="abc", steps="5", optimizer="adam")
    warnings = link_warnings(at)
    assert len(warnings) == 2 and warnings[0] == ignored_message(lang, "optimizer=adam"), warnings
    assert "lr=abc" in warnings[1] and TEXTS[lang]["compare.lr_own"] in warnings[1] and said_in(lang, warnings)
    assert not at.toggle(key="compare_same_lr").value
    assert lr_column(at) == ["1e-06"] * 3 + ["1e-04"] * 4, "each stage's own lr"
    assert "lr" not in at.query_params


@pytest.mark.slow
def test_step_mode_names_the_keys_it_ignores_and_reads_its_own_in_any_case():
    at = open_link("pages/step.py", SM_HIDDEN="5", lr="1e-3")
    assert link_warnings(at) == [ignored_message("en", "lr=1e-3")]
    assert at.slider(key="sm_hidden").value == 5


@pytest.mark.slow
@pytest.mark.parametrize("page", ["pages/custom_function.py", "pages/dynamic_net.py", "pages/optimizers.py"])
def test_a_pages_own_link_reads_whole(page):
    reopened(open_link(page, steps="5"), page)


# page, its slider's key, the link's own keys, an off-grid lr's key and value; a bad value, what is used instead,
# and a key that page does not read
LR_LINKS = {
    "a_vs_b": ("vs_b_lr", dict(vary="lr", steps="5"), "b", "2.5e-6", "abc", "5e-06", "zzz=2"),
    "own_network": ("own_lr", dict(net_steps="5"), "net_lr", "2.5e-6", "50", "0.0001", "lr=1e-3"),
    "experiments": ("sine_lr", dict(tab="sine", sine_steps="5"), "sine_lr", "2.5e-6", "50", "1e-06", "stage=optim"),
    "mnist": ("mnist_lr", dict(), "m_lr", "2.5e-4", "abc", "0.001", "lr=1e-3"),
}


@pytest.fixture
def mnist_data(monkeypatch):
    monkeypatch.setenv("MNIST_ROOT", str(Path(__file__).parents[2] / "shared" / "data"))
    monkeypatch.setenv("MNIST_DOWNLOAD", "0")


@pytest.mark.slow
@pytest.mark.parametrize("page", LR_LINKS)
def test_a_pages_off_grid_lr_is_used_as_given_and_kept_in_its_link(page, mnist_data):
    slider, own, key, given, *_ = LR_LINKS[page]
    at = open_link(f"pages/{page}.py", **own, **{key: given})
    assert at.select_slider(key=slider).value == float(given) and link_warnings(at) == []
    assert reopened(at, f"pages/{page}.py").select_slider(key=slider).value == float(given)
    if page == "a_vs_b":
        assert any("lr=2.5e-06" in m.value for m in at.markdown), "the difference names B's lr as given"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("page", LR_LINKS)
def test_a_pages_bad_lr_and_unknown_key_are_refused_out_loud(page, lang, mnist_data):
    slider, own, key, _, bad, used, unknown = LR_LINKS[page]
    extra = dict([unknown.split("=")])
    at = open_link(f"pages/{page}.py", lang=lang, **own, **{key: bad}, **extra)
    warnings = link_warnings(at)
    assert len(warnings) == 2 and warnings[0] == ignored_message(lang, unknown), warnings
    assert f"{key}={bad}" in warnings[1] and f"{key}={used}" in warnings[1] and said_in(lang, warnings), warnings
    assert at.select_slider(key=slider).value == float(used)
