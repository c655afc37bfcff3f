"""The figure of the own-network page: each layer's gradient norm, where a vanishing gradient shows. No Streamlit."""
from __future__ import annotations

import plotly.graph_objects as go

from lib.text.i18n import t
from lib.figures.plots import PALETTE, _layout


def layer_norms_figure(norms: list[float], lang: str = "en") -> go.Figure:
    """One bar per Linear layer, first to last, on a log axis: ‖W.grad‖ (lib.explore.own_network.layer_norms)."""
    labels = [f"linear{k}" for k in range(1, len(norms) + 1)]
    fig = go.Figure(go.Bar(x=labels, y=norms, marker_color=PALETTE[0], text=[f"{v:.2e}" for v in norms],
                           textposition="outside"))
    fig.update_xaxes(title=t("own.plot.layer", lang))
    fig.update_yaxes(title=t("own.plot.norm_axis", lang), type="log", exponentformat="power")
    return _layout(fig, t("own.plot.norms_title", lang), height=380)
