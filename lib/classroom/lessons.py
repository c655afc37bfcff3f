"""Guided lessons: steps that open a page with its settings, ask the class to predict, and reveal the answer that
the run itself gives. Lessons are data (lessons/<id>.toml, docs/lessons.md); an outcome is one of a fixed menu of
kinds (OUTCOMES), each computed from the results of the step's jobs, never written in the lesson file.
lib.classroom.lesson_files reads and checks the files.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from lib.tutorial.config import QUERY_KEYS, STAGE_NAMES, TrainConfig, config_to_query

DOWN_RATIO = 0.5      # "down": the last loss is below half the first
SAME_WITHIN = 0.01    # "same": two final losses within 1% of the larger
RAW_ROWS = ("w1", "w2")   # the parameters of stages 1-3, the only stages `failing_rows` asks about


@dataclass(frozen=True)
class Kind:
    answers: tuple[str, ...]   # every answer the kind can give; its text is "lessons.answer.<kind>.<answer>"
    job: str                   # what the step runs: "run" (a stage's training), "gradients" (at step 0), "optimizer";
                               # Run.args gives its arguments, pages/lessons.py JOBS the worker's job
    pages: tuple[str, ...]     # the pages whose link gives that job


OUTCOMES = {
    "loss_trend": Kind(("down", "flat", "diverges"), "run", STAGE_NAMES),
    "lower_final_loss": Kind(("a", "b", "same"), "run", ("a_vs_b",)),
    "gradient_match": Kind(("exact", "close", "differ"), "gradients", STAGE_NAMES),
    "failing_rows": Kind(("none", "w1", "w2", "both"), "gradients", ("tensors", "autograd", "custom_function")),
    "optimizer_match": Kind(("exact", "close", "differ"), "optimizer", ("optimizers",)),
}
TEXTS = ("do", "question", "why")   # each step's texts, in every language; lib.classroom.lesson_files reads them


@dataclass(frozen=True)
class Run:
    """One job of a step, as the page its link opens runs it."""
    stage: str
    config: TrainConfig
    broken_relu: bool = False
    k: int = 0             # optimizer comparisons: steps compared

    def args(self, kind: str) -> tuple:
        """The arguments of the job a Kind's `job` names, as the page the link opens hands them over (ui/runs.py
        finds the job and its cache: the same run is one cached result): a stage's training run, its gradients
        at step 0, or an optimizer comparison."""
        if kind == "run":
            return self.stage, self.config, self.broken_relu
        if kind == "gradients":
            return self.stage, self.config, 0, self.broken_relu, None
        return self.config, self.k


@dataclass(frozen=True)
class Step:
    page: str                      # a stage name, "a_vs_b" or "optimizers"
    settings: dict[str, str]       # the link's query parameters
    outcome: str                   # a key of OUTCOMES
    expect: str                    # the answer the `why` text explains: tests check the run gives it; the page
                                   # reveals the run's own answer, and says so when the two part
    texts: dict[str, dict[str, str]]   # language -> {"do", "question", "why"}
    runs: tuple[Run, ...]          # what the page runs, derived from page and settings

    @property
    def choices(self) -> tuple[str, ...]:
        return OUTCOMES[self.outcome].answers

    def link(self) -> dict[str, str]:
        """The query parameters that open the page as the step runs it: every setting spelled out, so a session
        that changed them before still sees the lesson's."""
        query = config_to_query(self.runs[0].config)
        return {**query, **self.settings} if self.page == "a_vs_b" else {**query, **{
            k: v for k, v in self.settings.items() if k not in QUERY_KEYS}}


@dataclass(frozen=True)
class Lesson:
    id: str
    order: int
    title: dict[str, str]          # language -> title
    steps: tuple[Step, ...]


def outcome(kind: str, results: list) -> str:
    """The answer the results give: `results` are the step's jobs' results, in the order of its runs."""
    if kind == "loss_trend":
        return loss_trend(results[0])
    if kind == "lower_final_loss":
        a, b = (math.inf if r.diverged_at is not None or not r.losses else r.final_loss for r in results)
        if a == b or (math.isfinite(a) and math.isfinite(b) and abs(a - b) <= SAME_WITHIN * max(a, b)):
            return "same"
        return "a" if a < b else "b"
    if kind in ("gradient_match", "optimizer_match"):
        table = results[0].table
        if not table["within_tol"].all():
            return "differ"
        return "exact" if (table["rel_error"] == 0).all() else "close"
    if kind == "failing_rows":
        table = results[0].table
        failing = [row for row in RAW_ROWS if not table.loc[table["parameter"] == row, "within_tol"].all()]
        return {(): "none", ("w1",): "w1", ("w2",): "w2"}.get(tuple(failing), "both")
    raise ValueError(f"outcome kind {kind!r} is not one of {', '.join(OUTCOMES)}")


def loss_trend(run) -> str:
    """A stage run's loss: "diverges" when training stopped on a blow-up, "down" below DOWN_RATIO of the first."""
    if run.diverged_at is not None:
        return "diverges"
    return "down" if run.losses and run.final_loss < DOWN_RATIO * run.losses[0] else "flat"


def is_right(prediction: str, answer: str) -> bool:
    return prediction == answer
