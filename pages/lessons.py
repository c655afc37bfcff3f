"""Guided lessons: each step opens a page with its settings, asks the class to predict, runs, and reveals what the
run itself shows (lib/classroom/lessons.py computes the answer from the results; lessons/*.toml hold the texts)."""
from dataclasses import replace

import pandas as pd
import streamlit as st

from lib.figures import plots

from lib.serve import jobs, workers
from lib.tutorial.config import difference_label
from lib.classroom.lesson_files import LessonError, load_lessons
from lib.classroom.lessons import OUTCOMES, is_right, outcome
from ui import board
from ui.frame import ensure_app_frame
from ui.links import followed_link, one_of, say_ignored_keys, whole_number, wrote_link
from ui.results import gradient_table, stop_point
from ui.runs import get_many, run_failed_message
from ui.sidebar import allowed_steps
from ui.text import lang, say, t

# what a step runs (lib.classroom.lessons.Kind.job), as the job its page asks for: the same run, one cached result
JOBS = {"run": jobs.train_stage, "gradients": jobs.gradients, "optimizer": jobs.optimizer_comparison}


def answer_label(kind: str, answer: str, names: dict) -> str:
    return t(f"lessons.answer.{kind}.{answer}", **names)


def fitted(runs) -> list:
    """The runs as their pages would take them on this server: the steps (or k, half a run's) cut to what the
    sliders offer at these sizes (lib.serve.limits), the same for both runs of A against B."""
    allowed = min(allowed_steps(run.stage, run.config.n, run.config.d_in, run.config.hidden, run.config.d_out,
                                run.config.dtype, run.config.seed) for run in runs)
    if all(run.config.steps <= allowed and run.k <= max(1, allowed // 2) for run in runs):
        return list(runs)
    st.info(t("lessons.shortened", steps=allowed), icon=":material/timer:")
    return [replace(run, config=run.config.with_(steps=min(run.config.steps, allowed)),
                    k=min(run.k, max(1, allowed // 2))) for run in runs]


def reveal(step, prediction: str, names: dict) -> str | None:
    """Run the step's jobs over the workers, compute its answer from them, and mark the class's prediction.
    Returns the answer (None when a run gave no result)."""
    kind = OUTCOMES[step.outcome]
    runs = fitted(step.runs)
    requests = [(JOBS[kind.job], run.args(kind.job)) for run in runs]
    labels = [t("history.this_run")]
    if len(requests) == 2:
        labels = [f"{run} ({name})" if name else run for run, name in zip(("A", "B"), names.values())]
    results = get_many(requests, [(label, run.k or run.config.steps) for label, run in zip(labels, runs)])
    failed = next((r for r in results if isinstance(r, workers.RunFailed)), None)
    if failed is not None:
        st.error(run_failed_message(failed), icon=":material/timer_off:")
        return None
    answer = outcome(step.outcome, results)
    shown = answer_label(step.outcome, answer, names)
    if prediction is None:   # the teacher revealing to the class without a prediction of their own
        st.info(t("lessons.class_answer", answer=shown), icon=":material/campaign:")
    elif is_right(prediction, answer):
        st.success(t("lessons.right", answer=shown), icon=":material/check_circle:")
    else:
        st.error(t("lessons.wrong", answer=shown, prediction=answer_label(step.outcome, prediction, names)),
                 icon=":material/cancel:")
    if answer != step.expect:
        st.warning(t("lessons.unexpected", expected=answer_label(step.outcome, step.expect, names)),
                   icon=":material/help:")
    st.markdown(f"**{t('lessons.why')}** " + step.texts[lang()]["why"])
    evidence(step, kind.job, labels, results)
    return answer


def evidence(step, job: str, labels: list[str], results: list) -> None:
    """What the answer was read from: the loss curves, or the table the check was made on."""
    if job == "run":
        diverged = {label: stop_point(r) for label, r in zip(labels, results) if r.diverged_at is not None}
        st.plotly_chart(plots.loss_curves([(label, r.losses) for label, r in zip(labels, results)], log_y=True,
                                          title=t("lessons.chart_title"), diverged=diverged, lang=lang()),
                        key="lesson_chart", width="stretch")
        for label, r in zip(labels, results):
            if r.diverged_at is not None:
                st.caption(t("lessons.evidence.diverged", run=label, step=r.diverged_at))
            elif r.losses:
                st.caption(t("lessons.evidence.losses", run=label, first=r.losses[0], last=r.final_loss,
                             steps=len(r.losses)))
    elif job == "gradients":
        st.dataframe(gradient_table(results[0].table), hide_index=True, width="stretch")
        st.caption(t("lessons.evidence.gradients"))
    else:
        table = results[0].table
        st.dataframe(pd.DataFrame({t("column.match"): table["within_tol"].map({True: "✓", False: "✗"}),
                                   t("column.parameter"): table["parameter"],
                                   t("column.rel_error"): table["rel_error"].map(lambda v: f"{v:.3e}")}),
                     hide_index=True, width="stretch")
        st.caption(t("lessons.evidence.optimizer", k=results[0].k))


def ask_again(predict_key: str, revealed_key: str) -> None:
    """Hide the answer and clear the prediction, for the next class."""
    st.session_state[predict_key] = None
    st.session_state[revealed_key] = False


ensure_app_frame()
# A step's link opens a settings page: forget which page the sidebar was last on, so that page reads the link.
st.session_state.pop("sidebar_stage", None)
st.title(t("lessons.title"))
st.markdown(t("lessons.intro"))
try:
    lessons = load_lessons()
except LessonError as err:
    st.error(say(err), icon=":material/error:")
    st.stop()

language = lang()
say_ignored_keys(("lesson", "step"))   # a lesson's link names the lesson and its question, nothing else
followed_link("lesson", "lesson_id", one_of(*lessons))
lesson_id = st.selectbox(t("lessons.choose"), list(lessons), key="lesson_id",
                         format_func={key: lesson.title[language] for key, lesson in lessons.items()}.get)
wrote_link("lesson", "lesson_id", lesson_id)
lesson = lessons[lesson_id]
count = len(lesson.steps)
step_key = f"lesson_step_{lesson_id}"
followed_link("step", step_key, whole_number(1, count))
# format_func looks labels up in a dict made now: AppTest calls it outside the page's run
number = st.radio(t("lessons.step"), list(range(1, count + 1)), key=step_key, horizontal=True,
                  format_func={k: t("lessons.step_of", k=k, count=count) for k in range(1, count + 1)}.get)
wrote_link("step", step_key, number)
step = lesson.steps[number - 1]
texts = step.texts[language]

st.subheader(t("lessons.step_heading", k=number, count=count))
st.markdown(texts["do"])
st.page_link(f"pages/{step.page}.py", label=t("lessons.open_page"), query_params={**step.link(), "lang": language},
             icon=":material/open_in_new:")
names = {"a": "", "b": ""}
if len(step.runs) == 2:
    names = {"a": difference_label(step.runs[0].config, step.runs[1].config),
             "b": difference_label(step.runs[1].config, step.runs[0].config)}
predict_key = f"lesson_predict_{lesson_id}_{number}"
revealed_key = f"lesson_revealed_{lesson_id}_{number}"
revealed = st.session_state.get(revealed_key, False)
# in a class (ui.board): a student's prediction goes to the teacher's board, and the answer waits for the teacher
in_class, teaching = board.current_seat() is not None, board.current_class() is not None and board.is_teacher()
seen = board.own_poll(lesson_id, number) if in_class and not revealed else None
if seen is not None and seen.choice in step.choices and predict_key not in st.session_state:
    st.session_state[predict_key] = seen.choice   # a reload: the prediction this student made is on the board
    board.remember_answer(lesson_id, number, seen.choice)
prediction = st.radio(f"**{t('lessons.predict')}** {texts['question']}", step.choices, index=None, key=predict_key,
                      format_func={c: answer_label(step.outcome, c, names) for c in step.choices}.get,
                      disabled=revealed)
board.post_answer_once(lesson_id, number, prediction)
waiting = in_class and not revealed and (seen is None or seen.answer is None)
if not revealed:
    st.button(t("lessons.class_reveal" if teaching else "lessons.reveal"), key="lesson_reveal",
              disabled=(prediction is None and not teaching) or waiting, type="primary",
              icon=":material/play_arrow:", on_click=st.session_state.__setitem__, args=(revealed_key, True))
    if waiting and prediction is not None:
        st.info(t("lessons.class_wait"), icon=":material/hourglass_top:")
    elif prediction is None:
        st.caption(t("lessons.predict_first"))
if revealed:
    answer = reveal(step, prediction, names)
    if teaching and answer is not None:
        board.reveal(lesson_id, number, answer)
    st.button(t("lessons.again"), key="lesson_again", icon=":material/replay:", on_click=ask_again,
              args=(predict_key, revealed_key))
    if number < count:
        st.caption(t("lessons.next_hint"))
