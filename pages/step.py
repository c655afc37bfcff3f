"""One step, every number: stage 1's network at a tiny size, one phase per click, any entry written out as its sum.

The math is lib/tutorial/step_mode.py. It runs here in the page thread, not in a worker: a step at N, D ≤ 8 is a few
8×8 matrix products (microseconds), far less than drawing the page, and it touches no shared random state
(its own torch.Generator).
"""
import html
import math

import pandas as pd
import streamlit as st

from lib.tutorial import step_mode as sm
from ui.frame import ensure_app_frame
from ui.links import say_ignored_keys, step_settings_from_link, with_value
from ui.text import t

LR_CHOICES = [round(m * 10.0 ** e, 12) for e in range(-4, 0) for m in (1, 2, 5)] + [1.0]
SPEEDS = [0.2, 0.5, 1.0, 2.0, 5.0]
SIZES = ("n", "d_in", "hidden", "d_out")
COLOURS = {"init": "#e3f2fd", "forward": "#e8f5e9", "backward": "#fff3e0", "update": "#f3e5f5"}
CELL = "padding:1px 6px;border:1px solid #ddd;text-align:right"   # a matrix entry: compact, so 8 columns fit

ensure_app_frame()
st.title(t("step.title"))
st.markdown(t("step.intro"))
say_ignored_keys(any_case=sm.QUERY_KEYS)


def load_widgets(settings: sm.StepSettings) -> None:
    for name in SIZES + ("seed",):
        st.session_state[f"sm_{name}"] = getattr(settings, name)
    st.session_state["sm_lr"], st.session_state["sm_speed"] = settings.lr, settings.speed   # off the grid too


# The settings: from the link on a first visit, else what this session had (widget state ends with the page)
if "sm_settings" not in st.session_state:
    settings, problems = step_settings_from_link(st.query_params.to_dict())
    for problem in problems:
        st.warning(t("settings.link_problem", problem=problem), icon=":material/link_off:")
    st.session_state["sm_settings"] = settings
if "sm_n" not in st.session_state:   # entering the page (Streamlit dropped its widgets' state on leaving)
    load_widgets(st.session_state["sm_settings"])
    st.session_state["sm_playing"] = False   # Play left on elsewhere waits for the class, paused
sb = st.sidebar
sb.header(t("step.settings"))
for name in SIZES:
    sb.slider(t(f"settings.{name}"), 1, sm.SIZE_MAX, key=f"sm_{name}")
sb.number_input(t("settings.seed"), 0, sm.SEED_MAX, step=1, key="sm_seed")
sb.select_slider(t("settings.lr"), options=with_value(LR_CHOICES, "sm_lr"), key="sm_lr", format_func=lambda v: f"{v:g}")
sb.select_slider(t("step.speed"), options=with_value(SPEEDS, "sm_speed"), key="sm_speed", format_func=lambda v: f"{v:g} s",
                 help=t("step.speed_help"))
settings = sm.StepSettings(**{name: int(st.session_state[f"sm_{name}"]) for name in SIZES + ("seed",)},
                           lr=float(st.session_state["sm_lr"]), speed=float(st.session_state["sm_speed"]))
st.session_state["sm_settings"] = settings
for key, value in sm.settings_to_query(settings).items():
    st.query_params[key] = value

state: sm.StepState | None = st.session_state.get("sm_state")
if state is None or (state.settings.n, state.settings.d_in, state.settings.hidden, state.settings.d_out,
                     state.settings.seed) != (settings.n, settings.d_in, settings.hidden, settings.d_out,
                                              settings.seed):
    state = sm.init(settings)   # new sizes or seed: a new network, from its first step
elif state.settings != settings:
    state = state.with_(settings=settings)   # lr and speed apply from the next update
st.session_state["sm_state"] = state


def act(phase: str) -> None:
    current = st.session_state["sm_state"]
    if phase == "reset":
        st.session_state["sm_state"] = sm.init(current.settings)
        st.session_state["sm_playing"] = False
    else:
        st.session_state["sm_state"] = {"forward": sm.forward, "backward": sm.backward, "update": sm.update}[phase](
            current)


def toggle_play() -> None:
    st.session_state["sm_playing"] = not st.session_state.get("sm_playing", False)


playing = st.session_state.get("sm_playing", False)
# the buttons stay in sight, under Streamlit's header, while the class scrolls down to the matrices they light up
page_colour = "#0e1117" if st.context.theme.type == "dark" else "#ffffff"
# (sticky on the wrapper Streamlit puts around the keyed container: the container alone would stick inside it only)
st.html("<style>[data-testid=stLayoutWrapper]:has(> .st-key-sm_buttons){position:sticky;top:3.75rem;z-index:5;"
        f"background:{page_colour};padding:6px 0}}</style>")
buttons = st.container(key="sm_buttons").columns(5)
upcoming = sm.next_phase(state)
for col, phase, icon in zip(buttons, ("forward", "backward", "update"),
                            (":material/arrow_forward:", ":material/arrow_back:", ":material/update:")):
    col.button(t(f"step.{phase}"), key=f"sm_do_{phase}", on_click=act, args=(phase,), icon=icon,
               disabled=playing or upcoming != phase, width="stretch",
               type="primary" if upcoming == phase and not playing else "secondary")
buttons[3].button(t("step.reset"), key="sm_do_reset", on_click=act, args=("reset",), icon=":material/restart_alt:",
                  width="stretch")
buttons[4].button(t("step.pause" if playing else "step.play"), key="sm_play", on_click=toggle_play,
                  icon=":material/pause:" if playing else ":material/play_arrow:", width="stretch")


def matrix(label: str, tensor, phase: str, fresh: bool, chosen: tuple[int, int] | None = None) -> str:
    """A small labelled matrix with its shape; the tensors the last phase produced stand out in its colour."""
    values = tensor.reshape(1, 1) if tensor.dim() == 0 else tensor
    rows = []
    for i, row in enumerate(values.tolist()):
        cells = []
        for j, v in enumerate(row):
            mark = ";outline:2px solid #d32f2f" if chosen == (i, j) else ""
            cells.append(f'<td style="{CELL}{mark}">{html.escape(f"{v:.3f}")}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    shape = t("step.scalar") if tensor.dim() == 0 else "×".join(map(str, tensor.shape))
    background = COLOURS[phase] if fresh else "transparent"
    border = "2px solid #555" if fresh else "1px solid #ccc"
    return (f'<div style="background:{background};border:{border};border-radius:6px;padding:4px 6px;'
            f'margin-bottom:6px;display:inline-block;max-width:100%;overflow-x:auto"><code>{html.escape(label)}</code> '
            f'<small>({shape})</small><table style="font-family:monospace;font-size:0.85em;margin:2px 0;'
            f'width:auto;border-collapse:collapse">' + "".join(rows) + "</table></div>")


def matrices_row(cells: list[str]) -> None:
    """Matrices side by side, each as wide as its numbers, wrapping onto the next line when the screen is narrower:
    no column is ever cut off (st.columns gave each a fixed share, and a 3×4 w1 lost its fourth column)."""
    st.markdown('<div style="display:flex;flex-wrap:wrap;gap:4px 10px;align-items:flex-start">'
                + "".join(f"<div>{cell}</div>" for cell in cells) + "</div>", unsafe_allow_html=True)


@st.fragment(run_every=settings.speed if playing else None, key="step_board")
def board() -> None:
    """The tensors, the chosen entry written out, the losses. While playing, each run is one whole step."""
    if st.session_state.get("sm_playing"):
        state = sm.whole_step(st.session_state["sm_state"])
        st.session_state["sm_state"] = state
        if not math.isfinite(state.losses[-1]):
            st.session_state["sm_playing"] = False
    state: sm.StepState = st.session_state["sm_state"]
    tensors = state.tensors
    st.markdown(t("step.where", step=state.step, phase=t(f"step.phase.{state.phase}"),
                  next=t(f"step.phase.{sm.next_phase(state)}")))
    chosen_name = st.session_state.get("sm_entry_tensor")
    chosen = (st.session_state.get("sm_entry_row", 0), st.session_state.get("sm_entry_col", 0))

    def show(name, label=None) -> str:
        phase = sm.produced_by(state, name)
        fresh = phase == state.phase or (state.phase == "update" and label is not None)
        here = chosen if chosen_name == name else None
        return matrix(label or name, tensors[name], phase, fresh, here)

    before = "w1_before" if state.phase == "update" else "w1"
    with st.container(key="sm_section_init"):
        st.subheader(t("step.section.init"))
        matrices_row([show("x"), show("y"), matrix("w1", tensors[before], "init", state.phase == "init"),
                      matrix("w2", tensors[before.replace("1", "2")], "init", state.phase == "init")])
    if "h" in tensors:
        with st.container(key="sm_section_forward"):
            st.subheader(t("step.section.forward"))
            matrices_row([show(name) for name in sm.FORWARD])
    if "grad_w1" in tensors:
        with st.container(key="sm_section_backward"):
            st.subheader(t("step.section.backward"))
            matrices_row([show(name) for name in sm.BACKWARD])
            # autograd's, one click away: the hand-written gradients the button lit up stay on one screen with it
            with st.expander(t("step_layout.autograd"), icon=":material/fact_check:"):
                st.caption(t("step_layout.autograd_caption"))
                cells = []
                for name in sm.BACKWARD:
                    auto = state.autograd.get(name)
                    if auto is not None:   # autograd's, and how far from the hand-written one it is
                        diff = (auto - tensors[name]).abs().max().item()
                        cells.append(matrix(t("step.autograd_label", name=name), auto, "backward", False)
                                     + f"<br><small>{html.escape(t('step.max_diff', diff=diff))}</small>")
                matrices_row(cells)
    if state.phase == "update":
        with st.container(key="sm_section_update"):
            st.subheader(t("step.section.update"))
            matrices_row([show("w1", t("step.updated", name="w1")), show("w2", t("step.updated", name="w2"))])

    st.subheader(t("step.entry_header"))
    available = [name for name in sm.SHOWN if name in tensors]
    cols = st.columns(3)
    if st.session_state.get("sm_entry_tensor") not in available:
        st.session_state["sm_entry_tensor"] = available[-1]
    name = cols[0].selectbox(t("step.entry_tensor"), available, key="sm_entry_tensor")
    rows, columns = (1, 1) if name == "loss" else tuple(tensors[name].shape)
    for key, size in (("sm_entry_row", rows), ("sm_entry_col", columns)):
        if st.session_state.get(key, 0) >= size:
            st.session_state[key] = 0
    i = cols[1].selectbox(t("step.entry_row"), range(rows), key="sm_entry_row", disabled=rows == 1)
    j = cols[2].selectbox(t("step.entry_col"), range(columns), key="sm_entry_col", disabled=columns == 1)
    text, _, _ = sm.expand_entry(state, name, i, j)
    st.code(text, language=None, wrap_lines=True)
    if len(state.losses) > 1:
        st.line_chart(pd.DataFrame({t("step.loss"): state.losses}), x_label=t("step.forward_passes"), height=220)


board()
