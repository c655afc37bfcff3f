"""Your own network, no code: layers, widths, activation and loss from menus (lib.explore.own_network holds the model and
its checks); training, then tabs as on a stage page (the loss curve; the gradient table and each layer's gradient
norm; the autograd graph; the histograms), and the downloads."""
import functools

import streamlit as st

from lib.figures import plots

from lib.serve import jobs, limits, workers
from lib.tutorial.backward import ACTIVATIONS, linear_backward, mse_backward, network_backward
from lib.tutorial.config import SEED_CAP, SIZE_CAPS, STEPS_CAP
from lib.explore.own_network import (CLASS_NAMES, DEPTH_CAP, PRESETS, REDUCTIONS, STAGE, VANISHING_BELOW, NetworkConfig,
                             build_model, describe_network, layer_norms, max_steps, train_network)
from lib.explore.own_script import network_script
from lib.figures.own_network_plots import layer_norms_figure
from lib.text.numbers import lr_text
from lib.tutorial.export import losses_csv
from lib.tutorial.stages import GROWTH_LIMIT, RunSummary
from ui.frame import ensure_app_frame, keep_widget_state
from ui.gradient_view import comparison_verdict, gradient_csv_button, step_slider
from ui.histogram_view import histogram_section
from ui.links import (keep_choice, linked_choice, lr_value, one_of, say_ignored_keys, share_link, whole_number,
                      with_value)
from ui.results import loss_metrics, png_config, show_source, stop_point
from ui import board
from ui.runs import get_many, run_failed_message, server_speed, time_limit_message
from ui.sidebar import LR_CHOICES, bounded_slider
from ui.stage_page import open_tab_from_link, tabs
from ui.text import lang, say, t

DEFAULT = PRESETS["tutorial"]
# url key -> (widget key, default, parse); the URL carries the whole network and its training settings
FIELDS = {"net_layers": ("own_layers", len(DEFAULT.widths), whole_number(1, DEPTH_CAP)),
          **{f"net_w{k}": (f"own_w{k}", DEFAULT.widths[0], whole_number(1, SIZE_CAPS["hidden"]))
             for k in range(1, DEPTH_CAP + 1)},
          "net_act": ("own_act", DEFAULT.activation, one_of(*ACTIVATIONS)),
          "net_loss": ("own_reduction", DEFAULT.reduction, one_of(*REDUCTIONS)),
          **{f"net_{name}": (f"own_{name}", getattr(DEFAULT, name), whole_number(1, SIZE_CAPS[name]))
             for name in ("n", "d_in", "d_out")},
          "net_lr": ("own_lr", DEFAULT.lr, lr_value()),
          "net_steps": ("own_steps", DEFAULT.steps, whole_number(1, STEPS_CAP)),
          "net_seed": ("own_seed", DEFAULT.seed, whole_number(0, SEED_CAP)),
          "net_dtype": ("own_dtype", DEFAULT.dtype, one_of("float32", "float64"))}
# a link without net_tab= that names a histogram or a step opens that tab (ui.stage_page.open_tab_from_link)
IMPLIED_TABS = (("histograms", ("hist",)), ("gradients", ("net_step",)))
LINK_KEYS = {*FIELDS, "net_log", "net_tab", *(name for _, names in IMPLIED_TABS for name in names)}


def load(cfg: NetworkConfig) -> None:
    """on_click of a preset: its values into the widgets (before they are drawn again)."""
    state = st.session_state
    state["own_layers"] = len(cfg.widths)
    for k, width in enumerate(cfg.widths, start=1):
        state[f"own_w{k}"] = width
    state["own_act"], state["own_reduction"], state["own_lr"] = cfg.activation, cfg.reduction, cfg.lr
    for name in ("n", "d_in", "d_out", "steps", "seed", "dtype"):
        state[f"own_{name}"] = getattr(cfg, name)


@st.fragment(key="own_gradients")
def gradients_tab(cfg: NetworkConfig, result: RunSummary) -> None:
    """The gradient table at the chosen step (its CSV under it) and each layer's gradient norm. A fragment, as are
    the other tabs: their choices rerun the tab alone, not the menus, the sidebar and the training."""
    st.markdown(t("own.grad_intro"))
    show_source([linear_backward, *ACTIVATIONS[cfg.activation], mse_backward, network_backward])
    step = step_slider(result, "net_step", "own_step")
    if step is None:
        return
    comparison = get_many([(jobs.network_gradients, (cfg, step))], [(t("grad.computing"), 1)])[0]
    if isinstance(comparison, workers.RunFailed):
        st.error(run_failed_message(comparison), icon=":material/timer_off:")
        return
    comparison_verdict(comparison, cfg.dtype)
    gradient_csv_button(comparison, "own_network", "own_dl_gradients")

    st.subheader(t("own.norms_header"))
    norms = layer_norms(comparison)
    ratio = norms[0] / norms[-1] if norms[-1] > 0 else float("nan")
    cols = st.columns(3)
    cols[0].metric(t("own.first_norm"), f"{norms[0]:.3e}")
    cols[1].metric(t("own.last_norm"), f"{norms[-1]:.3e}")
    cols[2].metric(t("own.ratio"), f"{ratio:.1e}", help=t("own.ratio_help"))
    st.plotly_chart(layer_norms_figure(norms, lang=lang()), key="own_norms_chart", width="stretch",
                    config=png_config("own_network_gradient_norms"))
    if ratio < VANISHING_BELOW:
        st.warning(t("own.vanished", ratio=ratio, step=step), icon=":material/trending_down:")
    else:
        st.caption(t("own.not_vanished", ratio=ratio, step=step))


@st.fragment(key="own_graph")
def graph_tab(cfg: NetworkConfig, result: RunSummary) -> None:
    """The graph autograd records for the forward pass at the chosen step."""
    step = step_slider(result, "net_step", "own_step")
    if step is None:
        return
    st.markdown(t("graph.intro", step=step))
    show_saved = st.toggle(t("graph.show_saved"), key="own_graph_saved", help=t("graph.show_saved_help"))
    graph = get_many([(jobs.network_graph, (cfg, step, show_saved))], [(t("graph.computing"), 1)])[0]
    if isinstance(graph, workers.RunFailed):
        st.error(run_failed_message(graph), icon=":material/timer_off:")
        return
    st.graphviz_chart(graph.dot, width="stretch")
    st.caption(t("graph.legend"))
    st.caption(t("graph.counts", counts=", ".join(f"{kind} × {n}" for kind, n in sorted(graph.counts.items()))))


@st.fragment(key="own_loss")
def loss_tab(result: RunSummary) -> None:
    state.setdefault("own_log", True)
    linked_choice("net_log", "own_log", lambda text: one_of("1", "0")(text) == "1")
    log_y = st.toggle(t("chart.log_y"), key="own_log")
    keep_choice("net_log", int(log_y))
    label = t("history.this_run")
    stop = stop_point(result)
    st.plotly_chart(plots.loss_curves([(label, result.losses)], log_y=log_y, title=t("own.chart_title"),
                                      diverged={label: stop} if stop else None, lang=lang()),
                    key="own_loss_chart", width="stretch", config=png_config("own_network"), height=380)


def downloads(cfg: NetworkConfig, result: RunSummary) -> None:
    """The run's losses as CSV and the network as a script: made when clicked, not on every rerun, and a click does
    not rerun the page. (The gradient table's CSV sits under the table, in its tab.)"""
    st.subheader(t("downloads.header"))
    cols = st.columns(2)
    losses = {t("history.this_run"): result.losses}   # the steps that ran: not past a divergence or the time limit
    cols[0].download_button(t("downloads.losses"), functools.partial(losses_csv, losses),
                            file_name="own_network_losses.csv", mime="text/csv", key="own_dl_losses",
                            icon=":material/download:", on_click="ignore")
    cols[1].download_button(t("own_downloads.script"), functools.partial(network_script, cfg, lang()),
                            file_name="own_network.py", mime="text/x-python", key="own_dl_script",
                            icon=":material/code:", on_click="ignore")
    st.caption(t("own_downloads.caption", file="own_network.py"))


ensure_app_frame()
st.title(t("own.title"))
st.markdown(t("own.intro"))
say_ignored_keys(LINK_KEYS)
state = st.session_state
state["entered_from_link"] = state.get("own_entered") is None   # linked_choice reads the link on entering only
if state["entered_from_link"]:   # and a closed tab's choices when that tab is first drawn (ui.links)
    state["link_unread"] = st.query_params.to_dict()
state["own_entered"] = True
saved = state.setdefault("own_saved", {})   # widget state ends with the page; what the session chose does not
for url_key, (key, default, parse) in FIELDS.items():
    state.setdefault(key, saved.get(key, default))
    linked_choice(url_key, key, parse)

presets = st.columns(len(PRESETS))
for col, (name, preset) in zip(presets, PRESETS.items()):
    col.button(t(f"own.preset.{name}"), key=f"own_preset_{name}", on_click=load, args=(preset,), width="stretch")
vanishing = PRESETS["sigmoid4"]
st.caption(t("own.vanishing_claim", network=describe_network(vanishing), n=vanishing.n, seed=vanishing.seed,
             dtype=vanishing.dtype, below=VANISHING_BELOW))

st.subheader(t("own.build_header"))
# the network's menus on the left, what it trains to on the right: one 1280x720 screen holds both
build, trained = st.columns([1, 2], gap="medium")
layers = build.slider(t("own.layers"), 1, DEPTH_CAP, key="own_layers")
width_cols = build.columns(2)
widths = tuple(int(width_cols[(k - 1) % 2].number_input(t("own.width", k=k), 1, SIZE_CAPS["hidden"], step=1,
                                                        key=f"own_w{k}")) for k in range(1, layers + 1))
activation = build.selectbox(t("own.activation"), list(ACTIVATIONS), format_func=CLASS_NAMES.get, key="own_act",
                             help=t("own.activation_help"))
reductions = {name: t(f"own.reduction.{name}") for name in REDUCTIONS}
reduction = build.radio(t("own.reduction"), REDUCTIONS, format_func=reductions.get, key="own_reduction",
                        help=t("own.reduction_help"))
below = st.container()   # the run's numbers, under both columns

sb = st.sidebar
sb.header(t("own.data_header"))
for name in ("n", "d_in", "d_out"):
    sb.slider(t(f"settings.{name}"), 1, SIZE_CAPS[name], key=f"own_{name}")
sb.select_slider(t("settings.lr"), options=with_value(LR_CHOICES, "own_lr"), key="own_lr", format_func=lr_text)
sb.number_input(t("settings.seed"), 0, SEED_CAP, step=1, key="own_seed")
sb.radio("dtype", ["float32", "float64"], key="own_dtype", horizontal=True)
try:
    cfg = NetworkConfig(widths=widths, activation=activation, reduction=reduction, n=int(state["own_n"]),
                        d_in=int(state["own_d_in"]), d_out=int(state["own_d_out"]), lr=float(state["own_lr"]),
                        steps=1, seed=int(state["own_seed"]), dtype=state["own_dtype"])
except ValueError as err:
    st.error(t("own.cant_run", err=say(err)), icon=":material/block:")
    st.stop()
# the steps the server finishes at this network's size (lib.serve.limits' model, this server's measured speed)
allowed = max_steps(server_speed(), limits.PLAN_SHARE * workers.time_limit_s(), cfg)
if state["own_steps"] != state.get("own_steps_shown"):   # set by the visitor (slider, link, preset) since
    state["own_steps_wanted"] = int(state["own_steps"])   # the last run: remembered, so a smaller network gives
wanted = state.get("own_steps_wanted", int(state["own_steps"]))   # them back
state["own_steps"] = state["own_steps_shown"] = min(wanted, allowed)
steps = bounded_slider(sb, t("settings.steps"), allowed, "own_steps", t("settings.steps_only_one"),
                       help=t("settings.steps_help", limit=workers.time_limit_s()))
cfg = cfg.with_(steps=int(steps))
if wanted > allowed:
    build.info(t("own.steps_shortened", wanted=wanted, steps=allowed, limit=workers.time_limit_s()),
               icon=":material/timer:")
for url_key, (key, _, _) in FIELDS.items():
    if key in state and not (key.startswith("own_w") and int(key[5:]) > layers):
        saved[key] = state[key]
        keep_choice(url_key, state[key])
    elif url_key in st.query_params:
        del st.query_params[url_key]   # a layer the network no longer has
share_link(sb)
with build:
    st.caption(t("own.network", network=describe_network(cfg)))
    show_source([build_model, train_network])

# ---------------------------------------------------------------- training
with trained:
    result = get_many([(jobs.train_network, (cfg,))], [(t("progress.training"), cfg.steps)])[0]
if isinstance(result, workers.RunFailed):
    trained.error(run_failed_message(result), icon=":material/timer_off:")
    st.stop()
board.post_network_run(cfg, result, st.query_params.to_dict())   # to the class board, when in a class
with below:
    if result.time_limited_at is not None:
        st.warning(time_limit_message(len(result.losses), cfg.steps), icon=":material/timer:")
    loss_metrics(result)
    if result.diverged_at is not None:
        st.warning(t("own.diverged", step=result.diverged_at, lr=lr_text(cfg.lr), reduction=cfg.reduction,
                     reason=t(result.divergence_reason, loss=result.stop_loss, limit=GROWTH_LIMIT)),
                   icon=":material/warning:")
# only the open tab is drawn, and only its jobs run (as on a stage page)
keep_widget_state("own_log", "own_step", "own_graph_saved", f"{STAGE}_hist_param")
open_tab_from_link("net_tab", "own_tab", IMPLIED_TABS)
with trained:
    tab_loss, tab_gradients, tab_graph, tab_histograms = tabs("own_tab", "net_tab")
if tab_loss.open:
    with tab_loss:
        loss_tab(result)
if tab_gradients.open:
    with tab_gradients:
        gradients_tab(cfg, result)
if tab_graph.open:
    with tab_graph:
        graph_tab(cfg, result)
if tab_histograms.open:
    with tab_histograms:
        histogram_section(STAGE, result, False)
downloads(cfg, result)
