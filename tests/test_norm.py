"""BatchNorm: gradient checks (train and eval), the staged reference, known answers, running
statistics, PyTorch, float32, thread-count independence, errors."""

import numpy as np
import pytest

from conftest import GRAD_TOL, assert_parallel, require_torch, results_across_threads
from layernet.gradcheck import check_layer, rel_error
from layernet.layers import BatchNorm
from layernet.layers import norm as norm_layer_module
from reference import batchnorm_train_naive

SHAPES = [(5, 3), (3, 4), (2, 3, 4, 5), (1, 2, 3, 4), (3, 1, 2, 2)]
# (2, D) is left out on purpose: with two values per feature xhat = +-1 whatever x is, so the true
# dx is ~0 and a relative error compares rounding noise.


def make_layer(rng, features, momentum=0.9):
    """A BatchNorm whose gamma, beta and running statistics are not at their initial values."""
    layer = BatchNorm(features, momentum=momentum)
    layer.params["gamma"] = rng.uniform(0.5, 1.5, features).astype(np.float32)
    layer.params["beta"] = rng.standard_normal(features).astype(np.float32)
    layer.buffers["running_mean"] = rng.standard_normal(features).astype(np.float32)
    layer.buffers["running_var"] = rng.uniform(0.5, 2.0, features).astype(np.float32)
    return layer


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_gradcheck_float64(shape, training, rng):
    layer = make_layer(rng, shape[1])
    x = 2.0 * rng.standard_normal(shape) + 0.5
    errors = check_layer(layer, x, training=training)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_training_matches_staged_reference(shape, rng):
    layer = make_layer(rng, shape[1]).astype(np.float64)
    x = 3.0 * rng.standard_normal(shape) - 1.0
    dout = rng.standard_normal(shape)
    out = layer.forward(x, training=True)
    dx = layer.backward(dout)
    gamma, beta = layer.params["gamma"], layer.params["beta"]
    ref_out, ref_dx, ref_dgamma, ref_dbeta, _, _ = batchnorm_train_naive(x, gamma, beta, layer.eps, dout)
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(layer.grads["gamma"], ref_dgamma, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.grads["beta"], ref_dbeta, rtol=1e-10, atol=1e-10)


def test_known_answer_tiny():
    # one feature, values 1 and 3: mean 2, biased variance 1, so xhat = -+1 / sqrt(1 + eps)
    layer = BatchNorm(1, eps=1e-12)
    out = layer.forward(np.array([[1.0], [3.0]]), training=True)
    np.testing.assert_allclose(out, [[-1.0], [1.0]])
    layer.params["gamma"] = np.array([2.0], dtype=np.float32)
    layer.params["beta"] = np.array([0.5], dtype=np.float32)
    out = layer.forward(np.array([[1.0], [3.0]]), training=False)  # running: mean 0.2, var 1.0
    np.testing.assert_allclose(out, [[2.0 * 0.8 + 0.5], [2.0 * 2.8 + 0.5]], rtol=1e-6)
    # eval backward: statistics are constants, dx = dout * gamma / sqrt(running_var)
    dx = layer.backward(np.array([[1.0], [-2.0]]))
    np.testing.assert_allclose(dx, [[2.0], [-4.0]], rtol=1e-6)
    np.testing.assert_allclose(layer.grads["gamma"], [1.0 * 0.8 - 2.0 * 2.8], rtol=1e-6)
    np.testing.assert_allclose(layer.grads["beta"], [-1.0])


def test_running_statistics_after_two_steps():
    layer = BatchNorm(2, momentum=0.75)
    x1 = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 16.0]])  # means 2, 12; biased vars 8/3, 8
    x2 = np.array([[1.0, 0.0], [1.0, 4.0]])  # means 1, 2; biased vars 0, 4
    layer.forward(x1, training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.5, 3.0], rtol=1e-6)
    np.testing.assert_allclose(layer.buffers["running_var"], [0.75 + 0.25 * 8 / 3, 0.75 + 2.0], rtol=1e-6)
    layer.forward(x2, training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.75 * 0.5 + 0.25, 0.75 * 3.0 + 0.5], rtol=1e-6)
    np.testing.assert_allclose(
        layer.buffers["running_var"], [0.75 * (0.75 + 0.25 * 8 / 3), 0.75 * 2.75 + 1.0], rtol=1e-6
    )
    assert layer.buffers["running_mean"].dtype == np.float32


def test_buffers_change_only_in_training(rng):
    layer = BatchNorm(3)
    x = rng.standard_normal((4, 3, 2, 2)) + 1.0
    mean, var = layer.buffers["running_mean"], layer.buffers["running_var"]
    layer.forward(x, training=False)
    assert layer.buffers["running_mean"] is mean and layer.buffers["running_var"] is var
    layer.forward(x, training=True)
    assert not np.allclose(layer.buffers["running_mean"], 0.0)
    np.testing.assert_array_equal(mean, 0.0)  # new arrays are assigned, the old ones are not written
    np.testing.assert_array_equal(var, 1.0)


def test_eval_uses_running_statistics(rng):
    layer = make_layer(rng, 3).astype(np.float64)
    x = rng.standard_normal((4, 3, 2, 5))
    b = layer.buffers
    shape = (1, 3, 1, 1)
    expected = (x - b["running_mean"].reshape(shape)) / np.sqrt(b["running_var"].reshape(shape) + layer.eps)
    expected = expected * layer.params["gamma"].reshape(shape) + layer.params["beta"].reshape(shape)
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 5, 4)], ids=str)
def test_against_torch(shape, training, dtype, rng):
    """torch.nn.functional.batch_norm with momentum = 1 - ours (torch's is the fraction replaced).

    torch puts the *unbiased* batch variance (divided by M - 1) into running_var; ours uses the
    biased one (divided by M), so our running_var is torch's minus (1 - momentum) * (unbiased - biased).
    """
    torch = require_torch()
    layer = make_layer(rng, shape[1]).astype(dtype)
    x = (2.0 * rng.standard_normal(shape) + 1.0).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    rm_t = torch.tensor(layer.buffers["running_mean"])
    rv_t = torch.tensor(layer.buffers["running_var"])
    gamma_t = torch.tensor(layer.params["gamma"], requires_grad=True)
    beta_t = torch.tensor(layer.params["beta"], requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.batch_norm(
        xt, rm_t, rv_t, gamma_t, beta_t, training=training, momentum=1 - layer.momentum, eps=layer.eps
    )
    out_t.backward(torch.tensor(dout))
    out = layer.forward(x, training=training)
    dx = layer.backward(dout)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out.dtype == dx.dtype == dtype
    np.testing.assert_allclose(out, out_t.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["gamma"], gamma_t.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.grads["beta"], beta_t.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.buffers["running_mean"], rm_t.numpy(), **tol)
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    m = x.size // x.shape[1]
    biased = x.astype(np.float64).var(axis=axes)
    correction = (1 - layer.momentum) * biased * (m / (m - 1) - 1) if training else 0.0
    np.testing.assert_allclose(layer.buffers["running_var"], rv_t.numpy() - correction, **tol)


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_float32_agrees_with_float64(offset, rng):
    """Also with a mean far from zero: the kernels centre before scaling."""
    x = rng.standard_normal((8, 3, 5, 5)) + offset
    dout = rng.standard_normal(x.shape)
    results = []
    for dtype in (np.float32, np.float64):
        layer = make_layer(np.random.default_rng(1), 3).astype(dtype)
        out = layer.forward(x.astype(dtype), training=True)
        dx = layer.backward(dout.astype(dtype))
        assert out.dtype == dx.dtype == layer.grads["gamma"].dtype == dtype
        results.append((out, dx, layer.grads["gamma"], layer.grads["beta"]))
    (out32, dx32, dg32, db32), (out64, dx64, dg64, db64) = results
    scale = 1e-4 if offset else 1e-5  # x itself carries float32 rounding of 1000 * 6e-8
    assert np.max(np.abs(out32 - out64)) < scale * 10
    assert np.max(np.abs(dx32 - dx64)) < scale * 10 * np.max(np.abs(dx64))
    assert rel_error(db32, db64) < 1e-5
    assert np.max(np.abs(dg32 - dg64)) < scale * np.sum(np.abs(dout))


def batchnorm_run(rng):
    """Training forward and backward of a spatial BatchNorm of 5 channels (the kernels' outer loop)."""
    x = rng.standard_normal((6, 5, 5, 5)).astype(np.float32)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    layer = BatchNorm(5)
    out = layer.forward(x, training=True)
    return out, layer.backward(dout), layer.grads["gamma"], layer.grads["beta"]


def test_result_independent_of_thread_count():
    assert_parallel(norm_layer_module)
    one, *others = results_across_threads("test_norm", "batchnorm_run")
    for other in others:
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


def test_config_inference_and_shapes():
    assert BatchNorm.infer_config({"type": "batchnorm"}, (7,))["num_features"] == 7
    assert BatchNorm.infer_config({"type": "batchnorm"}, (3, 8, 8))["num_features"] == 3
    assert BatchNorm.infer_config({"num_features": 2}, (3, 8, 8))["num_features"] == 2
    layer = BatchNorm(3, momentum=0.8)
    assert repr(layer) == "BatchNorm(3, momentum=0.8, eps=1e-05)"
    assert BatchNorm.from_config(layer.get_config()).get_config() == layer.get_config()
    assert layer.output_shape((3, 5, 4)) == (3, 5, 4) and layer.output_shape((3,)) == (3,)
    assert set(layer.buffers) == {"running_mean", "running_var"}
    assert set(layer.params) == {"gamma", "beta"}


def test_errors():
    layer = BatchNorm(3)
    with pytest.raises(ValueError, match=r"BatchNorm.*\(N, 3\) or \(N, 3, H, W\).*\(2, 4\)"):
        layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm.*\(2, 4, 5, 5\)"):
        layer.forward(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm.*rank 3"):
        layer.forward(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm.*floating"):
        layer.forward(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"BatchNorm.*more than one value"):
        layer.forward(np.zeros((1, 3)), training=True)
    with pytest.raises(ValueError, match=r"BatchNorm"):
        layer.output_shape((4, 2, 2))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps"):
        BatchNorm(3, eps=0)
    with pytest.raises(ValueError, match="num_features"):
        BatchNorm(0)
    with pytest.raises(RuntimeError, match="BatchNorm.backward called before forward"):
        layer.backward(np.zeros((2, 3)))
    layer.forward(np.ones((2, 3)), training=True)
    with pytest.raises(ValueError, match=r"BatchNorm.backward: expected dout of the output's shape \(2, 3\)"):
        layer.backward(np.zeros((3, 2)))
