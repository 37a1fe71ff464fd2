"""MaxPool2d and AvgPool2d: gradient checks, loop references, known answers, PyTorch, errors."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_layer, rel_error
from layernet.layers import AvgPool2d, MaxPool2d
from reference import avgpool_naive, maxpool_naive

POOLS = [MaxPool2d, AvgPool2d]

#: (input shape, kernel_size, stride): square and non-square, overlapping (stride < kernel),
#: gaps (stride > kernel), odd sizes with leftover rows/columns, window = whole input, batch of one.
CASES = [
    ((2, 3, 6, 6), 2, None),
    ((1, 2, 5, 7), 2, 2),
    ((2, 2, 7, 6), 3, 2),
    ((1, 1, 6, 7), (2, 3), (1, 2)),
    ((2, 1, 5, 5), (3, 2), 1),
    ((1, 2, 7, 8), 2, 3),
    ((1, 1, 4, 5), (4, 5), None),
]
IDS = [f"{s}-k{k}-s{st}" for s, k, st in CASES]


def distinct(rng, shape, dtype=np.float64):
    """Distinct values 0.1 apart in random order: no max-pool ties, even after a 1e-5 nudge."""
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0).astype(dtype)


def pair(v, default):
    v = default if v is None else v
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("cls", POOLS)
@pytest.mark.parametrize("shape, kernel, stride", CASES, ids=IDS)
def test_gradcheck_float64(cls, shape, kernel, stride, rng):
    errors = check_layer(cls(kernel, stride), distinct(rng, shape))
    assert errors["x"] < GRAD_TOL, errors


@pytest.mark.parametrize("shape, kernel, stride", CASES, ids=IDS)
def test_against_loop_reference(shape, kernel, stride, rng):
    x = distinct(rng, shape)
    k, s = pair(kernel, None), pair(stride, kernel)
    for layer in (MaxPool2d(kernel, stride), AvgPool2d(kernel, stride)):
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape)
        dx = layer.backward(dout)
        if isinstance(layer, MaxPool2d):
            ref_out, ref_backward = maxpool_naive(x, k, s)
            ref_dx = ref_backward(dout)
        else:
            ref_out, ref_dx = avgpool_naive(x, k, s, dout)
        np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, ref_dx, rtol=1e-12, atol=1e-12)


def test_maxpool_known_answer_with_tie():
    x = np.array(
        [
            [1.0, 3.0, 2.0, 2.0],
            [4.0, 0.0, 2.0, 1.0],
            [5.0, 6.0, -1.0, -2.0],
            [6.0, 0.0, -3.0, -1.0],
        ]
    ).reshape(1, 1, 4, 4)
    layer = MaxPool2d(2)
    np.testing.assert_array_equal(layer.forward(x)[0, 0], [[4.0, 2.0], [6.0, -1.0]])
    dx = layer.backward(np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 1, 2, 2))
    # ties (2, 2, 2 in the top-right window; 6, 6 bottom-left): the first in row-major order wins
    expected = np.array(
        [
            [0.0, 0.0, 20.0, 0.0],
            [10.0, 0.0, 0.0, 0.0],
            [0.0, 30.0, 40.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_overlapping_windows_add_up():
    # 3x3 input, 2x2 windows at stride 1: the centre 9 is the maximum of all four windows
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
    layer = MaxPool2d(2, stride=1)
    np.testing.assert_array_equal(layer.forward(x)[0, 0], [[9.0, 9.0], [9.0, 9.0]])
    dx = layer.backward(np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2))
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 10.0, 0], [0, 0, 0]])


def test_avgpool_known_answer():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    layer = AvgPool2d(2)
    np.testing.assert_allclose(layer.forward(x)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    dx = layer.backward(np.array([4.0, 8.0, 12.0, 16.0]).reshape(1, 1, 2, 2))
    np.testing.assert_allclose(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride", CASES[:4], ids=IDS[:4])
def test_against_torch(shape, kernel, stride, dtype, rng):
    torch = require_torch()
    F = torch.nn.functional
    x = distinct(rng, shape, dtype)
    k, s = pair(kernel, None), pair(stride, kernel)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for layer, fn in ((MaxPool2d(kernel, stride), F.max_pool2d), (AvgPool2d(kernel, stride), F.avg_pool2d)):
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape).astype(dtype)
        dx = layer.backward(dout)
        xt = torch.tensor(x, requires_grad=True)
        ot = fn(xt, k, s)
        ot.backward(torch.tensor(dout))
        assert out.dtype == dx.dtype == dtype
        np.testing.assert_allclose(out, ot.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("cls", POOLS)
def test_float32_agrees_with_float64(cls, rng):
    x = rng.standard_normal((3, 4, 9, 8))
    dout = rng.standard_normal((3, 4, 4, 3))
    results = []
    for dtype in (np.float32, np.float64):
        layer = cls((2, 3), stride=(2, 2))
        out = layer.forward(x.astype(dtype))
        dx = layer.backward(dout.astype(dtype))
        assert out.dtype == dx.dtype == dtype
        results.append((out, dx))
    for a, b in zip(*results):
        assert rel_error(a, b) < 1e-5


@pytest.mark.parametrize("cls", POOLS)
def test_output_shape_and_repr(cls):
    layer = cls((3, 2), stride=(2, 1))
    assert layer.output_shape((4, 9, 7)) == (4, 4, 6)
    assert repr(cls(2)) == f"{cls.__name__}(kernel_size=2, stride=2)"
    assert repr(layer) == f"{cls.__name__}(kernel_size=(3, 2), stride=(2, 1))"
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("cls", POOLS)
def test_errors(cls):
    layer = cls(3)
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*\(N, C, H, W\).*\(2, 5, 5\)"):
        layer.forward(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*H >= 3.*\(1, 1, 2, 5\)"):
        layer.forward(np.zeros((1, 1, 2, 5)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*W >= 3"):
        layer.output_shape((1, 5, 2))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*floating"):
        layer.forward(np.zeros((1, 1, 4, 4), dtype=np.int32))
    with pytest.raises(ValueError, match="kernel_size"):
        cls((3, 0))
    with pytest.raises(ValueError, match="stride"):
        cls(2, stride=-1)
    with pytest.raises(RuntimeError, match=f"{cls.__name__}.backward called before forward"):
        cls(2).backward(np.zeros((1, 1, 2, 2)))
    layer.forward(np.zeros((1, 1, 6, 6)))
    with pytest.raises(ValueError, match=rf"{cls.__name__}.backward: expected dout of the output's shape \(1, 1, 2, 2\)"):
        layer.backward(np.zeros((1, 1, 3, 2)))
