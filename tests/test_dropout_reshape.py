"""Dropout and Flatten: gradient checks, scaling, eval identity, drop fraction, errors."""

import numpy as np
import pytest

from conftest import GRAD_TOL
from layernet.gradcheck import check_layer
from layernet.layers import Dropout, Flatten


@pytest.mark.parametrize("shape", [(4, 5), (1, 3, 4, 4), (6,)], ids=str)
@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
def test_dropout_gradcheck_in_training(p, shape, rng):
    layer = Dropout(p, rng=1)
    errors = check_layer(layer, rng.standard_normal(shape), training=True)
    assert errors["x"] < GRAD_TOL, errors


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_scaling_and_mask_reuse(dtype, rng):
    p = 0.25
    layer = Dropout(p, rng=0)
    x = rng.uniform(1.0, 2.0, (50, 40)).astype(dtype)
    out = layer.forward(x, training=True)
    assert out.dtype == dtype
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-6)
    dout = rng.standard_normal(x.shape).astype(dtype)
    dx = layer.backward(dout)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, np.where(kept, dout / (1 - p), 0), rtol=1e-6)


def test_dropout_fraction_dropped_is_close_to_p(rng):
    for p in (0.1, 0.5, 0.9):
        out = Dropout(p, rng=3).forward(np.ones((400, 500)), training=True)
        # 200,000 draws: the standard deviation of the fraction is below 0.0012
        assert abs(np.mean(out == 0) - p) < 0.006, p
        assert abs(out.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation


def test_dropout_is_the_identity_in_eval_and_with_p_zero(rng):
    x = rng.standard_normal((3, 4))
    for layer, training in ((Dropout(0.5, rng=0), False), (Dropout(0.0, rng=0), True)):
        np.testing.assert_array_equal(layer.forward(x, training=training), x)
        dout = rng.standard_normal((3, 4))
        np.testing.assert_array_equal(layer.backward(dout), dout)


def test_dropout_uses_its_generator():
    x = np.ones((20, 20))
    a = Dropout(0.5, rng=7).forward(x, training=True)
    b = Dropout(0.5, rng=7).forward(x, training=True)
    layer = Dropout(0.5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, layer.forward(x, training=True))
    assert isinstance(layer.rng, np.random.Generator)
    assert not np.array_equal(a, layer.forward(x, training=True))  # the generator moved on


def test_dropout_config_and_errors():
    layer = Dropout(0.3, rng=0)
    assert repr(layer) == "Dropout(p=0.3)" and layer.get_config() == {"type": "dropout", "p": 0.3}
    assert Dropout.from_config(layer.get_config()).p == 0.3
    assert layer.output_shape((3, 4)) == (3, 4)
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="`p` of Dropout"):
            Dropout(bad)
    with pytest.raises(ValueError, match="Dropout.*floating"):
        layer.forward(np.ones((2, 2), dtype=np.int8), training=True)
    with pytest.raises(RuntimeError, match="Dropout.backward called before forward"):
        Dropout().backward(np.ones((2, 2)))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 7), (3, 2, 2), (4,)], ids=str)
def test_flatten(shape, rng):
    layer = Flatten()
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    n = shape[0]
    assert out.shape == (n, x.size // n) and layer.output_shape(shape[1:]) == out.shape[1:]
    np.testing.assert_array_equal(out, x.reshape(n, -1))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(layer.backward(dout), dout.reshape(shape))
    errors = check_layer(layer, x)
    assert errors["x"] < GRAD_TOL


def test_flatten_keeps_dtype_and_errors():
    layer = Flatten()
    assert layer.forward(np.ones((2, 3, 4), dtype=np.float32)).dtype == np.float32
    assert repr(layer) == "Flatten()" and layer.get_config() == {"type": "flatten"}
    with pytest.raises(ValueError, match="Flatten.*floating"):
        layer.forward(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"backward: expected dout of the output's shape"):
        layer.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="Flatten.backward called before forward"):
        Flatten().backward(np.ones((2, 3)))
