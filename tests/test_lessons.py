"""Guided lessons: every shipped step loads in both languages, its link opens the page it runs, and through AppTest
its reveal agrees with the run for every choice; a lesson file with a mistake is refused with its file and line."""
import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.text import i18n
from lib.classroom.lesson_files import LessonError, load_lesson, load_lessons
from lib.classroom.lessons import OUTCOMES, is_right, outcome
from lib.text.messages import render
from lib.tutorial.config import QUERY_KEYS, default_config
from lib.tutorial.stages import STAGES, RunSummary
from tests.page_support import plotly_values

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
LESSONS = load_lessons()
STEPS = [(lesson_id, number) for lesson_id, lesson in LESSONS.items() for number in range(1, len(lesson.steps) + 1)]


def open_lessons(query: dict, language: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({**query, "lang": language})
    at.switch_page("pages/lessons.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# ---------------------------------------------------------------- the shipped lessons
def test_the_three_lessons_ship_in_order_with_both_languages():
    assert list(LESSONS) == ["backprop", "lr", "optimizers"]
    for lesson in LESSONS.values():
        assert set(lesson.title) == set(i18n.LANGUAGES)
        for step in lesson.steps:
            assert set(step.texts) == set(i18n.LANGUAGES)
            for texts in step.texts.values():
                assert all(texts[key].strip() for key in ("do", "question", "why"))
            assert step.expect in step.choices
            for language in i18n.LANGUAGES:       # every answer the step offers has its text
                assert all(f"lessons.answer.{step.outcome}.{c}" in i18n.TEXTS[language] for c in step.choices)


def _number(text: str) -> float:
    return float(text)


def observed_answer(at: AppTest, kind: str) -> str:
    """The answer, read off what the revealed page shows (its chart or table), by this test's own reading."""
    if OUTCOMES[kind].job == "run":
        spec = json.loads(next(c for c in at.get("plotly_chart") if c.proto.id.endswith("lesson_chart")).proto.spec)
        lines = [tr for tr in spec["data"] if tr.get("name")]
        # a run that blew up is marked in its line's colour: a cross, or a dashed line with its note at the top
        stopped_colours = {tr["marker"]["color"] for tr in spec["data"] if tr.get("meta") == "stop"} | {
            a["font"]["color"] for a in spec["layout"].get("annotations", [])}
        stopped = [line["line"]["color"] in stopped_colours for line in lines]
        if kind == "loss_trend":
            y = plotly_values(lines[0]["y"])
            if stopped[0]:
                return "diverges"
            return "down" if y[-1] < 0.5 * y[0] else "flat"
        finals = [math.inf if stop else plotly_values(line["y"])[-1] for line, stop in zip(lines, stopped)]
        a, b = finals
        if a == b or abs(a - b) <= 0.01 * max(a, b):
            return "same"
        return "a" if a < b else "b"
    table = at.dataframe[0].value
    marks = list(table[i18n.EN["column.match"]])
    errors = [_number(v) for v in table[i18n.EN["column.rel_error"]]]
    if kind == "failing_rows":
        failing = [row for row, mark in zip(table[i18n.EN["column.parameter"]], marks) if mark == "✗"]
        return {(): "none", ("w1",): "w1", ("w2",): "w2"}.get(tuple(failing), "both")
    if "✗" in marks:
        return "differ"
    return "exact" if all(e == 0 for e in errors) else "close"


@pytest.mark.parametrize("lesson_id", list(LESSONS))
@pytest.mark.slow
def test_every_step_reveals_what_its_run_shows_for_every_choice(lesson_id):
    """Each step through AppTest: predict, reveal, and the verdict agrees with the run's own chart or table, for
    every choice; and the run gives the answer the step's explanation was written for."""
    lesson = LESSONS[lesson_id]
    at = open_lessons({"lesson": lesson_id, "step": "1"})
    for number, step in enumerate(lesson.steps, start=1):
        at.radio(key=f"lesson_step_{lesson_id}").set_value(number).run()
        assert at.query_params["step"] == str(number)
        predict, revealed = f"lesson_predict_{lesson_id}_{number}", f"lesson_revealed_{lesson_id}_{number}"
        assert at.button(key="lesson_reveal").disabled           # no reveal before a prediction
        answer = None
        for choice in step.choices:
            at.session_state[revealed] = False
            at.run()
            at.radio(key=predict).set_value(choice).run()
            at.button(key="lesson_reveal").click().run()
            assert not at.exception, [e.value for e in at.exception]
            answer = answer or observed_answer(at, step.outcome)
            if choice == answer:
                assert at.success and not at.error, (lesson_id, number, choice)
            else:
                assert at.error and not at.success, (lesson_id, number, choice)
            assert not at.warning, [w.value for w in at.warning]    # the run gives the answer `why` explains
        assert answer == step.expect, (lesson_id, number, answer)


@pytest.mark.parametrize("lesson_id", list(LESSONS))
@pytest.mark.slow
def test_every_step_in_korean(lesson_id):
    from tests.test_korean import assert_korean
    lesson = LESSONS[lesson_id]
    at = open_lessons({"lesson": lesson_id, "step": "1"}, "ko")
    for number, step in enumerate(lesson.steps, start=1):
        at.radio(key=f"lesson_step_{lesson_id}").set_value(number).run()
        assert step.texts["ko"]["do"] in [m.value for m in at.markdown]
        assert_korean(at)
        at.radio(key=f"lesson_predict_{lesson_id}_{number}").set_value(step.expect).run()
        at.button(key="lesson_reveal").click().run()
        assert at.success
        assert_korean(at)


@pytest.mark.slow
def test_the_url_carries_the_lesson_and_step():
    at = open_lessons({"lesson": "lr", "step": "3"})
    step = LESSONS["lr"].steps[2]
    assert at.selectbox(key="lesson_id").value == "lr"
    assert at.radio(key="lesson_step_lr").value == 3
    assert step.texts["en"]["do"] in [m.value for m in at.markdown]
    at.radio(key="lesson_predict_lr_3").set_value("flat").run()
    at.button(key="lesson_reveal").click().run()
    assert at.error and at.radio(key="lesson_predict_lr_3").disabled
    at.button(key="lesson_again").click().run()             # hidden again, for the next class
    assert not at.error and at.radio(key="lesson_predict_lr_3").value is None
    assert at.button(key="lesson_reveal").disabled
    at.radio(key="lesson_step_lr").set_value(4).run()
    assert at.query_params["lesson"] == "lr" and at.query_params["step"] == "4"
    link = at.get("page_link")[-1].proto
    assert link.page == "pages/tensors.py" or link.page.endswith("tensors")
    at = open_lessons({"lesson": "nope", "step": "99"})
    assert at.warning                                       # a refused lesson says so and keeps the first
    assert at.selectbox(key="lesson_id").value == "backprop"


@pytest.mark.parametrize("lesson_id, number", STEPS)
@pytest.mark.slow
def test_every_step_link_opens_its_page_with_the_runs_settings(lesson_id, number):
    """The link a step offers opens its page with the settings the step runs, taken as they are."""
    step = LESSONS[lesson_id].steps[number - 1]
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update(step.link())
    at.switch_page(f"pages/{step.page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "link" in w.value], [w.value for w in at.warning]
    config = step.runs[0].config
    # stages 1-4 update by hand: they draw no optimizer or momentum (and their runs do not depend on them)
    by_hand = () if STAGES[step.runs[0].stage].uses_optimizer else ("optimizer", "momentum")
    for name in ("n", "steps", "lr", "optimizer", "momentum", "seed", "dtype"):
        widgets = [w for kind in ("slider", "select_slider", "selectbox", "number_input", "radio")
                   for w in getattr(at, kind) if w.key == name]
        assert len(widgets) == (name not in by_hand), name
        assert all(widget.value == getattr(config, name) for widget in widgets), name
    if step.page == "custom_function":
        assert at.toggle(key="broken_relu").value == step.runs[0].broken_relu
    if step.page == "optimizers":
        assert at.slider(key="opt_k").value == step.runs[0].k
    if step.page == "a_vs_b":
        b = step.runs[1].config
        assert at.selectbox(key="vs_stage").value == step.runs[0].stage
        vary = at.selectbox(key="vs_vary").value
        assert getattr(b, vary) != getattr(config, vary)
        assert next(w for kind in ("selectbox", "select_slider", "slider", "radio", "number_input")
                    for w in getattr(at, kind) if w.key == f"vs_b_{vary}").value == getattr(b, vary)


# ---------------------------------------------------------------- the outcome menu, on runs that go each way
def summary(losses, diverged_at=None) -> RunSummary:
    return RunSummary("tensors", default_config("tensors"), tuple(losses), diverged_at, None, 0.0)


def test_outcomes_follow_the_numbers():
    assert outcome("loss_trend", [summary([10.0, 4.0])]) == "down"
    assert outcome("loss_trend", [summary([10.0, 6.0])]) == "flat"
    assert outcome("loss_trend", [summary([10.0, 4.0], diverged_at=2)]) == "diverges"
    assert outcome("lower_final_loss", [summary([9.0, 1.0]), summary([9.0, 2.0])]) == "a"
    assert outcome("lower_final_loss", [summary([9.0, 1.0], diverged_at=2), summary([9.0, 2.0])]) == "b"
    assert outcome("lower_final_loss", [summary([9.0, 1.0]), summary([9.0, 1.005])]) == "same"
    assert is_right("down", "down") and not is_right("flat", "down")


# ---------------------------------------------------------------- a lesson file with a mistake
GOOD = (ROOT / "lessons" / "lr.toml").read_text(encoding="utf-8")


def error_for(tmp_path, text: str) -> LessonError:
    path = tmp_path / "typo.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LessonError) as caught:
        load_lesson(path)
    return caught.value


def line_of(text: str, needle: str, nth: int = 1) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[nth - 1]


@pytest.mark.parametrize("broken, needle, nth, words", [
    (GOOD.replace('outcome = "loss_trend"\nexpect = "diverges"', 'outcome = "loss_trnd"\nexpect = "diverges"', 1),
     'outcome = "loss_trnd"', 1, "loss_trnd"),
    (GOOD.replace('settings = { lr = "5e-06" }', 'settings = { lr = "fast" }'), 'lr = "fast"', 1, "lr"),
    (GOOD.replace('settings = { lr = "5e-06" }', 'settings = { lr = 5e-06 }'), 'lr = 5e-06', 1, "quotes"),
    (GOOD.replace('settings = { lr = "5e-06" }', 'settings = { lrr = "5e-06" }'), 'lrr =', 1, "lrr"),
    (GOOD.replace('expect = "diverges"', 'expect = "explodes"', 1), 'expect = "explodes"', 1, "explodes"),
    (GOOD.replace('page = "tensors"\nsettings = { lr', 'page = "a_vs_b"\nsettings = { lr', 1), 'page = "a_vs_b"', 1,
     "a_vs_b"),
    (GOOD.replace('settings = { lr = "5e-06" }', 'settings = { lr = "5e-06" ', 1), 'settings = { lr = "5e-06"', 1,
     "cannot be read"),
])
def test_a_lesson_file_with_a_typo_names_file_and_line(tmp_path, broken, needle, nth, words):
    assert broken != GOOD
    err = error_for(tmp_path, broken)
    message = render(err, "en")
    assert "typo.toml" in message and words in message, message
    assert err.values["line"] == line_of(broken, needle, nth), (message, err.values["line"])
    assert "typo.toml" in render(err, "ko")


def test_a_missing_korean_text_is_named(tmp_path):
    broken = GOOD.replace('[steps.ko]\ndo = "같은 단계를', '[steps.ko]\ndoo = "같은 단계를', 1)
    assert broken != GOOD
    err = error_for(tmp_path, broken)
    assert err.values["language"] == "ko" and err.values["name"] == "do" and err.values["step"] == 2
    assert broken.splitlines()[err.values["line"] - 1] == "[steps.ko]"


@pytest.mark.slow
def test_a_broken_lesson_file_is_shown_on_the_page_not_raised(monkeypatch, tmp_path):
    (tmp_path / "typo.toml").write_text(GOOD.replace('expect = "diverges"', 'expect = "explodes"', 1), "utf-8")
    import lib.classroom.lesson_files
    monkeypatch.setattr(lib.classroom.lesson_files, "LESSONS", tmp_path)
    monkeypatch.setattr(lib.classroom.lesson_files.load_lessons, "__defaults__", (tmp_path,))
    at = open_lessons({})
    assert any("typo.toml" in e.value and "explodes" in e.value for e in at.error), [e.value for e in at.error]


def test_the_settings_keys_a_step_may_use_are_the_pages_own():
    for lesson in LESSONS.values():
        for step in lesson.steps:
            extra = {"a_vs_b": {"stage", "vary", "b"}, "optimizers": {"k"}, "custom_function": {"broken"}}
            assert set(step.settings) <= set(QUERY_KEYS) | extra.get(step.page, set())


@pytest.mark.slow
def test_a_run_that_disagrees_with_expect_is_said_on_the_page(monkeypatch, tmp_path):
    """`expect` never marks a prediction: a lesson whose explanation expects the wrong answer still marks the
    class by the run, and says the run came out otherwise."""
    (tmp_path / "wrong.toml").write_text(GOOD.replace('expect = "diverges"', 'expect = "down"', 1), "utf-8")
    import lib.classroom.lesson_files
    monkeypatch.setattr(lib.classroom.lesson_files.load_lessons, "__defaults__", (tmp_path,))
    at = open_lessons({"lesson": "wrong", "step": "2"})
    at.radio(key="lesson_predict_wrong_2").set_value("down").run()
    at.button(key="lesson_reveal").click().run()
    assert at.error and not at.success                     # the run blew up: "down" is wrong, whatever expect says
    assert any("came out differently" in w.value for w in at.warning)


def test_what_the_explanations_say_beyond_the_answer():
    """Numbers the `why` texts rely on: the broken MyReLU's w1 gradient still has a positive cosine with the right
    one (backprop, step 3), and at N = 256 the summed loss's gradient is several times N = 64's (lr, step 3)."""
    from lib.tutorial.gradients import gradient_comparison
    broken = gradient_comparison("custom_function", default_config("custom_function"), 0, broken_relu=True).table
    cosine = broken.set_index("parameter")["cosine"]
    assert 0 < cosine["w1"] < 0.999 and cosine["w2"] == pytest.approx(1.0)
    norms = {n: gradient_comparison("tensors", default_config("tensors").with_(n=n, steps=200), 0)
             .table.set_index("parameter")["autograd_norm"] for n in (64, 256)}
    assert all(norms[256][row] > 2 * norms[64][row] for row in ("w1", "w2"))


@pytest.mark.slow
def test_a_step_runs_no_more_steps_than_its_page_would_offer(monkeypatch):
    import ui.sidebar
    monkeypatch.setattr(ui.sidebar, "allowed_steps", lambda *args: 100)
    at = open_lessons({"lesson": "lr", "step": "1"})
    at.radio(key="lesson_predict_lr_1").set_value("down").run()
    at.button(key="lesson_reveal").click().run()
    assert any("at most 100 steps" in i.value for i in at.info)
    assert any("after 100 steps" in c.value for c in at.caption)
