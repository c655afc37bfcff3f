"""CPU or GPU: the device field, the sidebar's choice (only with CUDA), and the experiment that times a step."""
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lib.serve import jobs
from lib.tutorial.config import TrainConfig, available_devices, config_from_query, default_config, server_device
from lib.explore.device_timing import BATCHES, TIMED_STEPS, DeviceTiming, step_seconds, time_devices
from lib.text.i18n import EN, KO
from lib.text.messages import Refusal, render
from lib.tutorial.stages import run_stage
from lib.tutorial.tutorial_code import tutorial_code
from ui.device import gpu_verdict

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


# ---------------------------------------------------------------- the device field
def test_the_device_defaults_to_the_cpu_and_cuda_is_refused_without_it(no_cuda):
    assert TrainConfig().device == "cpu" and available_devices() == ("cpu",)
    with pytest.raises(Refusal) as info:
        TrainConfig(device="cuda")
    assert info.value.code == "refusal.no_cuda"
    assert "device='cuda'" in str(info.value) and "torch.cuda.is_available()" in str(info.value)
    assert "CUDA GPU가 없습니다" in render(info.value, "ko")
    for device in ("cuda:0", "mps", "", None):
        with pytest.raises(Refusal, match="device"):
            TrainConfig(device=device)


def test_cuda_is_a_choice_where_torch_has_it(with_cuda):
    assert available_devices() == ("cpu", "cuda") and TrainConfig(device="cuda").device == "cuda"


def test_a_link_asking_for_cuda_without_it_gets_the_cpu_and_a_message(no_cuda):
    config, problems = config_from_query({"device": "cuda", "n": "8"}, default_config("tensors"))
    assert config.device == "cpu" and config.n == 8
    assert len(problems) == 1 and "refusal.no_cuda" in repr(problems[0].values["reason"].code)


@pytest.mark.parametrize("wanted, cuda, expected", [
    (None, False, "cpu"), ("cuda", False, "cpu"), ("cuda", True, "cuda"), ("cpu", True, "cpu"),
    ("tpu", True, "cpu"), (None, True, "cpu"),
])
def test_the_server_default_comes_from_train_device(monkeypatch, wanted, cuda, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    if wanted is None:
        monkeypatch.delenv("TRAIN_DEVICE", raising=False)
    else:
        monkeypatch.setenv("TRAIN_DEVICE", wanted)
    assert server_device() == expected
    assert default_config("optim").device == expected


def test_a_cpu_run_is_the_same_run_as_before():
    """device="cpu" changes nothing: the losses are those of a config that never named a device."""
    config = TrainConfig(n=8, d_in=20, hidden=10, d_out=3, steps=15, lr=1e-3)
    for stage in ("tensors", "nn_module", "dynamic_net"):
        default_run = run_stage(stage, config)
        cpu_run = run_stage(stage, config.with_(device="cpu"))
        assert cpu_run.losses == default_run.losses
        assert all(p.device.type == "cpu" for p in cpu_run.params.values())


def test_the_shown_code_names_the_device():
    assert 'device = torch.device("cpu")' in tutorial_code("tensors", TrainConfig())
    object.__setattr__(cuda := TrainConfig(), "device", "cuda")   # only the text is made, nothing runs
    assert 'device = torch.device("cuda:0")' in tutorial_code("tensors", cuda)


# ---------------------------------------------------------------- the sidebar
def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_the_device_choice_never_appears_without_cuda(no_cuda):
    at = open_page("pages/tensors.py")
    assert [r for r in at.sidebar.radio if r.key == "device"] == []
    assert "device" not in at.query_params


@pytest.mark.slow
def test_the_device_choice_appears_with_cuda_and_starts_on_the_servers_default(with_cuda, monkeypatch):
    monkeypatch.delenv("TRAIN_DEVICE", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["lang"] = "ko"
    at.switch_page("pages/tensors.py").run()   # trains on the CPU: the default, where no TRAIN_DEVICE says otherwise
    assert not at.exception, [e.value for e in at.exception]
    choice = at.radio(key="device")
    assert choice.value == "cpu" and choice.options == [KO["device.cpu"], KO["device.cuda"]]
    assert choice.label == KO["device.label"]
    assert at.query_params["device"] in ("cpu", ["cpu"])


# ---------------------------------------------------------------- timing a step on each device
def test_one_step_is_timed_on_the_cpu():
    config = TrainConfig(n=4, d_in=30, hidden=20, d_out=5)
    seconds = step_seconds("tensors", config)
    assert 0 < seconds < 1
    timing = time_devices("tensors", config, batches=(1, 8, 32))
    assert timing.batches == [1, 8, 32] and list(timing.seconds) == list(available_devices())
    assert len(timing.seconds["cpu"]) == 3 and all(0 < s < 1 for s in timing.seconds["cpu"])
    assert not timing.time_limited and timing.ratio(0) is None


def test_the_time_limit_stops_the_timing():
    timing = time_devices("tensors", TrainConfig(), devices=("cpu",), time_limit_s=0.0)
    assert timing.time_limited and timing.seconds["cpu"] == []


@pytest.mark.slow
def test_the_job_runs_in_a_worker_under_the_limit():
    from lib.serve import workers
    timing = workers.run(jobs.device_timing, "tensors", TrainConfig(d_in=50, hidden=20, steps=1), ("cpu",))
    assert isinstance(timing, DeviceTiming) and len(timing.seconds["cpu"]) == len(BATCHES)


@pytest.mark.parametrize("cpu, gpu, key", [
    ([1e-4, 1e-3, 1e-2], [5e-4, 5e-4, 5e-4], "device.gpu_wins_from"),
    ([1e-4, 1e-3], [5e-4, 5e-3], "device.gpu_never_wins"),
    ([1e-3, 1e-2], [5e-4, 5e-4], "device.gpu_always_wins"),
    ([1e-4, 1e-3, 1e-3], [5e-4, 5e-4, 5e-3], "device.gpu_mixed"),
])
def test_the_verdict_is_read_from_the_times(cpu, gpu, key):
    timing = DeviceTiming("tensors", TrainConfig(), [1, 64, 1024][:len(cpu)], {"cpu": cpu, "cuda": gpu})
    verdict = gpu_verdict(timing)
    head = EN[key].split("{")[0]
    assert verdict.startswith(head)
    if key == "device.gpu_wins_from":
        assert "N=64 " in verdict and timing.ratio(2) == pytest.approx(20) and timing.ratio(0) == pytest.approx(0.2)
    if key == "device.gpu_mixed":
        assert verdict == EN[key].format(wins="64", losses="1, 1024")
    assert gpu_verdict(DeviceTiming("tensors", TrainConfig(), [1], {"cpu": [1e-3]})) is None


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.slow
def test_the_experiment_tab_times_the_cpu_and_says_there_is_no_gpu(no_cuda, lang):
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"lang": lang, "tab": "device", "d_in": "50", "hidden": "20"})
    at.switch_page("pages/experiments.py").run()
    assert not at.exception, [e.value for e in at.exception]
    texts = EN if lang == "en" else KO
    assert any(i.value == texts["device.cpu_only"] for i in at.info)
    table = at.dataframe[0].value
    assert list(table["N"]) == list(BATCHES)
    column = texts["device.column"].format(device=texts["device.cpu"])
    assert list(table.columns) == ["N", column]
    assert all(float(v) > 0 for v in table[column])
    assert any(f"{TIMED_STEPS}" in c.value for c in at.caption)
    assert at.query_params["tab"] in ("device", ["device"])


@pytest.mark.slow
def test_the_device_experiment_and_choice_are_korean_in_korean(monkeypatch):
    from tests.test_korean import assert_korean
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"lang": "ko", "tab": "device", "d_in": "50", "hidden": "20"})
    at.switch_page("pages/experiments.py").run()
    assert at.dataframe and at.info
    assert_korean(at)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)   # the choice appears; training stays on the CPU
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params["lang"] = "ko"
    at.switch_page("pages/tensors.py").run()
    assert at.radio(key="device").value == "cpu"
    assert_korean(at)
