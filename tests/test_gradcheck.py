"""The gradient checker itself: known answers, and that it catches a wrong gradient."""

import numpy as np
import pytest

from layernet.gradcheck import check_layer, numerical_gradient, numerical_gradient_array, rel_error
from layernet.layers import Affine


def test_rel_error_formula():
    assert rel_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    # both tiny: the 1e-8 floor keeps the ratio finite
    assert rel_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_known_functions(rng):
    x = rng.standard_normal((3, 4))
    grad = numerical_gradient(lambda: np.sum(x**3), x)
    assert rel_error(grad, 3 * x**2) < 1e-7
    dout = rng.standard_normal((3, 4))
    grad = numerical_gradient_array(lambda: np.sin(x), x, dout)
    assert rel_error(grad, np.cos(x) * dout) < 1e-8


class _WrongAffine(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"] * 1.01
        return dx


def test_check_layer_catches_a_wrong_gradient(rng):
    layer = _WrongAffine(4, 3, rng=0)
    errors = check_layer(layer, rng.standard_normal((5, 4)))
    assert errors["x"] < 1e-7 and errors["b"] < 1e-7
    assert errors["W"] > 1e-3


def test_check_layer_restores_state(rng):
    layer = Affine(4, 3, rng=0)
    W = layer.params["W"]
    before = W.copy()
    check_layer(layer, rng.standard_normal((2, 4)))
    assert layer.params["W"] is W and W.dtype == np.float32
    np.testing.assert_array_equal(W, before)


def test_dout_is_not_the_callers_input_stream():
    from layernet.layers import BatchNorm

    # x drawn from default_rng(0) with check_layer's default seed=0: dout must not equal x
    x = np.random.default_rng(0).standard_normal((8, 5))
    assert check_layer(BatchNorm(5), x)["x"] < 1e-7
