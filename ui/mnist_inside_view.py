"""Inside the trained MNIST model, on the MNIST page: what the MLP learned, what the CNN sees, why it answers,
and the held-out panel epoch by epoch. The numbers come from a worker (lib.serve.jobs.mnist_inside); this draws them."""
from __future__ import annotations

import streamlit as st
import torch

from lib.digits import mnist_data

from lib.serve import jobs, workers
from lib.figures import mnist_inside_plots as plots
from lib.digits.mnist_inside import TOP_UNITS, conv_entry, written_out
from lib.text.messages import render
from ui.links import keep_choice, linked_choice, one_of, whole_number
from ui.runs import get, run_failed_message
from ui.text import lang, t

SOURCES = ("test", "mistake", "own")
# the keys its choices take in the link: the digit's source, the mistake or the test index, the layer and the channel,
# row and column of the entry written out
LINK_KEYS = ("m_digit", "m_wrong", "m_index", "m_layer", "m_ch", "m_row", "m_col")


def inside_sections(run: dict, data: mnist_data.MnistData, own_digit: torch.Tensor | None) -> None:
    st.header(t("inside.header"))
    # the section appears once a model is trained, on a later run than the one that entered the page: its choices
    # read the link the first time it is drawn
    st.session_state["entered_from_link"] = st.session_state.get("inside_entered") is None
    st.session_state["inside_entered"] = True
    chosen = choose_digit(run, data, own_digit)
    if chosen is None:
        return
    digit, what = chosen
    config = run["result"].config
    try:
        with st.spinner(t("inside.computing")):
            inside = get(jobs.mnist_inside, config, run["state"], digit)
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


def choose_digit(run: dict, data: mnist_data.MnistData, own_digit) -> tuple[torch.Tensor, str] | None:
    """The digit to look inside with: a held-out digit, one the model gets wrong, or the one drawn/uploaded.

    A drawn or uploaded digit does not travel in a link: a link that names it shows a held-out digit where the
    session has none."""
    sources = [s for s in SOURCES if s != "own" or own_digit is not None]
    linked_choice("m_digit", "inside_source", one_of(*SOURCES))
    if st.session_state.get("inside_source") not in sources:
        if st.session_state.get("entered_from_link") and st.session_state.get("inside_source") == "own":
            st.caption(t("inside.own_not_linked"))
        st.session_state["inside_source"] = "test"
    source = st.radio(t("inside.source"), sources, format_func=lambda s: t(f"inside.source.{s}"), horizontal=True,
                      key="inside_source")
    keep_choice("m_digit", source)
    if source == "own":
        return own_digit, t("inside.what.own")
    if source == "mistake":
        mistakes = run["report"].mistakes
        if not mistakes:
            st.caption(t("mnist.no_mistakes"))
            return None
        indices = [m.index for m in mistakes]
        linked_choice("m_wrong", "inside_mistake", one_of(*indices))
        if st.session_state.get("inside_mistake") not in indices:   # e.g. a mistake of the model trained before
            st.session_state.pop("inside_mistake", None)
        index = st.selectbox(t("inside.mistake"), indices, key="inside_mistake",
                             format_func={m.index: t("inside.mistake_option", index=m.index, true=m.true,
                                                     predicted=m.predicted) for m in mistakes}.get)
        keep_choice("m_wrong", index)
    else:
        index = linked_number(st, t("inside.index"), len(data.test_labels) - 1, 0, "inside_index", "m_index")
    digit = mnist_data.denormalise(data.test_images[index, 0])
    return digit, t("inside.what.test", index=index, label=int(data.test_labels[index]))


def mlp_section(inside) -> None:
    st.subheader(t("inside.mlp_header"))
    st.write(t("inside.mlp_intro"))
    st.plotly_chart(plots.weight_images(inside, TOP_UNITS, lang()), key="inside_weights")
    st.caption(t("inside.weights_caption"))
    active = int((inside.mlp.hidden > 0).sum())
    st.plotly_chart(plots.hidden_bar(inside, lang()), key="inside_hidden")
    st.caption(t("inside.hidden_caption", active=active, hidden=len(inside.mlp.order)))


@st.fragment(key="inside_cnn")
def cnn_section(inside) -> None:
    """What the CNN sees: a fragment, as its layer, channel and entry only redraw (no job)."""
    st.subheader(t("inside.cnn_header"))
    st.write(t("inside.cnn_intro"))
    cnn = inside.cnn
    layers = list(range(len(cnn.feature_maps)))
    st.session_state.setdefault("inside_layer", 0)
    linked_choice("m_layer", "inside_layer", lambda text: one_of(*(n + 1 for n in layers))(text) - 1)   # conv1 is 1
    layer = st.radio(t("inside.layer"), layers, format_func=lambda i: f"conv{i + 1}", horizontal=True,
                     key="inside_layer")
    keep_choice("m_layer", layer + 1)
    left, right = st.columns(2)
    left.plotly_chart(plots.conv_filters(cnn.weights[layer], layer, lang()), key="inside_filters")
    right.plotly_chart(plots.feature_maps(cnn.feature_maps[layer], layer, lang()), key="inside_maps")
    st.caption(t("inside.maps_caption"))

    maps = cnn.feature_maps[layer]
    c_out, height, width = maps.shape
    cols = st.columns(3)
    channel = linked_number(cols[0], t("inside.channel"), c_out - 1, 0, f"inside_channel_{layer}", "m_ch")
    # the strongest entry of the channel is where its convolution says most; any other can be chosen
    strongest = divmod(int(maps[channel].argmax()), width)
    row = linked_number(cols[1], t("inside.row"), height - 1, strongest[0], f"inside_row_{layer}_{channel}", "m_row")
    col = linked_number(cols[2], t("inside.col"), width - 1, strongest[1], f"inside_col_{layer}_{channel}", "m_col")
    entry = conv_entry(cnn, layer, channel, row, col)
    st.markdown(t("inside.entry_header", layer=layer + 1, channel=channel, row=row, col=col))
    c_in, in_height, in_width = cnn.inputs[layer].shape
    k = entry.kernel.shape[-1]
    source = (t("inside.input_digit", side=in_height) if layer == 0 else
              t("inside.input_maps", layer=layer, n=c_in, height=in_height, width=in_width))
    st.caption(t("inside.entry_patch", top=entry.top, bottom=entry.top + k - 1, left=entry.left,
                 right=entry.left + k - 1, input=source, stride=cnn.strides[layer], row=row, col=col))
    st.code(written_out_text(entry, lang()), language=None)
    st.caption(t("inside.entry_caption", value=maps[channel, row, col].item()))


def written_out_text(entry, language: str) -> str:
    """An output pixel's convolution written out (lib.digits.mnist_inside.written_out) in `language`."""
    return "\n".join("".join(render(part, language) for part in line) for line in written_out(entry))


def linked_number(column, label: str, high: int, default: int, key: str, url_key: str) -> int:
    """A whole number from 0 to `high`, kept in the link as `url_key`."""
    st.session_state.setdefault(key, default)
    linked_choice(url_key, key, whole_number(0, high))
    value = int(column.number_input(label, 0, high, step=1, key=key))
    keep_choice(url_key, value)
    return value


def saliency_section(inside) -> None:
    st.subheader(t("inside.saliency_header"))
    st.write(t("inside.saliency_intro"))
    st.plotly_chart(plots.saliency_maps(inside, lang()), key="inside_saliency")
    first, second = inside.saliency.classes
    st.caption(t("inside.saliency_caption", first=first, second=second))


def panel_section(panel, data: mnist_data.MnistData) -> None:
    st.subheader(t("inside.panel_header"))
    if panel is None or not panel.epochs:
        st.caption(t("inside.panel_missing"))
        return
    st.write(t("inside.panel_intro", n=len(panel.indices)))
    st.plotly_chart(plots.panel_matrix(panel, lang()), key="inside_panel")
    digits = mnist_data.denormalise(data.test_images[panel.indices, 0])
    st.plotly_chart(plots.panel_digits(digits, panel.labels), key="inside_panel_digits")
