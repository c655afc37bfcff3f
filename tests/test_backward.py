"""lib.tutorial.backward: each hand-written backward against autograd (float64, random shapes), finite differences
against autograd, and broken variants that must fail the same check."""
import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from lib.tutorial import backward as bw

SEEDS = range(4)


def shapes(seed):
    """(generator, N, D_IN, D_OUT) drawn from the seed: a different shape on every run of the parametrisation."""
    gen = torch.Generator().manual_seed(seed)
    n, d_in, d_out = (int(v) for v in torch.randint(1, 9, (3,), generator=gen))
    return gen, n, d_in, d_out


def randn(gen, *shape):
    return torch.randn(*shape, dtype=torch.float64, generator=gen)


def autograd_of(fn, *inputs, grad_out=None):
    """Autograd's gradient of sum(fn(*inputs) * grad_out) (or of fn's scalar) with respect to every input."""
    leaves = [t.clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    (out if grad_out is None else (out * grad_out).sum()).backward()
    return [leaf.grad for leaf in leaves]


# ---------------------------------------------------------------- layers
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_backward_equals_autograd(seed, bias):
    gen, n, d_in, d_out = shapes(seed)
    x, w, b, grad_y = randn(gen, n, d_in), randn(gen, d_in, d_out), randn(gen, d_out), randn(gen, n, d_out)
    inputs = (x, w, b) if bias else (x, w)
    expected = autograd_of(lambda *t: t[0] @ t[1] + (t[2] if bias else 0), *inputs, grad_out=grad_y)
    assert_close(bw.linear(*inputs), x @ w + (b if bias else 0))
    grad_x, grad_w, grad_b = bw.linear_backward(grad_y, x, w)
    assert_close(grad_x, expected[0])
    assert_close(grad_w, expected[1])
    if bias:
        assert_close(grad_b, expected[2])


def test_linear_backward_serves_nn_linear_through_the_transpose():
    gen, n, d_in, d_out = shapes(7)
    layer = torch.nn.Linear(d_in, d_out, dtype=torch.float64)
    x, grad_y = randn(gen, n, d_in), randn(gen, n, d_out)
    (layer(x) * grad_y).sum().backward()
    _, grad_w, grad_b = bw.linear_backward(grad_y, x, layer.weight.detach().t())
    assert_close(grad_w.t(), layer.weight.grad)
    assert_close(grad_b, layer.bias.grad)


ACTIVATION_ORACLES = {"relu": torch.relu, "leaky_relu": lambda h: F.leaky_relu(h, bw.LEAKY_SLOPE),
                      "tanh": torch.tanh, "sigmoid": torch.sigmoid}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(bw.ACTIVATIONS))
def test_activation_backward_equals_autograd(seed, name):
    gen, n, hidden, _ = shapes(seed)
    h, grad_out = randn(gen, n, hidden), randn(gen, n, hidden)   # no entry is exactly 0, where ReLU's rule differs
    forward, backward = bw.ACTIVATIONS[name]
    oracle = ACTIVATION_ORACLES[name]
    assert_close(forward(h), oracle(h))
    expected, = autograd_of(oracle, h, grad_out=grad_out)
    assert_close(backward(grad_out, h), expected)


def test_relu_backward_is_my_relu_backward():
    """The one ReLU backward is the tutorial's MyReLU rule, including at exactly 0 (where torch's passes none)."""
    from lib.tutorial.stages import MyReLU
    h = torch.tensor([[-1.0, 0.0, 2.0]], dtype=torch.float64)
    grad_out = torch.tensor([[5.0, 6.0, 7.0]], dtype=torch.float64)
    expected, = autograd_of(MyReLU.apply, h, grad_out=grad_out)
    assert_close(bw.relu_backward(grad_out, h), expected)
    assert_close(bw.relu_backward(grad_out, h), torch.tensor([[0.0, 6.0, 7.0]], dtype=torch.float64))


def test_a_relu_backward_without_the_mask_fails_the_same_check():
    gen, n, hidden, _ = shapes(1)
    h, grad_out = randn(gen, n + 4, hidden + 4), randn(gen, n + 4, hidden + 4)
    expected, = autograd_of(torch.relu, h, grad_out=grad_out)
    with pytest.raises(AssertionError):
        assert_close(grad_out.clone(), expected)


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_mse_backward_equals_autograd(seed, reduction):
    gen, n, _, d_out = shapes(seed)
    y_pred, y = randn(gen, n, d_out), randn(gen, n, d_out)
    oracle = torch.nn.MSELoss(reduction=reduction)
    assert_close(bw.mse(y_pred, y, reduction), oracle(y_pred, y))
    expected, = autograd_of(lambda p: oracle(p, y), y_pred)
    assert_close(bw.mse_backward(y_pred, y, reduction), expected)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_cross_entropy_backward_equals_autograd(seed, reduction):
    gen, n, _, classes = shapes(seed)
    classes += 1
    logits = 30 * randn(gen, n, classes)           # large logits: softmax must not overflow
    labels = torch.randint(0, classes, (n,), generator=gen)
    oracle = lambda t: F.cross_entropy(t, labels, reduction=reduction)  # noqa: E731
    assert_close(bw.softmax(logits), torch.softmax(logits, 1))
    assert_close(bw.cross_entropy(logits, labels, reduction), oracle(logits))
    expected, = autograd_of(oracle, logits)
    assert_close(bw.cross_entropy_backward(logits, labels, reduction), expected)


def test_a_cross_entropy_backward_that_forgets_the_mean_fails_the_same_check():
    gen = torch.Generator().manual_seed(0)
    logits, labels = randn(gen, 8, 10), torch.randint(0, 10, (8,), generator=gen)
    expected, = autograd_of(lambda t: F.cross_entropy(t, labels), logits)
    with pytest.raises(AssertionError):
        assert_close(bw.cross_entropy_backward(logits, labels, "sum"), expected)


# ---------------------------------------------------------------- a network of layers
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("activation", list(bw.ACTIVATIONS))
def test_network_backward_equals_autograd_with_a_shared_layer(seed, activation):
    gen, n, d_in, d_out = shapes(seed)
    hidden = d_in + 2
    first = (randn(gen, hidden, d_in), randn(gen, hidden))
    shared = (randn(gen, hidden, hidden), randn(gen, hidden))
    last = (randn(gen, d_out, hidden), randn(gen, d_out))
    x, y = randn(gen, n, d_in), randn(gen, n, d_out)
    act = ACTIVATION_ORACLES[activation]

    def loss(*p):
        h = act(F.linear(x, p[0], p[1]))
        for _ in range(2):                          # the shared layer used twice, as DynamicNet may
            h = act(F.linear(h, p[2], p[3]))
        return F.mse_loss(F.linear(h, p[4], p[5]), y, reduction="sum")

    expected = autograd_of(loss, *first, *shared, *last)
    grads = bw.network_backward(x, [first, shared, shared, last], lambda y_pred: bw.mse_backward(y_pred, y),
                                activation)
    (gw1, gb1), (gw2a, gb2a), (gw2b, gb2b), (gw3, gb3) = grads
    for got, want in zip((gw1, gb1, gw2a + gw2b, gb2a + gb2b, gw3, gb3), expected):
        assert_close(got, want)


def test_network_grads_names_each_layers_gradients():
    gen, n, d_in, d_out = shapes(2)
    net = torch.nn.Sequential(torch.nn.Linear(d_in, 5), torch.nn.ReLU(), torch.nn.Linear(5, d_out)).double()
    x, labels = randn(gen, n, d_in), torch.randint(0, d_out, (n,), generator=gen)
    F.cross_entropy(net(x), labels).backward()
    params = {k: v.detach() for k, v in net.named_parameters()}
    grads = bw.network_grads(params, list(params), x, lambda logits: bw.cross_entropy_backward(logits, labels))
    assert list(grads) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, p in net.named_parameters():
        assert_close(grads[name], p.grad)


# ---------------------------------------------------------------- finite differences
def _small_net(seed):
    gen, n, d_in, d_out = shapes(seed)
    params = {"w": randn(gen, d_in, d_out), "b": randn(gen, d_out)}
    x, y = randn(gen, n, d_in), randn(gen, n, d_out)
    loss = lambda: bw.mse(torch.tanh(bw.linear(x, params["w"], params["b"])), y)  # noqa: E731
    return params, loss


@pytest.mark.parametrize("seed", SEEDS)
def test_finite_differences_agree_with_autograd_on_chosen_entries(seed):
    params, loss = _small_net(seed)
    before = {k: v.clone() for k, v in params.items()}
    picks = {"w": [0, params["w"].numel() - 1], "b": [params["b"].numel() - 1]}
    numeric = bw.finite_differences(loss, params, picks)
    auto = dict(zip(params, autograd_of(lambda w, b: _loss_with(loss, params, w, b), *params.values())))
    for name in params:
        assert numeric[name].shape == (len(picks[name]),)
        assert_close(numeric[name], auto[name].reshape(-1)[picks[name]], rtol=1e-6, atol=1e-8)
        assert torch.equal(params[name], before[name]), "every nudge is put back"


def test_finite_differences_cover_every_entry_without_picks():
    params, loss = _small_net(5)
    numeric = bw.finite_differences(loss, params)
    auto = dict(zip(params, autograd_of(lambda w, b: _loss_with(loss, params, w, b), *params.values())))
    for name in params:
        assert_close(numeric[name], auto[name].reshape(-1), rtol=1e-6, atol=1e-8)


def test_finite_differences_catch_a_wrong_gradient():
    params, loss = _small_net(3)
    numeric = bw.finite_differences(loss, params)
    auto = dict(zip(params, autograd_of(lambda w, b: _loss_with(loss, params, w, b), *params.values())))
    with pytest.raises(AssertionError):
        assert_close(numeric["w"], 0.5 * auto["w"].reshape(-1), rtol=1e-6, atol=1e-8)


def _loss_with(loss, params, w, b):
    """loss() with `params` swapped for autograd's leaves w, b."""
    saved = dict(params)
    params.update(w=w, b=b)
    try:
        return loss()
    finally:
        params.update(saved)
