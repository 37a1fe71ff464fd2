"""The gradient checker itself: known answers, and that it catches a wrong gradient."""

import numpy as np
import pytest

from layernet.gradcheck import check_layer, check_model, compare, numerical_gradient, numerical_gradient_array, rel_error
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


def test_check_model_sampled_and_zero_gradient_rule(rng):
    from layernet import Sequential
    from layernet.layers import BatchNorm
    from layernet.losses import SoftmaxCrossEntropy

    # Affine's bias right before batch norm has a true gradient of exactly 0.
    model = Sequential([Affine(6, 4, rng=0), BatchNorm(4), Affine(4, 3, rng=1)])
    x, y = rng.standard_normal((5, 6)), np.array([0, 1, 2, 1, 0])
    full = check_model(model, SoftmaxCrossEntropy(), x, y)
    assert full["0.b"] == 0.0 and max(full.values()) < 1e-6
    sampled = check_model(model, SoftmaxCrossEntropy(), x, y, samples=3, seed=1)
    assert set(sampled) == set(full) and max(sampled.values()) < 1e-6


def test_compare_counts_round_off_as_zero_and_nothing_else():
    eps = np.finfo(np.float64).eps
    floor = 10 * eps * 800.0 / 1e-5  # ROUND_OFF_ULPS * eps * scale / h, about 1.8e-8
    assert compare(np.full(3, 3e-15), np.full(3, 0.1 * floor), scale=800.0) == 0.0
    # either gradient above the floor: the plain relative error
    assert compare(np.zeros(3), np.full(3, 2 * floor), scale=800.0) == 1.0
    assert compare(np.full(3, 2 * floor), np.zeros(3), scale=800.0) == 1.0
    assert compare(np.array([1.0, 0.0]), np.array([1.0, 1e-3]), scale=800.0) == 1.0
    assert compare(np.zeros(0), np.zeros(0), scale=1.0) == 0.0


def test_check_layer_and_check_model_share_the_zero_gradient_rule(rng):
    from layernet import Sequential
    from layernet.layers import BatchNorm, Conv2d, Flatten, ReLU, Residual
    from layernet.losses import SoftmaxCrossEntropy

    # The conv bias before batch norm has a true gradient of 0: check_layer (on the block, with
    # its large sum(out * dout)) and check_model (on the loss) both report it as 0.0.
    block = Residual(Conv2d(4, 4, 3, padding=1, rng=0), BatchNorm(4), ReLU())
    errors = check_layer(block, rng.standard_normal((4, 4, 8, 8)))
    assert errors["0.b"] == 0.0 and max(errors.values()) < 1e-7, errors
    model = Sequential([Residual(Conv2d(2, 2, 3, padding=1, rng=0), BatchNorm(2), ReLU()), Flatten(), Affine(32, 3, rng=1)])
    errors = check_model(model, SoftmaxCrossEntropy(), rng.standard_normal((3, 2, 4, 4)), np.array([0, 1, 2]))
    assert errors["0.0.b"] == 0.0 and max(errors.values()) < 1e-6, errors


def test_check_model_sampled_still_catches_a_wrong_gradient(rng):
    from layernet import Sequential
    from layernet.losses import MSELoss

    model = Sequential([_WrongAffine(4, 3, rng=0)])
    errors = check_model(model, MSELoss(), rng.standard_normal((5, 4)), rng.standard_normal((5, 3)), samples=4)
    assert errors["0.W"] > 1e-3 and errors["0.b"] < 1e-7


def test_gradcheck_report_names_each_layer_and_the_model(rng):
    from layernet import Sequential
    from layernet.gradcheck import gradcheck_report
    from layernet.layers import Tanh
    from layernet.losses import SoftmaxCrossEntropy

    model = Sequential([_WrongAffine(4, 5, rng=0), Tanh(), Affine(5, 3, rng=1)])
    report = gradcheck_report(model, SoftmaxCrossEntropy(), rng.standard_normal((6, 4)), np.arange(6) % 3, samples=5)
    assert list(report) == ["0 affine", "1 tanh", "2 affine", "model"]
    assert report["0 affine"]["W"] > 1e-3 and report["model"]["0.W"] > 1e-3  # the wrong layer is caught
    assert report["2 affine"]["W"] < 1e-7 and report["1 tanh"]["x"] < 1e-7
