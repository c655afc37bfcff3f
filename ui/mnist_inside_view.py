"""Inside the trained MNIST model, on the MNIST page: what the MLP learned, what the CNN sees, why it answers,
and the held-out panel epoch by epoch. The numbers come from a worker (lib.serve.jobs.mnist_inside); this draws them."""
from __future__ import annotations

import hashlib

import streamlit as st
import torch

from lib.digits import mnist

from lib.serve import jobs, workers
from lib.figures import mnist_inside_plots as plots
from lib.digits.mnist_inside import TOP_UNITS, conv_entry, written_out
from ui.runs import CACHE_TTL_S, run_failed_message, session_id
from ui.text import lang, t

INSIDE = workers.JobCache(32, CACHE_TTL_S)   # one digit's maps and gradients: tens of KB
SOURCES = ("test", "mistake", "own")


def inside_sections(run: dict, data: mnist.MnistData, own_digit: torch.Tensor | None) -> None:
    st.header(t("inside.header"))
    chosen = choose_digit(run, data, own_digit)
    if chosen is None:
        return
    digit, what = chosen
    config = run["result"].config
    key = ("inside", config, run["data_root"], hashlib.sha1(digit.numpy().tobytes()).hexdigest())
    try:
        with st.spinner(t("inside.computing")):
            inside = INSIDE.get(key, jobs.mnist_inside, (config, run["state"], digit), owner=session_id())
    except workers.RunFailed as failure:
        st.error(run_failed_message(failure), icon=":material/timer_off:")
        return
    best = int(inside.probabilities.argmax())
    st.caption(t("inside.chosen", what=what, best=best, probability=inside.probabilities[best].item()))
    if inside.mlp is not None:
        mlp_section(inside)
    else:
        cnn_section(inside)
    saliency_section(inside)
    panel_section(run.get("panel"), data)


def choose_digit(run: dict, data: mnist.MnistData, own_digit) -> tuple[torch.Tensor, str] | None:
    """The digit to look inside with: a held-out digit, one the model gets wrong, or the one drawn/uploaded."""
    sources = [s for s in SOURCES if s != "own" or own_digit is not None]
    if st.session_state.get("inside_source") not in sources:
        st.session_state["inside_source"] = "test"
    source = st.radio(t("inside.source"), sources, format_func=lambda s: t(f"inside.source.{s}"), horizontal=True,
                      key="inside_source")
    if source == "own":
        return own_digit, t("inside.what.own")
    if source == "mistake":
        mistakes = run["report"].mistakes
        if not mistakes:
            st.caption(t("mnist.no_mistakes"))
            return None
        index = st.selectbox(t("inside.mistake"), [m.index for m in mistakes], key="inside_mistake",
                             format_func={m.index: t("inside.mistake_option", index=m.index, true=m.true,
                                                     predicted=m.predicted) for m in mistakes}.get)
    else:
        index = st.number_input(t("inside.index"), 0, len(data.test_labels) - 1, 0, step=1, key="inside_index")
    index = int(index)
    digit = mnist.denormalise(data.test_images[index, 0])
    return digit, t("inside.what.test", index=index, label=int(data.test_labels[index]))


def mlp_section(inside) -> None:
    st.subheader(t("inside.mlp_header"))
    st.write(t("inside.mlp_intro"))
    st.plotly_chart(plots.weight_images(inside, TOP_UNITS, lang()), key="inside_weights")
    st.caption(t("inside.weights_caption"))
    active = int((inside.mlp.hidden > 0).sum())
    st.plotly_chart(plots.hidden_bar(inside, lang()), key="inside_hidden")
    st.caption(t("inside.hidden_caption", active=active, hidden=len(inside.mlp.order)))


def cnn_section(inside) -> None:
    st.subheader(t("inside.cnn_header"))
    st.write(t("inside.cnn_intro"))
    cnn = inside.cnn
    layer = st.radio(t("inside.layer"), [0, 1], format_func=lambda i: f"conv{i + 1}", horizontal=True,
                     key="inside_layer")
    left, right = st.columns(2)
    left.plotly_chart(plots.conv_filters(cnn.weights[layer], layer, lang()), key="inside_filters")
    right.plotly_chart(plots.feature_maps(cnn.feature_maps[layer], layer, lang()), key="inside_maps")
    st.caption(t("inside.maps_caption"))

    maps = cnn.feature_maps[layer]
    c_out, height, width = maps.shape
    cols = st.columns(3)
    channel = int(cols[0].number_input(t("inside.channel"), 0, c_out - 1, 0, key=f"inside_channel_{layer}"))
    # the strongest entry of the channel is where its convolution says most; any other can be chosen
    strongest = divmod(int(maps[channel].argmax()), width)
    row = int(cols[1].number_input(t("inside.row"), 0, height - 1, strongest[0], key=f"inside_row_{layer}_{channel}"))
    col = int(cols[2].number_input(t("inside.col"), 0, width - 1, strongest[1], key=f"inside_col_{layer}_{channel}"))
    entry = conv_entry(cnn, layer, channel, row, col)
    st.markdown(t("inside.entry_header", layer=layer + 1, channel=channel, row=row, col=col))
    st.code(written_out(entry, lang()), language=None)
    st.caption(t("inside.entry_caption", value=maps[channel, row, col].item()))


def saliency_section(inside) -> None:
    st.subheader(t("inside.saliency_header"))
    st.write(t("inside.saliency_intro"))
    st.plotly_chart(plots.saliency_maps(inside, lang()), key="inside_saliency")
    first, second = inside.saliency.classes
    st.caption(t("inside.saliency_caption", first=first, second=second))


def panel_section(panel, data: mnist.MnistData) -> None:
    st.subheader(t("inside.panel_header"))
    if panel is None or not panel.epochs:
        st.caption(t("inside.panel_missing"))
        return
    st.write(t("inside.panel_intro", n=len(panel.indices)))
    st.plotly_chart(plots.panel_matrix(panel, lang()), key="inside_panel")
    digits = mnist.denormalise(data.test_images[panel.indices, 0])
    st.plotly_chart(plots.panel_digits(digits, panel.labels), key="inside_panel_digits")
