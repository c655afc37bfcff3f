"""Korean a teacher can read aloud: every Korean text, in locales/ and in lessons/, keeps locales/GLOSSARY.md (단계 for
the seven stages only, one word per concept), no particle whose form depends on the word before it is glued to a
placeholder, every template reads whole at edge values, and every file a text names exists."""
from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

import pytest

from lib.text.i18n import EN, KO

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "locales" / "GLOSSARY.md"
HANGUL = "\uac00-\ud7a3"
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
GLOSS = re.compile(rf"(?<=[{HANGUL}])\([A-Za-z][^()]{{0,40}}\)")   # "배치 크기(batch size)": a gloss, not prose
PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)((?:[:!][^{}]*)?)\}(?!\})")
# particles whose form follows the sound before them (가/이, 를/을, ...): wrong for some value of any placeholder
# (the copula 입니다/이고/이며/이면/이다 and words like 이상 read well after anything)
PARTICLE = re.compile(r"""\}[`*'"”’]*(?:\((?:이|으)\)|이라는|라는|이라고|라고|이나|으로|로|은|는|을|를|와|과|가"""
                      r"""|이(?![고며면다상하내후전]))""")


def _lesson_texts() -> list[tuple[str, dict[str, str]]]:
    """(name, {language: text}) for every text of every lessons/*.toml."""
    found = []
    for path in sorted((ROOT / "lessons").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        found.append((f"{path.name}: title", data["title"]))
        for number, step in enumerate(data["steps"], start=1):
            for field in ("do", "question", "why"):
                found.append((f"{path.name}: step {number} {field}",
                              {language: step[language][field] for language in ("en", "ko") if field in step[language]}))
    return found


# (name, English, Korean) for every text on screen
PAIRS = [(key, EN[key], KO[key]) for key in sorted(KO)] + [
    (name, texts.get("en", ""), texts["ko"]) for name, texts in _lesson_texts() if "ko" in texts]


def prose(text: str) -> str:
    """`text` without code, math and glosses: what a teacher reads aloud as Korean."""
    return GLOSS.sub(" ", PLACEHOLDER.sub(" ", CODE.sub(" ", MATH.sub(" ", text))))


def glossary_rows() -> list[tuple[str, str, list[str]]]:
    """(concept, Korean word, rejected variants) from the glossary's table."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("concept", "---"):
            rows.append((cells[0], cells[2], re.findall(r"`([^`]+)`", cells[3])))
    return rows


def test_the_glossary_is_read():
    rows = glossary_rows()
    assert len(rows) >= 15
    words = {concept: korean for concept, korean, _ in rows}
    assert words["parameter"] == "매개변수" and words["optimizer"] == "최적화 알고리즘"
    assert "손으로 쓴" in dict((concept, rejected) for concept, _, rejected in rows)["hand-written (gradient, backward, update)"]


def test_the_lessons_are_read():
    names = [name for name, _, _ in PAIRS]
    assert sum(name.startswith("lr.toml") for name in names) >= 9, names


# ---------------------------------------------------------------- 단계 is a stage
STAGE_WORDS = re.compile(r"\bstages?\b|\{stage\w*[^{}]*\}", re.I)


def stage_slips() -> list[str]:
    """Texts with more 단계 in Korean than stages in English: a step, a phase or a lesson step called 단계."""
    return [f"{name}: {english!r} -> {korean!r}" for name, english, korean in PAIRS
            if prose(korean).count("단계") > len(STAGE_WORDS.findall(english))]


def test_danggye_is_only_a_stage():
    slips = stage_slips()
    assert not slips, "단계 for a step, a phase or a lesson step:\n" + "\n".join(slips)


def test_the_stage_check_finds_a_step_called_danggye():
    assert STAGE_WORDS.findall("Step {k} of {count}") == []
    assert prose("{count}단계 중 {k}단계").count("단계") == 2
    assert len(STAGE_WORDS.findall("stage {stage} has the same loss as stage 1")) == 3


# ---------------------------------------------------------------- one word per concept
def _variant(word: str) -> re.Pattern:
    """`word` as a word of its own: not inside a longer English name, not the tail of a longer Korean word; a
    one-syllable Korean word must stand alone (대 is not 대신)."""
    after = (r"(?![A-Za-z0-9_./(=\-])" if word.isascii() else rf"(?![{HANGUL}])" if len(word) == 1
             else r"(?![A-Za-z])")
    return re.compile(rf"(?<![A-Za-z0-9_./\-{HANGUL}]){re.escape(word)}{after}")


def rejected_in(text: str) -> list[str]:
    found = []
    for concept, _, rejected in glossary_rows():
        found += [f"{word!r} ({concept})" for word in rejected if _variant(word).search(prose(text))]
    return found


def test_no_rejected_variant_in_korean_prose():
    slips = [f"{name}: {found} in {korean!r}" for name, _, korean in PAIRS if (found := rejected_in(korean))]
    assert not slips, "words the glossary refuses:\n" + "\n".join(slips)


def test_the_variant_check_reads_words_not_letters():
    assert rejected_in("파라미터를 갱신합니다") and rejected_in("float32 vs float64")
    assert rejected_in("autograd가 기록합니다") and not rejected_in("`torch.autograd.Function`을 상속합니다")
    assert not rejected_in("대신 Autograd가 기록합니다") and not rejected_in("모멘텀(momentum)")


# ---------------------------------------------------------------- particles and placeholders
def glued(text: str) -> list[str]:
    read = CODE.sub(_keep_placeholders, text)
    return [read[max(0, m.start() - 20):m.end() + 2] for m in PARTICLE.finditer(read)]


def _keep_placeholders(code: re.Match) -> str:
    """A code span that ends in a placeholder stays as that placeholder: "`{name}`를" glues 를 to a name, while
    "`{stage}.py`를" is a file name whose ending is known."""
    last = re.search(r"\{[^{}]*\}(?=`$)", code[0])
    return last[0] + "`" if last else " "


def test_no_particle_glued_to_a_placeholder():
    slips = [f"{name}: {found}" for name, _, korean in PAIRS if (found := glued(korean))]
    assert not slips, "a particle that fits some values and not others:\n" + "\n".join(slips)


def test_the_particle_check_reads_its_examples():
    for bad in ("{second}가 아니라 {first}라는", "*{prediction}*(이)라고", "`{name}`를 쓸 수 없습니다", "{x}은"):
        assert glued(bad), bad
    for good in ("숫자 {n}보다", "실행 결과: **{answer}**입니다", "{count}개", "스텝 {step}에서", "{lr}이고", "{n} 이상"):
        assert not glued(good), good


# ---------------------------------------------------------------- templates at edge values
LONG = "아주 긴 설명이 들어가는 자리의 문구"


def _templates() -> list[tuple[str, str]]:
    return [(key, text) for key, text in sorted(KO.items()) if PLACEHOLDER.search(MATH.sub(" ", text))]


def _values(text: str, edge) -> dict:
    values = {}
    for name, spec in PLACEHOLDER.findall(text):
        kind = spec.lstrip(":!")[-1:] if spec else ""
        if kind in ("e", "f", "g", "%"):
            values[name] = float(edge) if not isinstance(edge, str) else 7.0
        elif kind in (",", "d"):
            values[name] = edge if not isinstance(edge, str) else 7
        else:
            values[name] = edge
    return values


AFTER_VALUE = re.compile(PARTICLE.pattern[len(r"\}"):])


def _after_values(text: str, edge) -> list[str]:
    """What follows each filled-in value in `text` formatted with `edge`, up to the next value."""
    values = _values(text, edge)
    pieces = list(string.Formatter().parse(text))
    return [pieces[i + 1][0] if i + 1 < len(pieces) else "" for i, (_, field, _, _) in enumerate(pieces)
            if field is not None and field in values]


@pytest.mark.parametrize("edge", [0, 1, 3, 7, LONG])
def test_every_korean_template_reads_whole_at_edge_values(edge):
    bad = []
    for key, text in _templates():
        try:
            out = text.format(**_values(text, edge))
        except (KeyError, ValueError, IndexError) as err:
            bad.append(f"{key}: {type(err).__name__} {err}")
            continue
        if PLACEHOLDER.search(MATH.sub(" ", out)) or re.search(r"\{\w+\}", out):
            bad.append(f"{key}: braces left in {out!r}")
        bad += [f"{key}: {edge!r}{after!r} in {out!r}" for after in _after_values(text, edge)
                if AFTER_VALUE.match(after)]
    assert len(_templates()) > 100
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- paths
PATH = re.compile(r"(?<![\w./-])((?:lib|ui|pages|tests|locales|lessons|docs|scripts|bench|deploy)/[A-Za-z0-9_./-]*"
                  r"[A-Za-z0-9_]|app\.py)")


def test_every_file_a_text_names_exists():
    texts = [(key, EN[key]) for key in EN] + [(key, KO[key]) for key in KO]
    texts += [(name, text) for name, by_language in _lesson_texts() for text in by_language.values()]
    named = {(name, path) for name, text in texts for path in PATH.findall(text)}
    assert any(path.startswith("lib/") for _, path in named), "the scan found no path: has the pattern changed?"
    missing = sorted(f"{name}: {path}" for name, path in named if not (ROOT / path).exists())
    assert not missing, "texts name files that do not exist:\n" + "\n".join(missing)


# ---------------------------------------------------------------- the graph's caption and its drawing
def _rank_direction(dot: str) -> str:
    found = re.search(r"""rankdir\s*=\s*"?(\w+)""", dot)
    return found[1] if found else "TB"   # graphviz's default: the first rank at the top


def _said_at(text: str, thing: str, language: str) -> str | None:
    """Where the caption puts `thing` ("parameters", "loss"): "top" or "bottom"."""
    if language == "en":
        found = re.search(rf"\b{thing} \([^)]*at the (top|bottom)\)", text)
        return found and found[1]
    word = {"parameters": "매개변수", "loss": "손실"}[thing]
    found = re.search(rf"{word}\([^)]*(위|아래)쪽\)", text)
    return found and {"위": "top", "아래": "bottom"}[found[1]]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_graph_caption_says_where_the_drawing_puts_the_loss(language):
    """torchviz draws an edge from each input to the operation using it: the parameters come first, the loss
    last, along the graph's rank direction. The caption says the same in every language."""
    from lib.tutorial.config import default_config
    from lib.tutorial.graph import graph_at_step
    config = default_config("autograd").with_(n=4, d_in=5, hidden=3, d_out=2, steps=2)
    dot = graph_at_step("autograd", config, 0).dot
    first, last = {"TB": ("top", "bottom"), "BT": ("bottom", "top")}[_rank_direction(dot)]
    nodes = {name: node for node, name in re.findall(r'^\t(\d+) \[label="?(\w+)', dot, re.M)}
    edges = re.findall(r"^\t(\d+) -> (\d+)", dot, re.M)
    assert {"w1", "w2", "loss"} <= set(nodes)
    assert not [edge for edge in edges if edge[1] in (nodes["w1"], nodes["w2"])], "nothing leads to a parameter"
    assert not [edge for edge in edges if edge[0] == nodes["loss"]], "the loss leads nowhere: the last rank"
    caption = {"en": EN, "ko": KO}[language]["graph.intro"]
    assert _said_at(caption, "parameters", language) == first, caption
    assert _said_at(caption, "loss", language) == last, caption
    manual = {"en": EN, "ko": KO}[language]["graph.intro_manual"]
    from lib.tutorial.graph import manual_backward_graph
    assert _rank_direction(manual_backward_graph(config)[0]) == "TB"
    assert ("above it" in manual) if language == "en" else ("위에 있는" in manual), manual


def test_a_lesson_answer_is_quoted_not_conjugated():
    """A lesson's answers are clauses ("폭발해서 학습이 멈춘다"): a template that holds one shows it after a colon,
    never with a copula or a quoting particle glued on ("멈춘다입니다", "그대로다(이)라고")."""
    answers = [text.format(a="1.0", b="2.0") for key, text in KO.items() if key.startswith("lessons.answer.")]
    assert len(answers) >= 10
    templates = [(key, text) for key, text in KO.items()
                 if {"answer", "prediction", "expected"} & {name for name, _ in PLACEHOLDER.findall(text)}]
    assert len(templates) >= 3
    bad = []
    for key, text in templates:
        for answer in answers:
            out = text.format(**{**_values(text, 7), "answer": answer, "prediction": answer, "expected": answer})
            bad += [f"{key}: {m[0]!r}" for m in re.finditer(r"다[*_]*(?:입니다|이고|이며|이다|\(이\)|이라|라고)", out)]
    assert not bad, "\n".join(sorted(set(bad)))
