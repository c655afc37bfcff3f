"""CPU or GPU: the sidebar's device choice (only where this server has CUDA) and the experiment that times one
training step against N on each device."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.serve import jobs, workers
from lib.text.numbers import lr_text
from lib.tutorial.config import TrainConfig, available_devices
from lib.figures.device_plots import step_time_figure
from lib.explore.device_timing import BATCHES, TIMED_STEPS, TIMING_LR
from ui.runs import get_many, run_failed_message
from ui.text import lang, t


def device_choice(sidebar) -> bool:
    """The tutorial's `device = torch.device('cpu')  # torch.device('cuda:0')` as a choice, where there is a choice:
    only when torch.cuda.is_available(). Returns whether it is shown (then the config takes it)."""
    devices = available_devices()
    if len(devices) < 2:
        return False
    sidebar.radio(t("device.label"), devices, key="device", horizontal=True, help=t("device.help"),
                  format_func={device: t(f"device.{device}") for device in devices}.get)
    return True


def device_tab(stage: str, cfg: TrainConfig) -> None:
    """One training step's time against N, on each device, through a worker under the server's limits."""
    devices = available_devices()
    st.markdown(t("device.intro"))
    st.caption(t("device.settings", stage=t(f"stage.{stage}.title"), d_in=cfg.d_in, hidden=cfg.hidden,
                 d_out=cfg.d_out, dtype=cfg.dtype, batches=", ".join(map(str, BATCHES)), steps=TIMED_STEPS,
                 lr=lr_text(TIMING_LR)))
    if len(devices) < 2:
        st.info(t("device.cpu_only"), icon=":material/memory:")
    base = cfg.with_(steps=1)   # steps and device are the timing's own
    args = (stage, base, devices)
    timing = get_many([(jobs.device_timing, args)], [(t("device.progress"), len(devices) * len(BATCHES))])[0]
    if isinstance(timing, workers.RunFailed):
        st.error(run_failed_message(timing), icon=":material/timer_off:")
        return
    if timing.time_limited:
        st.warning(t("device.time_limited", limit=workers.time_limit_s()), icon=":material/timer:")
    st.plotly_chart(step_time_figure(timing, lang=lang()), key="device_chart", width="stretch")
    table = {"N": timing.batches}
    for device in devices:
        times = timing.seconds[device]
        table[t("device.column", device=t(f"device.{device}"))] = [
            f"{times[i] * 1e3:.3f}" if i < len(times) else "—" for i in range(len(timing.batches))]
    if "cuda" in devices:
        table[t("device.ratio")] = [f"{r:.2f}" if (r := timing.ratio(i)) is not None else "—"
                                    for i in range(len(timing.batches))]
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
    verdict = gpu_verdict(timing)
    if verdict is not None:
        st.info(verdict, icon=":material/speed:")


def gpu_verdict(timing) -> str | None:
    """Where the GPU loses and where it wins, read from the measured times; None without a GPU."""
    ratios = [(n, timing.ratio(i)) for i, n in enumerate(timing.batches)]
    ratios = [(n, r) for n, r in ratios if r is not None]
    if not ratios:
        return None
    wins = [n for n, r in ratios if r > 1]
    if not wins:
        return t("device.gpu_never_wins", largest=ratios[-1][0])
    if len(wins) == len(ratios):
        return t("device.gpu_always_wins", smallest=ratios[0][0])
    first = next(i for i, (n, r) in enumerate(ratios) if r > 1)
    if all(r > 1 for _, r in ratios[first:]):
        return t("device.gpu_wins_from", n=wins[0])
    return t("device.gpu_mixed", wins=", ".join(map(str, wins)),
             losses=", ".join(str(n) for n, r in ratios if r <= 1))
