"""The code a stage page shows first is the tutorial's, and running it reproduces the page's losses exactly."""
import math
import os
import subprocess
import sys

import pytest

from lib.tutorial.config import default_config
from lib.tutorial.stages import STAGE_NAMES, run_stage
from lib.tutorial.tutorial_code import number, tutorial_code
from tests.page_support import open_box

SMALL = dict(n=16, d_in=50, hidden=20, d_out=5, steps=40, seed=3)
# the tutorial prints every 100th loss; to compare every loss, the test prints them all
EVERY_100 = "    if t % 100 == 99:\n"


def losses_of(code: str) -> list[float]:
    """Run `code` in a fresh namespace, every step printing, and collect the printed losses."""
    assert code.count(EVERY_100) == 1
    printed = []
    namespace = {"__name__": "__main__", "print": lambda t, loss: printed.append((t, loss))}
    exec(compile(code.replace(EVERY_100, "    if True:\n"), "<shown code>", "exec"), namespace)
    assert [t for t, _ in printed] == list(range(len(printed)))
    return [float(loss) for _, loss in printed]


def assert_reproduces(code: str, stage: str, cfg, broken_relu: bool = False) -> None:
    run = run_stage(stage, cfg, broken_relu=broken_relu)
    got = losses_of(code)
    assert len(got) == cfg.steps                      # the tutorial's loop never stops early
    assert got[:len(run.losses)] == run.losses         # bit for bit
    if run.diverged_at is not None:                    # the loss that stopped the page is the one printed there
        stop = got[run.diverged_at]
        assert stop == run.stop_loss or (math.isnan(stop) and math.isnan(run.stop_loss))


SETTINGS = [
    {},
    {"dtype": "float64"},
    {"seed": 11, "n": 7, "hidden": 3},
]
TORCH_NAMES = {"sgd": "SGD", "sgd_momentum": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
OPTIMIZER_SETTINGS = [
    {"optimizer": "sgd"}, {"optimizer": "sgd_momentum", "momentum": 0.9}, {"optimizer": "sgd_momentum", "momentum": 0.0},
    {"optimizer": "adam", "lr": 1e-3}, {"optimizer": "rmsprop", "momentum": 0.5, "lr": 1e-5},
    {"optimizer": "adagrad", "lr": 2e-2}, {"optimizer": "rmsprop", "dtype": "float64"},
]


@pytest.mark.parametrize("changes", SETTINGS, ids=str)
@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_the_shown_code_reproduces_the_pages_losses(stage, changes):
    cfg = default_config(stage).with_(**{**SMALL, **changes})
    assert_reproduces(tutorial_code(stage, cfg), stage, cfg)


@pytest.mark.parametrize("changes", OPTIMIZER_SETTINGS, ids=str)
@pytest.mark.parametrize("stage", ["optim", "custom_module", "dynamic_net"])
def test_every_optimizer_is_written_as_torch_optim_and_reproduces(stage, changes):
    cfg = default_config(stage).with_(**{**SMALL, **changes})
    code = tutorial_code(stage, cfg)
    assert f"optimizer = torch.optim.{TORCH_NAMES[cfg.optimizer]}(model.parameters()" in code
    assert_reproduces(code, stage, cfg)


def test_broken_myrelu_is_shown_and_trains_like_the_page():
    cfg = default_config("custom_function").with_(**SMALL)
    code = tutorial_code("custom_function", cfg, broken_relu=True)
    assert "relu = BrokenMyReLU.apply" in code
    assert_reproduces(code, "custom_function", cfg, broken_relu=True)
    assert losses_of(code) != run_stage("custom_function", cfg).losses


@pytest.mark.parametrize("stage,lr", [("tensors", 1e-1), ("tensors", 5e-6), ("nn_module", 1e-1), ("optim", 1.0)])
def test_diverging_runs_match_up_to_the_step_that_stopped_the_page(stage, lr):
    cfg = default_config(stage).with_(steps=30, lr=lr)
    run = run_stage(stage, cfg)
    assert run.diverged_at is not None
    assert_reproduces(tutorial_code(stage, cfg), stage, cfg)


def test_it_reads_like_the_tutorial():
    code = tutorial_code("optim", default_config("optim"))
    assert "N, D_IN, H, D_OUT = 64, 1000, 100, 10" in code
    assert "learning_rate = 1e-4\noptimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)" in code
    assert "for t in range(500):" in code
    for scaffolding in ("cfg", "record", "make_optimizer", "config", "lib"):
        assert scaffolding not in code
    assert "torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)" in tutorial_code(
        "dynamic_net", default_config("dynamic_net"))
    assert "torch.optim.SGD(model.parameters(), lr=1e-4)" in tutorial_code("custom_module",
                                                                           default_config("custom_module"))


def test_comments_are_in_the_readers_language():
    cfg = default_config("tensors")
    english, korean = tutorial_code("tensors", cfg, lang="en"), tutorial_code("tensors", cfg, lang="ko")
    strip = lambda code: [line for line in code.splitlines() if not line.lstrip().startswith("#")]  # noqa: E731
    assert strip(english) == strip(korean)             # the same code...
    assert "# Forward pass" in english and "# 순전파: " in korean
    korean_comments = [line for line in korean.splitlines() if line.lstrip().startswith("#")]
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in line) for line in korean_comments[2:])


def test_numbers_are_written_as_a_person_writes_them_and_parse_back():
    for value, text in [(1e-6, "1e-6"), (1e-4, "1e-4"), (0.9, "0.9"), (2e-5, "2e-5"), (0.1, "0.1")]:
        assert number(value) == text and float(number(value)) == value


@pytest.mark.slow
def test_the_unchanged_script_prints_like_the_tutorial(tmp_path):
    cfg = default_config("tensors").with_(steps=200)
    script = tmp_path / "tensors.py"
    script.write_text(tutorial_code("tensors", cfg))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    losses = run_stage("tensors", cfg).losses
    assert out.stdout.split() == ["99", repr(losses[99]), "199", repr(losses[199])]


APP = str(__import__("pathlib").Path(__file__).resolve().parents[1] / "app.py")


@pytest.mark.parametrize("page,query,broken", [
    ("custom_function", {"n": "20", "dtype": "float64", "broken": "1", "lang": "ko"}, True),
    ("optim", {"optimizer": "rmsprop", "momentum": "0.5", "lr": "1e-05", "steps": "30"}, False),
])
@pytest.mark.slow
def test_the_page_shows_the_tutorials_code_first(page, query, broken):
    from streamlit.testing.v1 import AppTest

    from lib.tutorial.config import config_from_query
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception
    assert not at.code   # the code is drawn when its box is opened
    open_box(at, "code_open")
    cfg, problems = config_from_query(query, default_config(page))
    assert not problems
    lang = query.get("lang", "en")
    expected = tutorial_code(page, cfg, broken, lang)
    assert at.code[0].value.strip("\n") == expected.strip("\n")   # the download is this same text (stage_script)
    assert "inspect" not in at.code[0].value and "record(" not in at.code[0].value
    assert any("def " + page in c.value for c in at.code[1:])   # the instrumented code, one click away
