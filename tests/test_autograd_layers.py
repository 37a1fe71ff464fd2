"""Layers, Sequential, Residual and losses on autograd Tensors: the same gradients as the
hand-chained ``model.backward(loss.backward())``, bit for bit."""

import numpy as np
import pytest

from layernet import Sequential
from layernet.autograd import Tensor, no_grad
from layernet.gradcheck import check_function, rel_error
from layernet.layers import Affine, BatchNorm, Conv2d, Dropout, Flatten, MaxPool2d, ReLU, Residual, Tanh
from layernet.losses import HingeLoss, MSELoss, SoftmaxCrossEntropy
from layernet.optim import SGD


def _mlp(seed=0, dtype=np.float32):
    model = Sequential([
        Affine(6, 8, rng=seed), BatchNorm(8), ReLU(), Dropout(0.25, rng=seed + 1),
        Residual(Affine(8, 8, rng=seed + 2), Tanh()), Affine(8, 3, rng=seed + 3),
    ])
    return model.astype(dtype)


def _cnn(seed=0):
    return Sequential([
        Conv2d(1, 2, 3, padding=1, rng=seed), ReLU(), MaxPool2d(2), Flatten(), Affine(2 * 3 * 3, 4, rng=seed + 1),
    ])


@pytest.mark.parametrize("make, shape", [(_mlp, (5, 6)), (_cnn, (4, 1, 6, 6))], ids=["mlp", "cnn"])
@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, HingeLoss])
def test_loss_backward_equals_model_backward_bit_for_bit(make, shape, loss_cls, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 3, shape[0])
    by_hand, engine, loss = make(), make(), loss_cls()
    value = loss.forward(by_hand.forward(x, training=True), y)
    by_hand.backward(loss.backward(), input_grad=False)
    out = loss(engine(Tensor(x), training=True), y)
    assert isinstance(out, Tensor) and out.data.size == 1 and out.item() == value
    out.backward()
    for (name, _, g_hand), (_, _, g_engine) in zip(by_hand.parameters(), engine.parameters()):
        assert g_engine.dtype == g_hand.dtype == np.float32
        np.testing.assert_array_equal(g_engine, g_hand, err_msg=name)


def test_a_training_step_with_loss_backward_matches_the_hand_chained_one(rng):
    x, y = rng.standard_normal((5, 6)), rng.integers(0, 3, 5)
    models = [_mlp(), _mlp()]
    opts = [SGD(lr=0.1, momentum=0.9), SGD(lr=0.1, momentum=0.9)]
    ce = SoftmaxCrossEntropy()
    for _ in range(3):
        ce.forward(models[0].forward(x, training=True), y)
        models[0].backward(ce.backward())
        opts[0].step(models[0])
        ce(models[1](Tensor(x), training=True), y).backward()
        opts[1].step(models[1])
    for (name, p0, _), (_, p1, _) in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(p0, p1, err_msg=name)


def test_input_gradient_equals_sequential_backward(rng):
    x = rng.standard_normal((5, 6))
    ce = SoftmaxCrossEntropy()
    by_hand, engine = _mlp(dtype=np.float64), _mlp(dtype=np.float64)  # the same dropout masks
    ce.forward(by_hand.forward(x, training=True), [0, 1, 2, 0, 1])
    dx = by_hand.backward(ce.backward())
    t = Tensor(x, requires_grad=True)
    ce(engine(t, training=True), [0, 1, 2, 0, 1]).backward()
    np.testing.assert_array_equal(t.grad, dx)


def test_a_layer_used_twice_sums_both_contributions(rng):
    layer = Affine(4, 4, rng=0).astype(np.float64)
    x = rng.standard_normal((3, 4))
    layer(Tensor(x), training=True).sum().backward()
    once = layer.grads["W"].copy()
    t = Tensor(x)
    (layer(t, training=True) + layer(t * 2.0, training=True)).sum().backward()
    np.testing.assert_allclose(layer.grads["W"], 3 * once, rtol=1e-14)
    # and a fresh pass replaces the gradients, as Sequential.backward does
    layer(Tensor(x), training=True).sum().backward()
    np.testing.assert_array_equal(layer.grads["W"], once)


def test_a_layer_applied_twice_in_a_row_matches_finite_differences(rng):
    layer = Affine(3, 3, rng=1).astype(np.float64)
    errors = check_function(lambda x: (layer(layer(x, training=True).tanh(), training=True) ** 2).sum(), rng.standard_normal((2, 3)))
    assert max(errors) < 1e-7, errors


def test_layers_mix_with_tensor_arithmetic(rng):
    """Batch norm written as Tensor expressions has the BatchNorm layer's gradients."""
    x = rng.standard_normal((8, 3))
    dout = rng.standard_normal((8, 3))
    bn = BatchNorm(3, eps=1e-5).astype(np.float64)
    t_layer = Tensor(x, requires_grad=True)
    (bn(t_layer, training=True) * dout).sum().backward()
    t = Tensor(x, requires_grad=True)
    gamma, beta = Tensor(np.ones(3), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)
    centred = t - t.mean(axis=0)
    out = centred / (((centred**2).mean(axis=0) + 1e-5) ** 0.5) * gamma + beta
    (out * dout).sum().backward()
    assert rel_error(t.grad, t_layer.grad) < 1e-10
    assert rel_error(gamma.grad, bn.grads["gamma"]) < 1e-10
    assert rel_error(beta.grad, bn.grads["beta"]) < 1e-10


def test_mse_loss_on_tensors(rng):
    scores = Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    target = rng.standard_normal((4, 2))
    (MSELoss()(scores, target) * 3.0).backward()
    np.testing.assert_allclose(scores.grad, 3.0 * 2 * (scores.data - target) / 8, rtol=1e-15)


def test_wrong_shape_gives_the_layer_message():
    with pytest.raises(ValueError, match=r"Affine\(6, 8\): expected input of shape \(N, 6\).*found \(5, 7\)"):
        Affine(6, 8)(Tensor(np.zeros((5, 7))))
    with pytest.raises(ValueError, match=r"layer 1 .* does not fit the output of layer 0"):
        Sequential([Affine(6, 8), Affine(5, 2)])(Tensor(np.zeros((5, 6))))


def test_ndarray_calls_are_unchanged(rng):
    x = rng.standard_normal((5, 6)).astype(np.float32)
    model = _mlp()
    out = model(x, training=False)
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, model.forward(x, training=False))
    assert type(SoftmaxCrossEntropy()(out, [0, 1, 2, 0, 1])) is float


def test_no_grad_and_constant_inputs_keep_no_caches(rng):
    model = _mlp(dtype=np.float64)
    with no_grad():
        out = model(Tensor(rng.standard_normal((5, 6))))
    assert not out.requires_grad
    assert all(sub._cache is None for _, sub in model.named_layers())
    relu = ReLU()
    assert not relu(Tensor(np.ones((2, 2)))).requires_grad and relu._cache is None


def test_second_backward_through_a_layer_needs_retain_graph(rng):
    layer = Affine(3, 2, rng=0)
    out = layer(Tensor(rng.standard_normal((4, 3))), training=True).sum()
    out.backward(retain_graph=True)
    first = layer.grads["W"].copy()
    out.backward()
    np.testing.assert_array_equal(layer.grads["W"], first)  # each pass replaces the layer's grads
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        out.backward()
