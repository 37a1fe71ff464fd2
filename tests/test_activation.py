"""ReLU, LeakyReLU, Sigmoid, Tanh: gradient checks, known answers, PyTorch, stability, errors."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_layer, rel_error
from layernet.layers import LeakyReLU, ReLU, Sigmoid, Tanh

LAYERS = {
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "sigmoid": Sigmoid,
    "tanh": Tanh,
}
SHAPES = [(4,), (3, 5), (2, 3, 4, 5), (1, 2, 1, 3)]


def away_from_zero(rng, shape, dtype=np.float64):
    """Values in +-[0.1, 3]: no input near the ReLU kink, where a finite difference straddles it."""
    magnitude = rng.uniform(0.1, 3.0, shape)
    return (magnitude * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def torch_fn(name):
    torch = require_torch()
    F = torch.nn.functional
    return {
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.1),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
    }[name]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", LAYERS)
def test_gradcheck_float64(name, shape, rng):
    errors = check_layer(LAYERS[name](), away_from_zero(rng, shape))
    assert errors["x"] < GRAD_TOL, errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", LAYERS)
def test_against_torch(name, dtype, rng):
    torch = require_torch()
    x = (3 * rng.standard_normal((3, 4, 5, 6))).astype(dtype)
    x[0, 0, 0, :3] = [0.0, 40.0, -40.0]  # the kink, and saturation
    dout = rng.standard_normal(x.shape).astype(dtype)
    layer = LAYERS[name]()
    out = layer.forward(x)
    dx = layer.backward(dout)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch_fn(name)(xt)
    out_t.backward(torch.tensor(dout))
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    assert out.dtype == dx.dtype == dtype
    np.testing.assert_allclose(out, out_t.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)


def test_known_answers():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    dout = np.ones_like(x)
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(x), [[0, 0, 0, 0.5, 2.0]])
    np.testing.assert_array_equal(relu.backward(dout), [[0, 0, 0, 1, 1]])  # 0 at the kink
    leaky = LeakyReLU(0.2)
    np.testing.assert_allclose(leaky.forward(x), [[-0.4, -0.1, 0, 0.5, 2.0]])
    np.testing.assert_allclose(leaky.backward(dout), [[0.2, 0.2, 0.2, 1, 1]])
    sig = Sigmoid()
    np.testing.assert_allclose(sig.forward(np.array([[0.0, np.log(3.0)]])), [[0.5, 0.75]])
    np.testing.assert_allclose(sig.backward(np.ones((1, 2))), [[0.25, 0.1875]])
    tanh = Tanh()
    np.testing.assert_allclose(tanh.forward(np.array([[0.0, np.log(2.0)]])), [[0.0, 0.6]])
    np.testing.assert_allclose(tanh.backward(np.ones((1, 2))), [[1.0, 0.64]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    x = np.array([[-1e4, -800.0, -100.0, 100.0, 800.0, 1e4]], dtype=dtype)
    with np.errstate(all="raise"):
        layer = Sigmoid()
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    np.testing.assert_array_equal(out[0, [0, 1, 4, 5]], [0.0, 0.0, 1.0, 1.0])
    assert 0 < out[0, 2] < 1e-40 or dtype == np.float32
    np.testing.assert_array_equal(dx[0, [1, 4]], [0.0, 0.0])


@pytest.mark.parametrize("name", LAYERS)
def test_float32_agrees_with_float64(name, rng):
    x = 3 * rng.standard_normal((2, 3, 7, 5))
    dout = rng.standard_normal(x.shape)
    results = []
    for dtype in (np.float32, np.float64):
        layer = LAYERS[name]()
        out = layer.forward(x.astype(dtype))
        dx = layer.backward(dout.astype(dtype))
        assert out.dtype == dx.dtype == dtype and out.shape == dx.shape == x.shape
        results.append((out, dx))
    for a, b in zip(*results):
        assert np.max(np.abs(a - b)) < 1e-6 * (1 + np.max(np.abs(b)))


@pytest.mark.parametrize("name", LAYERS)
def test_config_repr_and_shapes(name):
    layer = LAYERS[name]()
    config = layer.get_config()
    assert config["type"] == name
    assert type(layer).from_config(config).get_config() == config
    assert layer.output_shape((3, 4, 5)) == (3, 4, 5)
    assert repr(ReLU()) == "ReLU()" and repr(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


@pytest.mark.parametrize("name", LAYERS)
def test_errors(name):
    layer = LAYERS[name]()
    cls = type(layer).__name__
    with pytest.raises(ValueError, match=rf"{cls}.*floating"):
        layer.forward(np.ones((2, 3), dtype=np.int32))
    with pytest.raises(ValueError, match=rf"{cls}.*scalar"):
        layer.forward(np.float64(1.0))
    with pytest.raises(RuntimeError, match=rf"{cls}.backward called before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=rf"{cls}.backward: expected dout of the output's shape"):
        layer.backward(np.ones((3, 2)))


def test_leaky_relu_rejects_a_negative_slope():
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(-0.1)


def test_relu_does_not_modify_its_input(rng):
    x = rng.standard_normal((4, 5))
    before = x.copy()
    layer = ReLU()
    layer.forward(x)
    layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(x, before)
    assert rel_error(x, before) == 0.0
