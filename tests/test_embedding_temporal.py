"""Embedding, TemporalAffine and TemporalSoftmaxCrossEntropy: gradient checks, PyTorch equality,
masks and ignore_index, accuracy over steps, bad input."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_layer, check_model, numerical_gradient, numerical_gradient_array, rel_error
from layernet.layers import LSTM, Embedding, TemporalAffine
from layernet.losses import TemporalSoftmaxCrossEntropy, make_loss
from layernet.metrics import count_correct_steps
from layernet.model import Sequential

V, DIM = 7, 3


@pytest.fixture
def idx():
    return np.array([[0, 3, 3, 6], [2, 2, 5, 3]])  # repeated indices accumulate


# ------------------------------------------------------------------------------ Embedding
def test_embedding_forward_is_the_table_rows(idx):
    layer = Embedding(V, DIM, rng=0)
    out = layer.forward(idx)
    assert out.shape == (2, 4, DIM) and out.dtype == np.float32
    np.testing.assert_array_equal(out[1, 2], layer.params["W"][5])


def test_embedding_gradient_check_of_the_table(idx, rng):
    layer = Embedding(V, DIM, rng=0).astype(np.float64)
    dout = rng.standard_normal((2, 4, DIM))
    layer.forward(idx)
    assert layer.backward(dout) is None
    numeric = numerical_gradient_array(lambda _: layer.forward(idx), layer.params["W"], dout)
    assert rel_error(layer.grads["W"], numeric) < GRAD_TOL
    np.testing.assert_allclose(layer.grads["W"][3], dout[0, 1] + dout[0, 2] + dout[1, 3])
    assert np.all(layer.grads["W"][[1, 4]] == 0)  # rows never looked up get nothing
    assert check_layer(Embedding(V, DIM, rng=0), idx)["W"] < GRAD_TOL


def test_embedding_equals_pytorch(idx, rng):
    torch = require_torch()
    layer = Embedding(V, DIM, rng=0).astype(np.float64)
    module = torch.nn.Embedding(V, DIM).double()
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["W"]))
    dout = rng.standard_normal((2, 4, DIM))
    out = layer.forward(idx)
    layer.backward(dout)
    tout = module(torch.tensor(idx))
    tout.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, tout.detach().numpy())
    np.testing.assert_allclose(layer.grads["W"], module.weight.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad, message", [
    (np.array([[0, 7]]), r"Embedding: expected indices in \[0, 7\), found 7"),
    (np.array([[-1, 2]]), r"Embedding: expected indices in \[0, 7\), found -1"),
    (np.array([[0.0, 2.0]]), r"Embedding: expected integer indices in \[0, 7\), found dtype float64"),
    (np.array([[True, False]]), r"Embedding: expected integer indices.*found dtype bool"),
])
def test_embedding_refuses_bad_indices(bad, message):
    with pytest.raises(ValueError, match=message):
        Embedding(V, DIM).forward(bad)


def test_embedding_needs_its_size_outside_text_data():
    with pytest.raises(ValueError, match="num_embeddings.*inferred only for a text data set"):
        Sequential.from_config([{"type": "embedding", "embedding_dim": 4}], input_shape=(5,))


# ------------------------------------------------------------------------------ TemporalAffine
def test_temporal_affine_gradient_check_and_pytorch(rng):
    layer = TemporalAffine(4, 3, rng=0)
    x = rng.standard_normal((2, 5, 4))
    assert max(check_layer(layer, x).values()) < GRAD_TOL
    torch = require_torch()
    layer.astype(np.float64)
    module = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["W"].T))
        module.bias.copy_(torch.tensor(layer.params["b"]))
    dout = rng.standard_normal((2, 5, 3))
    out = layer.forward(x)
    dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    tout = module(tx)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], module.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], module.bias.grad.numpy(), rtol=1e-12)


def test_temporal_affine_refuses_two_dimensional_input():
    with pytest.raises(ValueError, match=r"TemporalAffine.*expected input of shape \(N, T, 4\).*\(2, 4\)"):
        TemporalAffine(4, 3).forward(np.ones((2, 4)))


# ------------------------------------------------------------------------------ the loss
@pytest.fixture
def batch(rng):
    scores = rng.standard_normal((3, 4, 5))
    y = rng.integers(0, 5, size=(3, 4))
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool)
    return scores, y, mask


def _reference(scores, y, mask):
    """cs231n's temporal_softmax_loss, written out."""
    n, t, c = scores.shape
    flat, yf, mf = scores.reshape(n * t, c), y.reshape(-1), mask.reshape(-1)
    p = np.exp(flat - flat.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.sum(mf * np.log(p[np.arange(n * t), yf])) / n
    dx = p.copy()
    dx[np.arange(n * t), yf] -= 1
    return loss, (dx / n * mf[:, None]).reshape(n, t, c)


def test_loss_equals_cs231n_with_a_mask(batch):
    scores, y, mask = batch
    loss = TemporalSoftmaxCrossEntropy()
    value = loss.forward(scores, y, mask)
    expected, dexpected = _reference(scores, y, mask)
    assert value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(loss.backward(), dexpected, rtol=1e-10, atol=1e-15)
    # a 0/1 integer mask means the same (cs231n's captioning code builds it as y != NULL)
    assert loss.forward(scores, y, mask.astype(int)) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"expected a boolean \(or 0/1\) mask of shape \(N, T\) = \(3, 4\)"):
        loss.forward(scores, y, mask[:, :3])
    # without a mask every step counts
    assert loss.forward(scores, y) == pytest.approx(_reference(scores, y, np.ones_like(mask))[0], rel=1e-12)


@pytest.mark.parametrize("with_mask", [False, True])
def test_loss_gradient_check(batch, with_mask):
    scores, y, mask = batch
    loss = TemporalSoftmaxCrossEntropy(ignore_index=2)
    mask = mask if with_mask else None
    loss.forward(scores, y, mask)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(scores, y, mask), scores)
    assert rel_error(analytic, numeric) < GRAD_TOL


def test_ignore_index_equals_pytorch_cross_entropy(batch):
    """F.cross_entropy(ignore_index=k, reduction="sum") / N is this loss with ignore_index=k."""
    torch = require_torch()
    scores, y, _ = batch
    y = y.copy()
    y[0, 1] = y[2, 3] = -100  # PyTorch's default ignore_index, outside [0, C)
    loss = TemporalSoftmaxCrossEntropy(ignore_index=-100)
    value = loss.forward(scores, y)
    ts = torch.tensor(scores, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(ts.reshape(-1, 5), torch.tensor(y).reshape(-1), ignore_index=-100,
                                              reduction="sum") / 3
    tloss.backward()
    assert value == pytest.approx(float(tloss.detach()), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), ts.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert not loss.counted[0, 1] and loss.counted[0, 0]


@pytest.mark.parametrize("y, message", [
    (np.zeros((3, 5), dtype=int), r"expected labels y of shape \(N, T\) = \(3, 4\).*found shape \(3, 5\)"),
    (np.zeros(3, dtype=int), r"expected labels y of shape \(N, T\) = \(3, 4\).*found shape \(3,\)"),
    (np.full((3, 4), 5), r"expected class labels y in \[0, 5\).*found y\[0, 0\] = 5"),
    (np.zeros((3, 4)), r"expected integer class labels.*float64"),
])
def test_loss_refuses_bad_labels(batch, y, message):
    with pytest.raises(ValueError, match="TemporalSoftmaxCrossEntropy: " + message):
        TemporalSoftmaxCrossEntropy().forward(batch[0], y)


def test_loss_from_config_and_bad_arguments():
    loss = make_loss({"type": "temporal_softmax_cross_entropy", "ignore_index": 0})
    assert loss.ignore_index == 0 and loss.get_config() == {"type": "temporal_softmax_cross_entropy", "ignore_index": 0}
    with pytest.raises(ValueError, match="`ignore_index`"):
        TemporalSoftmaxCrossEntropy(ignore_index=0.5)


def test_accuracy_counts_only_counted_steps():
    scores = np.zeros((2, 3, 4))
    scores[..., 1] = 1.0  # predicts class 1 everywhere
    y = np.array([[1, 0, 1], [2, 1, 0]])
    assert count_correct_steps(scores, y) == (3, 6)
    assert count_correct_steps(scores, y, ignore_index=0) == (3, 4)


def test_model_gradient_check_embedding_lstm_temporal_affine(rng):
    """The whole character model with its loss, every element, float64."""
    model = Sequential([Embedding(V, 3, rng=0), LSTM(3, 4, rng=1), TemporalAffine(4, V, rng=2)])
    x = rng.integers(0, V, size=(2, 3))
    y = rng.integers(0, V, size=(2, 3))
    errors = check_model(model, TemporalSoftmaxCrossEntropy(), x, y)
    assert "x" not in errors and max(errors.values()) < 1e-6, errors


def test_accuracy_of_sequence_scores_is_per_step():
    from layernet.metrics import accuracy

    scores = np.zeros((2, 3, 4))
    scores[..., 1] = 1.0
    assert accuracy(scores, np.array([[1, 0, 1], [2, 1, 0]])) == 0.5
