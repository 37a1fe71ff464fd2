"""Losses: gradient checks, known answers, stability, errors, float32, and PyTorch as an oracle."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet import Sequential
from layernet.gradcheck import check_model, numerical_gradient, rel_error
from layernet.layers import Affine
from layernet.losses import HingeLoss, MSELoss, SoftmaxCrossEntropy, softmax_probabilities
from layernet.registry import LOSSES

CLASSIFIERS = [SoftmaxCrossEntropy, HingeLoss]
SHAPES = [(1, 3), (4, 5), (7, 2), (3, 10)]


def _labels(rng, n, c):
    return rng.integers(0, c, size=n)


def _hinge_scores(rng, shape, margin=1.0):
    """Scores whose hinge terms s_j - s_y + margin all stay >= 0.05 away from the kink at 0."""
    n, c = shape
    y = _labels(rng, n, c)
    while True:
        scores = rng.standard_normal(shape) * 2
        terms = scores - scores[np.arange(n), y][:, None] + margin
        terms[np.arange(n), y] = 1.0
        if np.abs(terms).min() > 0.05:
            return scores, y


def _case(loss_cls, rng, shape):
    """(loss, scores, targets) in float64 for a gradient check."""
    if loss_cls is HingeLoss:
        scores, y = _hinge_scores(rng, shape)
        return HingeLoss(), scores, y
    # unit scale: with scores * 3 some probabilities fall near 1e-4, where the centred
    # difference's rounding noise (about eps * loss / h = 1e-11) is already 1e-7 relative
    scores = rng.standard_normal(shape)
    if loss_cls is MSELoss:
        return MSELoss(), scores, rng.standard_normal(shape)
    return SoftmaxCrossEntropy(), scores, _labels(rng, *shape)


# --------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, HingeLoss, MSELoss])
def test_gradient_check_float64(loss_cls, shape, rng):
    loss, scores, y = _case(loss_cls, rng, shape)
    value = loss.forward(scores, y)
    dscores = loss.backward()
    assert isinstance(value, float)
    assert dscores.shape == scores.shape and dscores.dtype == np.float64
    numeric = numerical_gradient(lambda: loss.forward(scores, y), scores)
    assert rel_error(dscores, numeric) < GRAD_TOL


@pytest.mark.parametrize("shape", [(2, 3, 4), (5,)])
def test_mse_gradient_check_any_rank(shape, rng):
    scores, y = rng.standard_normal(shape), rng.standard_normal(shape)
    loss = MSELoss()
    loss.forward(scores, y)
    assert rel_error(loss.backward(), numerical_gradient(lambda: loss.forward(scores, y), scores)) < GRAD_TOL


@pytest.mark.parametrize("loss_name", ["softmax_cross_entropy", "hinge", "mse"])
def test_check_model_through_a_layer(loss_name, rng):
    """forward + backward through Affine: the loss's dscores flows into the layer's gradients."""
    model = Sequential([Affine(4, 3, rng=0)])
    x = rng.standard_normal((5, 4))
    loss = LOSSES.get(loss_name)()
    y = rng.standard_normal((5, 3)) if loss_name == "mse" else np.array([0, 1, 2, 1, 0])
    errors = check_model(model, loss, x, y)
    assert set(errors) == {"x", "0.W", "0.b"}
    assert max(errors.values()) < GRAD_TOL, errors  # seeded: no hinge term sits at a kink


# --------------------------------------------------------------------------- known answers
@pytest.mark.parametrize("c", [1, 2, 10])
def test_softmax_uniform_scores_give_log_c(c):
    loss = SoftmaxCrossEntropy()
    scores = np.full((3, c), 0.7)
    assert loss.forward(scores, [0, c - 1, 0]) == pytest.approx(np.log(c), abs=1e-15)
    expected = np.full((3, c), 1 / c)
    expected[[0, 1, 2], [0, c - 1, 0]] -= 1
    np.testing.assert_allclose(loss.backward(), expected / 3, atol=1e-16)
    np.testing.assert_allclose(loss.probabilities, np.full((3, c), 1 / c))


def test_softmax_two_classes_by_hand():
    # p = softmax([0, log 3]) = [1/4, 3/4]
    loss = SoftmaxCrossEntropy()
    scores = np.array([[0.0, np.log(3.0)], [0.0, np.log(3.0)]])
    assert loss.forward(scores, [1, 0]) == pytest.approx((-np.log(0.75) - np.log(0.25)) / 2)
    np.testing.assert_allclose(loss.backward(), np.array([[0.25, -0.25], [-0.75, 0.75]]) / 2)


def test_hinge_by_hand_2x3():
    # cs231n's cat and frog columns: cat row y=0 -> max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1) = 2.9;
    # frog row y=2 -> max(0, 2.2+3.1+1) + max(0, 2.5+3.1+1) = 6.3 + 6.6 = 12.9; mean 7.9.
    scores = np.array([[3.2, 5.1, -1.7], [2.2, 2.5, -3.1]])
    loss = HingeLoss()
    assert loss.forward(scores, [0, 2]) == pytest.approx(7.9)
    # row 0: one positive term (j=1): +1 there, -1 at y; row 1: two positive terms, -2 at y; / N = 2
    np.testing.assert_allclose(loss.backward(), np.array([[-0.5, 0.5, 0.0], [0.5, 0.5, -1.0]]))
    # margin 0: the cat row has 5.1 - 3.2 = 1.9; the frog row 5.3 + 5.6 = 10.9
    assert HingeLoss(margin=0.0).forward(scores, [0, 2]) == pytest.approx((1.9 + 10.9) / 2)


def test_hinge_kink_has_zero_gradient():
    # s_1 - s_0 + 1 == 0 exactly: the term is 0 and so is its gradient (strict > 0)
    loss = HingeLoss()
    assert loss.forward(np.array([[1.0, 0.0]]), [0]) == 0.0
    np.testing.assert_array_equal(loss.backward(), np.zeros((1, 2)))


def test_mse_by_hand():
    scores = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[1.0, 0.0], [0.0, 4.0]])
    loss = MSELoss()
    assert loss.forward(scores, y) == pytest.approx(13 / 4)  # (0 + 4 + 9 + 0) / 4 elements
    np.testing.assert_allclose(loss.backward(), np.array([[0.0, 1.0], [1.5, 0.0]]))  # 2 * diff / 4


def test_labels_may_be_whole_floats_and_lists():
    scores = np.random.default_rng(1).standard_normal((3, 4))
    a, b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert a.forward(scores, np.array([0.0, 3.0, 2.0])) == b.forward(scores, [0, 3, 2])
    np.testing.assert_array_equal(a.backward(), b.backward())


def test_large_batch_matches_numpy_formula(rng):
    """Enough rows for the parallel kernel; they agree with the textbook formula row by row."""
    from layernet.kernels.softmax import PARALLEL_MIN_SCORES

    n, c = 4000, 17
    assert n * c >= PARALLEL_MIN_SCORES
    scores = rng.standard_normal((n, c)) * 5
    y = _labels(rng, n, c)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(scores, y)
    shifted = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    assert value == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-12)
    onehot = np.eye(c)[y]
    np.testing.assert_allclose(loss.backward(), (p - onehot) / n, rtol=1e-10, atol=1e-17)
    np.testing.assert_allclose(softmax_probabilities(scores), p, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_serial_and_parallel_kernels_agree_bit_for_bit(dtype, rng):
    """Small inputs take the serial kernel, large ones the parallel one: the same numbers either way."""
    from layernet.kernels import softmax as kernels

    scores = (rng.standard_normal((300, 7)) * 3).astype(dtype)
    y = _labels(rng, 300, 7).astype(np.intp)
    outputs = []
    for kernel in (kernels._softmax_cross_entropy_serial, kernels._softmax_cross_entropy_parallel):
        loss_rows, dscores = np.empty(300, dtype), np.empty_like(scores)
        kernel(scores, y, loss_rows, dscores)
        outputs.append((loss_rows, dscores))
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])


# --------------------------------------------------------------------------- stability
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_stable_at_1e4(dtype):
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [1e4, 1e4, 1e4]], dtype=dtype)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(scores, [0, 0, 2])
    dscores = loss.backward()
    assert np.isfinite(value) and np.all(np.isfinite(dscores)) and dscores.dtype == dtype
    # row 0: correct and certain (0); row 1: wrong by 2e4 (loss 2e4); row 2: uniform (log 3)
    assert value == pytest.approx((0.0 + 2e4 + np.log(3)) / 3, rel=1e-6)
    expected = np.array([[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [1 / 3, 1 / 3, -2 / 3]]) / 3
    np.testing.assert_allclose(dscores, expected, atol=1e-7)
    probs = loss.probabilities
    assert probs.dtype == dtype and np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_hinge_and_mse_finite_at_1e4(dtype):
    scores = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype=dtype)
    for loss, y in ((HingeLoss(), [0, 0]), (MSELoss(), -scores)):
        value = loss.forward(scores, y)
        assert np.isfinite(value) and np.all(np.isfinite(loss.backward()))
    assert HingeLoss().forward(scores, [0, 0]) == pytest.approx((2e4 + 1 + 1e4 + 1) / 2)


# --------------------------------------------------------------------------- float32
@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, HingeLoss, MSELoss])
def test_float32_kept_and_agrees_with_float64(loss_cls, rng):
    loss64, scores, y = _case(loss_cls, rng, (6, 5))
    loss32 = loss_cls()
    value64 = loss64.forward(scores, y)
    value32 = loss32.forward(scores.astype(np.float32), y.astype(np.float32) if loss_cls is MSELoss else y)
    d64, d32 = loss64.backward(), loss32.backward()
    assert isinstance(value32, float) and d32.dtype == np.float32 and d32.shape == scores.shape
    assert value32 == pytest.approx(value64, rel=1e-5)
    np.testing.assert_allclose(d32, d64, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- errors
BAD_CLASSIFICATION = [
    # (scores shape, y, dtype, what the message must contain)
    ((3, 4), [0, 1, 4], np.float64, "[0, 4)"),
    ((3, 4), [0, -1, 2], np.float64, "[0, 4)"),
    ((3, 4), [0, 1.5, 2], np.float64, "integer"),
    ((3, 4), [0, np.nan, 2], np.float64, "integer"),
    ((3, 4), np.array([True, False, True]), np.float64, "bool"),
    ((3, 4), np.array(["a", "b", "c"]), np.float64, "integer"),
    ((3, 4), [0, 1], np.float64, "(3,)"),
    ((3, 4), [[0], [1], [2]], np.float64, "(3, 1)"),
    ((12,), [0, 1, 2], np.float64, "(N, C)"),
    ((3, 4, 1), [0, 1, 2], np.float64, "(N, C)"),
    ((3, 4), [0, 1, 2], np.int64, "int64"),
    ((0, 4), [], np.float64, "at least one example"),
    ((3, 0), [0, 0, 0], np.float64, "C >= 1 classes"),
]


@pytest.mark.parametrize("loss_cls", CLASSIFIERS)
@pytest.mark.parametrize("shape, y, dtype, needle", BAD_CLASSIFICATION)
def test_classification_errors(loss_cls, shape, y, dtype, needle):
    scores = np.zeros(shape, dtype=dtype)
    with pytest.raises(ValueError) as info:
        loss_cls().forward(scores, y)
    message = str(info.value)
    assert loss_cls.__name__ in message and needle in message, message


@pytest.mark.parametrize(
    "scores, y, needle",
    [
        (np.zeros((2, 3)), np.zeros((2, 4)), "(2, 3)"),
        (np.zeros((2, 3)), np.zeros(2), "(2,)"),
        (np.zeros((2, 3), dtype=np.int32), np.zeros((2, 3)), "int32"),
        (np.zeros((2, 3)), np.zeros((2, 3), dtype=bool), "bool"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "at least one example"),
        (np.zeros((3, 0)), np.zeros((3, 0)), "at least one element"),
    ],
)
def test_mse_errors(scores, y, needle):
    with pytest.raises(ValueError) as info:
        MSELoss().forward(scores, y)
    assert "MSELoss" in str(info.value) and needle in str(info.value), str(info.value)


@pytest.mark.parametrize("loss_cls", [SoftmaxCrossEntropy, HingeLoss, MSELoss])
def test_backward_before_forward_and_twice(loss_cls, rng):
    loss, scores, y = _case(loss_cls, rng, (2, 3))
    with pytest.raises(RuntimeError, match=f"{loss_cls.__name__}.backward called before forward"):
        loss.backward()
    loss.forward(scores, y)
    loss.backward()
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()


def test_probabilities_before_forward():
    with pytest.raises(RuntimeError, match="forward first"):
        SoftmaxCrossEntropy().probabilities


@pytest.mark.parametrize("margin", [-1.0, float("nan"), "1", True])
def test_hinge_rejects_bad_margin(margin):
    with pytest.raises(ValueError, match="margin"):
        HingeLoss(margin=margin)


# --------------------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    "loss, text",
    [(SoftmaxCrossEntropy(), "SoftmaxCrossEntropy()"), (HingeLoss(), "HingeLoss(margin=1.0)"),
     (HingeLoss(margin=0.5), "HingeLoss(margin=0.5)"), (MSELoss(), "MSELoss()")],
)
def test_repr_and_config_round_trip(loss, text):
    assert repr(loss) == text
    config = loss.get_config()
    assert config["type"] in LOSSES.names()
    rebuilt = LOSSES.get(config["type"]).from_config(config)
    assert type(rebuilt) is type(loss) and rebuilt.get_config() == config and repr(rebuilt) == text


def test_registry_names():
    assert {"softmax_cross_entropy", "hinge", "mse"} <= set(LOSSES.names())


# --------------------------------------------------------------------------- PyTorch oracle
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss_name", ["softmax_cross_entropy", "hinge", "mse"])
def test_against_torch(loss_name, dtype, rng):
    torch = require_torch()
    F = torch.nn.functional
    n, c = 8, 6
    scores = (rng.standard_normal((n, c)) * 3).astype(dtype)
    if loss_name == "mse":
        y = rng.standard_normal((n, c)).astype(dtype)
        ours = MSELoss()
        y_t = torch.from_numpy(y)
        reference = lambda s: F.mse_loss(s, y_t)  # noqa: E731
    else:
        y = _labels(rng, n, c)
        y_t = torch.from_numpy(y)
        if loss_name == "hinge":
            # torch: mean_i sum_{j != y_i} max(0, margin - s_y + s_j) / C; ours has no / C
            ours = HingeLoss(margin=0.7)
            reference = lambda s: c * F.multi_margin_loss(s, y_t, p=1, margin=0.7)  # noqa: E731
        else:
            ours = SoftmaxCrossEntropy()
            reference = lambda s: F.cross_entropy(s, y_t)  # noqa: E731
    s_t = torch.from_numpy(scores.copy()).requires_grad_(True)
    expected = reference(s_t)
    expected.backward()
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.forward(scores, y), expected.item(), **tol)
    dscores = ours.backward()
    assert dscores.dtype == dtype
    np.testing.assert_allclose(dscores, s_t.grad.numpy(), **tol)
    if loss_name == "softmax_cross_entropy":
        np.testing.assert_allclose(ours.probabilities, torch.softmax(s_t.detach(), dim=1).numpy(), **tol)
