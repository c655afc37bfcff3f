"""lib/figures/plots.py's SpecFigure: what Streamlit sends for it is what it would send for a plain go.Figure."""
import json
import math

import numpy as np
import plotly
import plotly.io as pio
import pytest
import streamlit.elements.plotly_chart  # noqa: F401  registers Streamlit's theme as plotly's default template
import torch
from plotly import graph_objects as go

from lib.figures import plots
from tests.page_support import plotly_values


def sent(fig) -> dict:
    """The chart's spec as st.plotly_chart writes it (streamlit/elements/plotly_chart.py)."""
    figure = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
    return json.loads(pio.to_json(figure, validate=False))


def plain(build):
    """The same builder with plots.unchecked making a plain, unvalidated go.Figure."""
    original = plots.unchecked
    plots.unchecked = lambda spec: go.Figure(spec, _validate=False)
    try:
        return build()
    finally:
        plots.unchecked = original


MANUAL, AUTOGRAD = torch.randn(70, 40, generator=torch.Generator().manual_seed(0)), torch.randn(70, 40)
BUILDERS = {
    "loss curves, one diverged": lambda: plots.loss_curves(
        [("run", [5.0, 3.0, 2.5]), ("inf", [4.0, math.inf])], diverged={"run": (3, 9.0)}, title="t"),
    "gradient heatmaps": lambda: plots.gradient_heatmaps("w1", MANUAL, AUTOGRAD),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_streamlit_sends_the_same_spec_as_for_a_plain_figure(name):
    lean, reference = sent(BUILDERS[name]()), sent(plain(BUILDERS[name]))
    assert lean == reference
    assert lean["layout"]["template"] == json.loads(pio.to_json(go.Figure()))["layout"]["template"]
    assert lean["layout"]["template"]["layout"]   # Streamlit's theme travels, as with any figure


def test_the_template_follows_plotlys_default_and_none_means_none(monkeypatch):
    monkeypatch.setattr(pio.templates, "default", "plotly_white")
    fig = plots.loss_curves([("run", [2.0, 1.0])])
    assert fig.to_dict()["layout"]["template"] == go.Figure().to_dict()["layout"]["template"]
    monkeypatch.setattr(pio.templates, "default", None)
    assert "template" not in plots.loss_curves([("run", [2.0, 1.0])]).to_dict()["layout"]


def test_finite_losses_travel_as_binary_and_infinite_ones_as_json():
    losses = [float(v) for v in np.geomspace(1e4, 1e-3, 500)]
    spec = sent(plots.loss_curves([("run", losses), ("blown", [1.0, math.inf, math.nan])]))
    finite, blown = spec["data"][0]["y"], spec["data"][1]["y"]
    assert isinstance(finite, dict) and plotly_values(finite) == losses     # exact float64 values
    assert blown == [1.0, None, None]                                        # as before: JSON nulls
