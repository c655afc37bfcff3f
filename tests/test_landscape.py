"""The loss landscape: its centre is the trained loss, the centring optimizer's path ends there, the directions
are filter-normalised, the grid's losses are the model's."""
import json
import math
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lib.tutorial.config import default_config
from lib.tutorial.gradients import TOLERANCE, loss_at
from lib.text.i18n import EN, KO
from lib.explore.landscape import Plane, filter_normalised_direction, loss_landscape
from lib.explore.optim_internals import compare_optimizer
from lib.tutorial.optimizers import OPTIMIZERS

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "optimizers.py")
SMALL = dict(n=16, d_in=12, hidden=8, d_out=3)


def cfg(**changes):
    return default_config("optim").with_(**{**SMALL, **changes})


@pytest.mark.parametrize("optimizer, dtype", [("adam", "float32"), ("sgd", "float64"), ("rmsprop", "float32")])
def test_the_centre_is_the_trained_loss_and_the_path_ends_there(optimizer, dtype):
    config = cfg(optimizer=optimizer, dtype=dtype, lr=1e-3)
    landscape = loss_landscape(config, 10, grid=5)
    trained = compare_optimizer(config, 10).torch_params   # torch.optim's weights after the same 10 steps
    loss = loss_at("optim", config, trained, *_data(config)).item()
    assert landscape.centre_loss == loss
    middle = landscape.coords.index(0.0)
    assert middle == 2
    assert math.isclose(landscape.losses[middle][middle], loss, rel_tol=TOLERANCE[dtype])
    assert landscape.paths[optimizer][-1] == (0.0, 0.0)
    assert landscape.path_losses[optimizer][-1] == loss
    assert len(landscape.paths[optimizer]) == 11                 # before each step, and after the last
    assert set(landscape.paths) == set(OPTIMIZERS)
    others = [path[-1] for name, path in landscape.paths.items() if name != optimizer]
    assert any(point != (0.0, 0.0) for point in others)


def _data(config):
    from lib.tutorial.stages import run_stage
    start = run_stage("optim", config, stop_at=0)
    return start.x, start.y


def test_directions_are_filter_normalised():
    params = {"w": torch.randn(4, 6, dtype=torch.float64) * torch.arange(1, 5).view(4, 1),
              "b": torch.randn(4, dtype=torch.float64)}
    d = filter_normalised_direction(params, torch.Generator().manual_seed(3))
    assert torch.allclose(d["w"].norm(dim=1), params["w"].norm(dim=1), rtol=1e-12)
    assert not torch.allclose(d["w"] / d["w"].norm(dim=1, keepdim=True),
                              params["w"] / params["w"].norm(dim=1, keepdim=True))   # random, not the weights
    assert torch.count_nonzero(d["b"]) == 0                                              # biases stay put


def test_the_grid_holds_the_models_loss_off_the_centre():
    config = cfg(dtype="float64")
    landscape = loss_landscape(config, 5, grid=5, span=0.5)
    x, y = _data(config)
    trained = compare_optimizer(config, 5).torch_params
    generator = torch.Generator().manual_seed(config.seed)
    plane = Plane(trained, filter_normalised_direction(trained, generator),
                  filter_normalised_direction(trained, generator))
    for j, i in [(0, 0), (1, 3), (4, 2)]:
        alpha, beta = landscape.coords[i], landscape.coords[j]
        expected = loss_at("optim", config, plane.point(alpha, beta), x, y).item()
        assert math.isclose(landscape.losses[j][i], expected, rel_tol=1e-10)
        assert plane.project(plane.point(alpha, beta)) == pytest.approx((alpha, beta), abs=1e-9)
    assert landscape.losses[0][0] > landscape.centre_loss   # a step as long as the weights climbs out


def test_grid_and_time_limit():
    with pytest.raises(ValueError):
        loss_landscape(cfg(), 5, grid=4)
    cut = loss_landscape(cfg(), 5, grid=5, time_limit_s=0.0)
    assert cut.time_limited and all(math.isnan(v) for row in cut.losses for v in row)


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.slow
def test_the_page_draws_the_landscape(lang):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update({"lang": lang, "n": "16", "d_in": "12", "hidden": "8", "d_out": "3"})
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    texts = {"en": EN, "ko": KO}[lang]
    assert texts["land.header"] in [h.value for h in at.header]
    chart = next(c for c in at.get("plotly_chart") if "landscape_chart" in c.proto.id)
    spec = json.loads(chart.proto.spec)
    contour = spec["data"][0]
    assert contour["type"] == "contour" and len(contour["z"]) == 21
    paths = [trace for trace in spec["data"] if trace.get("mode") == "lines+markers"]
    assert len(paths) == len(OPTIMIZERS)
    at.select_slider(key="land_span").set_value(0.01).run()
    assert not at.exception
    assert at.query_params["span"] in ("0.01", ["0.01"])


@pytest.mark.slow
def test_a_link_opens_the_landscape_at_its_half_width():
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params.update({"n": "16", "d_in": "12", "hidden": "8", "d_out": "3", "span": "0.1"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.select_slider(key="land_span").value == 0.1
    chart = next(c for c in at.get("plotly_chart") if "landscape_chart" in c.proto.id)
    assert json.loads(chart.proto.spec)["data"][0]["x"][-1] == 0.1


def test_random_directions_keep_little_of_a_path_at_the_tutorials_size():
    """What the page says under the contour when every share is below 10%: the paths look short on the slice."""
    from ui.landscape_view import NEARLY_ORTHOGONAL
    landscape = loss_landscape(default_config("optim"), 10, grid=3)
    assert all(0 < share < NEARLY_ORTHOGONAL for share in landscape.kept.values())
    extent = max(max(abs(a), abs(b)) for path in landscape.paths.values() for a, b in path)
    assert extent < 0.01 * landscape.coords[-1]   # on a ±1 slice, every path stays near the centre
    # a tiny network, whose paths the slice keeps a larger share of
    small = loss_landscape(cfg(n=4, d_in=2, hidden=2, d_out=1, lr=1e-2), 10, grid=3)
    assert max(small.kept.values()) > max(landscape.kept.values())
