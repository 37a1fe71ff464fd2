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


# ---------------------------------------------------------------------------- unresolved elements
# A ReLU input 5e-6 from its kink: the centred difference with h = 1e-5 straddles it
# (n = 0.75 dout instead of dout, a relative error of 0.14), while n(h/2) = dout.
NEAR_KINK = 5e-6


def _near_kink_input(rng, shape=(4, 6)):
    x = rng.standard_normal(shape)
    x[0, 0] = NEAR_KINK
    return x


def test_a_relu_input_within_h_of_its_kink_is_skipped(rng):
    from layernet.layers import ReLU

    errors = check_layer(ReLU(), _near_kink_input(rng))
    assert errors["x"] < 1e-7 and errors.skipped == {"x": 1}, (errors, errors.skipped)


def test_ops_and_functions_skip_a_kink_too(rng):
    from layernet import ops
    from layernet.autograd import maximum
    from layernet.gradcheck import check_function, check_op

    x = _near_kink_input(rng)
    errors = check_op(ops.ReLU(), x)
    assert errors[0] < 1e-7 and errors.skipped == [1], (errors, errors.skipped)
    w = rng.standard_normal(x.shape)
    errors = check_function(lambda t: (maximum(t, 0.0) * w).sum(), x)
    assert errors[0] < 1e-7 and errors.skipped == [1], (errors, errors.skipped)


def test_check_model_skips_a_kink(rng):
    from layernet import Sequential
    from layernet.layers import ReLU
    from layernet.losses import MSELoss

    model = Sequential([ReLU(), Affine(6, 3, rng=0)])
    errors = check_model(model, MSELoss(), _near_kink_input(rng), rng.standard_normal((4, 3)))
    assert max(errors.values()) < 1e-7 and errors.skipped == {"x": 1}, (errors, errors.skipped)


def _wrong_relu(backward):
    from layernet.layers import ReLU

    class WrongReLU(ReLU):
        def forward(self, x, training=True):
            self._x = x
            return super().forward(x, training)

    WrongReLU.backward = backward
    return WrongReLU()


@pytest.mark.parametrize("wrong", ["scaled by 1.001", "mask x > 0.1"])
def test_a_wrong_backward_fails_with_a_kink_present(rng, wrong):
    from layernet.gradcheck import BAD
    from layernet.layers import ReLU

    right = ReLU.backward
    if wrong == "scaled by 1.001":
        layer = _wrong_relu(lambda self, dout: 1.001 * right(self, dout))
    else:
        layer = _wrong_relu(lambda self, dout: dout * (self._x > 0.1))
    x = _near_kink_input(rng, (8, 16))
    errors = check_layer(layer, x)
    # the settled elements still show the wrong backward; at most the kink is left out (with the
    # wrong mask its analytic 0 is further from n(h) = 0.75 dout than n moves, so it is kept)
    assert errors["x"] > BAD and errors.skipped == ({"x": 1} if wrong == "scaled by 1.001" else {}), \
        (errors, errors.skipped)


def test_nothing_is_skipped_when_every_element_is_unresolved():
    from layernet.gradcheck import BAD
    from layernet.layers import ReLU

    errors = check_layer(ReLU(), np.full((2, 3), NEAR_KINK))
    assert errors["x"] > BAD and errors.skipped == {}


def test_a_forward_that_is_not_a_function_of_its_input_is_not_skipped(rng):
    from layernet.gradcheck import BAD
    from layernet.layers import Tanh

    noise = np.random.default_rng(1)  # not the layer's rng: the checker cannot hold it fixed

    x = rng.standard_normal((3, 4))

    class NoisyTanh(Tanh):  # a random slope on x[0, 0], drawn afresh on every call
        def forward(self, x_, training=True):
            out = np.array(super().forward(x_, training))
            out[0, 0] += (x_[0, 0] - x[0, 0]) * 1e-3 * noise.standard_normal()
            return out

    # x[0, 0]'s centred difference moves between steps as a kink's does, but it also moves when
    # repeated with the same step: the forward is at fault, and the element is kept. (Randomness
    # that reaches every element makes every element unresolved, and then none is skipped.)
    errors = check_layer(NoisyTanh(), x)
    assert errors["x"] > BAD and errors.skipped == {}, (errors, errors.skipped)


def test_round_off_on_a_zero_gradient_is_still_zero_with_skipping(rng):
    from layernet.layers import BatchNorm, Conv2d, ReLU, Residual

    # compare's rule runs after the unresolved elements are left out: the conv bias before batch
    # norm is still reported as exactly 0.0, and nothing of a round-off-only array is skipped
    block = Residual(Conv2d(4, 4, 3, padding=1, rng=0), BatchNorm(4), ReLU())
    errors = check_layer(block, rng.standard_normal((4, 4, 8, 8)))
    assert errors["0.b"] == 0.0 and "0.b" not in errors.skipped
