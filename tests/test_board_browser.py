"""The class board end to end in Chromium: a teacher and three students in separate browser contexts (separate
sessions). The students' runs appear on the board within its refresh period; a lesson poll stays hidden from the
students until the teacher reveals; a student's context cannot reveal, with or without guessing the teacher link."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from tests.browser_support import ARTIFACTS, browser, require_chromium, server, settle  # noqa: F401 (fixtures)

require_chromium()
pytestmark = [pytest.mark.browser, pytest.mark.slow]

REFRESH_S = 3   # pages/board.py's REFRESH_S


@pytest.fixture(scope="module")
def served(server_db, server):   # noqa: F811 - the database's setting first, then the server that reads it
    return server


@pytest.fixture(scope="module", name="server_db")
def server_db():
    folder = tempfile.mkdtemp(prefix="board-browser-")
    before = os.environ.get("CLASS_DB_URL")
    os.environ["CLASS_DB_URL"] = f"sqlite:///{Path(folder) / 'classes.sqlite3'}"
    yield os.environ["CLASS_DB_URL"]
    if before is None:
        os.environ.pop("CLASS_DB_URL", None)
    else:
        os.environ["CLASS_DB_URL"] = before


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_a_teacher_and_three_students(served, browser):   # noqa: F811
    teacher = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    teacher.goto(f"{served}/board?lang=en")
    settle(teacher)
    teacher.get_by_role("button", name="Start a class").click()
    teacher.wait_for_selector("text=Students join at")
    settle(teacher)
    text = teacher.locator("main").inner_text()
    code = re.search(r"\?class=([A-Z0-9]{6})", text).group(1)
    assert "tk=" not in teacher.url
    teacher.get_by_text("Your teacher link (keep it private)").click()
    key = re.search(r"&tk=([A-Za-z0-9_\-]+)", teacher.locator("main").inner_text()).group(1)

    students = []
    for i in range(3):
        student = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
        student.goto(f"{served}/tensors?lang=en&class={code}&n={20 + i}&steps=30")
        settle(student)
        assert f"Class {code}" in student.locator('[data-testid="stSidebar"]').inner_text()
        students.append(student)
    # the board reads what changed every REFRESH_S: the three runs are there within two periods (and the page's
    # own settle), without a reload
    teacher.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => m.innerText.includes('Runs') "
        "&& m.innerText.trim().endsWith('3'))", timeout=(2 * REFRESH_S + 10) * 1000)
    assert metric(teacher, "Students in") == "3" and metric(teacher, "Students who ran") == "3"
    teacher.screenshot(path=str(ARTIFACTS / "board-teacher.png"))
    teacher.wait_for_selector('[data-testid="stPlotlyChart"]', timeout=20_000)
    assert teacher.locator('[data-testid="stPlotlyChart"]').count() >= 2
    teacher.screenshot(path=str(ARTIFACTS / "board-teacher.png"))

    # a poll: one student predicts; the answer waits for the teacher
    first = students[0]
    token = re.search(r"[?&]me=([A-Za-z0-9_\-]+)", first.url).group(1)
    first.goto(f"{served}/lessons?lang=en&class={code}&me={token}&lesson=lr&step=1")
    settle(first)
    first.locator('[data-testid="stRadio"] label').filter(has_text="goes down").first.click()
    settle(first)
    assert first.get_by_text("Your prediction went to the class board").is_visible()
    assert first.get_by_role("button", name="Run and reveal").is_disabled()
    teacher.wait_for_selector("text=the answers stay hidden", timeout=(2 * REFRESH_S + 10) * 1000)

    # a student cannot reveal: the board without the key, or with a guessed one, shows no board and no actions
    for query in (f"class={code}", f"class={code}&tk={'A' * len(key)}"):
        guess = students[1]
        guess.goto(f"{served}/board?lang=en&{query}")
        settle(guess)
        assert guess.get_by_text("only its teacher's link shows it").is_visible()
        assert guess.get_by_role("button", name="Clear").count() == 0
        assert guess.locator('[data-testid="stPlotlyChart"]').count() == 0

    # the teacher reveals from the lessons page (their link carries the key into that session)
    reveal = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    reveal.goto(f"{served}/lessons?lang=en&class={code}&tk={key}&lesson=lr&step=1")
    settle(reveal)
    assert "tk=" not in reveal.url
    reveal.get_by_role("button", name="Run and reveal to the class").click()
    reveal.wait_for_selector("text=The run gave", timeout=60_000)
    teacher.wait_for_selector("text=Predicted by", timeout=(2 * REFRESH_S + 10) * 1000)
    first.reload()                                  # a fresh session of the same link: the prediction is read back
    settle(first)
    assert first.get_by_role("radio", name=re.compile("goes down")).is_checked()
    assert first.get_by_role("button", name="Run and reveal").is_enabled()   # and it may run now
