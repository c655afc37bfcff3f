"""Reading lessons/<id>.toml (the format: docs/lessons.md) into lib.classroom.lessons' Lesson, checked on the way in: a
mistake is a LessonError whose message names the file and the line."""
from __future__ import annotations

import tomllib
from pathlib import Path

from lib.text import i18n
from lib.tutorial.config import QUERY_KEYS, config_from_query, default_config
from lib.classroom.lessons import OUTCOMES, TEXTS, Lesson, Run, Step
from lib.text.messages import CodedError, Message
from lib.explore.optim_internals import K_MAX
from lib.explore.versus import LINK_KEYS, pair_from_query

LESSONS = Path(__file__).resolve().parents[2] / "lessons"


class LessonError(CodedError, ValueError):
    """A lesson file that can't be used; its message names the file and the line."""


def load_lesson(path: Path) -> Lesson:
    """Read and check lessons/<id>.toml; LessonError (naming the file and line) for anything that can't be used."""
    text = path.read_text(encoding="utf-8")
    name = path.name

    def fail(code: str, needle: str | None = None, **values):
        raise LessonError(code, file=name, line=_line_of(text, needle, values.get("step")), **values)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line = getattr(err, "lineno", None) or _line_from_message(str(err))
        raise LessonError("lessons.error.toml", file=name, line=line, detail=str(err).split(" (at")[0]) from None
    for key in ("order", "title", "steps"):
        if key not in data:
            fail("lessons.error.missing", None, name=key)
    if not isinstance(data["order"], int):
        fail("lessons.error.type", "order", name="order")
    title = _texts(data["title"], "title", fail)
    if not isinstance(data["steps"], list) or not data["steps"]:
        fail("lessons.error.type", "steps", name="steps")
    steps = tuple(_step(raw, number, fail) for number, raw in enumerate(data["steps"], start=1))
    return Lesson(path.stem, data["order"], title, steps)


def _texts(value, key: str, fail) -> dict[str, str]:
    if not isinstance(value, dict):
        fail("lessons.error.type", key, name=key)
    for language in i18n.LANGUAGES:
        if not isinstance(value.get(language), str) or not value[language].strip():
            fail("lessons.error.language", key, name=key, language=language)
    return {language: value[language] for language in i18n.LANGUAGES}


def _step(raw: dict, number: int, fail) -> Step:
    for key in ("page", "settings", "outcome", "expect"):
        if key not in raw:
            fail("lessons.error.step_missing", "[[steps]]", step=number, name=key)
    kind = raw["outcome"]
    if kind not in OUTCOMES:
        fail("lessons.error.outcome", str(kind), step=number, kind=kind, kinds=", ".join(OUTCOMES))
    page = raw["page"]
    if page not in OUTCOMES[kind].pages:
        fail("lessons.error.page", str(page), step=number, page=page, kind=kind,
             pages=", ".join(OUTCOMES[kind].pages))
    if raw["expect"] not in OUTCOMES[kind].answers:
        fail("lessons.error.expect", str(raw["expect"]), step=number, expect=raw["expect"],
             answers=", ".join(OUTCOMES[kind].answers))
    settings = raw["settings"]
    if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
        fail("lessons.error.settings_text", "settings", step=number)
    runs = _runs(page, settings, lambda key, detail: fail("lessons.error.setting", f"{key} =", step=number, name=key,
                                                          detail=detail))
    texts = {}
    for language in i18n.LANGUAGES:
        block = raw.get(language)
        for key in TEXTS:
            if not isinstance(block, dict) or not isinstance(block.get(key), str) or not block[key].strip():
                fail("lessons.error.step_text", f"[steps.{language}]", step=number, name=key, language=language)
        texts[language] = {key: block[key] for key in TEXTS}
    return Step(page, dict(settings), kind, raw["expect"], texts, runs)


def _runs(page: str, settings: dict[str, str], refuse) -> tuple[Run, ...]:
    """The jobs the page runs when its link carries `settings` (each page reads its link this way)."""
    extra = {"a_vs_b": LINK_KEYS, "optimizers": ("k",), "custom_function": ("broken",)}.get(page, ())
    for key in settings:
        if key not in QUERY_KEYS and key not in extra:
            refuse(key, Message("lessons.detail.unknown_key", keys=", ".join(QUERY_KEYS + extra)))
    if page == "a_vs_b":
        pair, problems = pair_from_query(settings)
        if problems:
            refuse(_named(problems[0]), problems[0])
        return Run(pair.stage, pair.a), Run(pair.stage, pair.b)
    stage = "optim" if page == "optimizers" else page
    config, problems = config_from_query(settings, default_config(stage))
    if problems:
        refuse(_named(problems[0]), problems[0])
    if page == "optimizers":
        k = settings.get("k", "")
        if not k.isdigit() or not 1 <= int(k) <= K_MAX:
            refuse("k", Message("lessons.detail.k", high=K_MAX))
        return (Run(stage, config, k=int(k)),)
    broken = settings.get("broken", "0")
    if broken not in ("0", "1"):
        refuse("broken", Message("lessons.detail.broken"))
    return (Run(stage, config, broken_relu=broken == "1"),)


def _named(problem: Message) -> str:
    """The link key a refused value belongs to (lib.tutorial.config's and lib.explore.versus's messages name it)."""
    reason = problem.values.get("reason")
    return problem.values.get("name") or reason.values["name"]


def _line_of(text: str, needle: str | None, step: int | None = None) -> int:
    """The first line holding `needle` (a key or value the error is about), from the start of step `step`'s
    table when it is given; else that table's first line, else 1."""
    lines = text.splitlines()
    headers = [number for number, line in enumerate(lines, start=1) if line.strip() == "[[steps]]"]
    start = headers[step - 1] if step is not None and step <= len(headers) else 1
    if needle:
        for number, line in enumerate(lines[start - 1:], start=start):
            if needle in line:
                return number
    return start


def _line_from_message(message: str) -> int:
    marker = "at line "
    return int(message.split(marker)[1].split(",")[0]) if marker in message else 1


def load_lessons(folder: Path = LESSONS) -> dict[str, Lesson]:
    """Every lessons/*.toml, in their `order`."""
    lessons = [load_lesson(path) for path in sorted(folder.glob("*.toml"))]
    return {lesson.id: lesson for lesson in sorted(lessons, key=lambda lesson: (lesson.order, lesson.id))}
