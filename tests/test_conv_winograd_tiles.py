"""Winograd F(m x m, r x r) in chunks of tiles (layers/conv_winograd_tiles.py): the Toom-Cook
matrices, Conv2d's 3x3 (F(4x4, 3x3)) and 5x5 (F(2x2, 5x5)) paths against loops, PyTorch and
float64 gradient checks, float32 error bounds, and results that do not depend on the BLAS thread
count."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_layer
from layernet.layers import Conv2d
from layernet.layers import conv as conv_module
from layernet.layers.conv_winograd_tiles import TilePlan, tiles_backward, tiles_forward, winograd_matrices
from reference import conv_backward_naive, conv_forward_naive


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5), (3, 3), (6, 3), (4, 5)])
def test_matrices_compute_the_correlation_exactly(m, r):
    """A^T [(G g) * (B^T d)] = (sum_k d[i + k] g[k])_i for random d and g, in float64."""
    at, g, bt = winograd_matrices(m, r)
    a = m + r - 1
    assert at.shape == (m, a) and g.shape == (a, r) and bt.shape == (a, a)
    rng = np.random.default_rng(m * 10 + r)
    for _ in range(5):
        d, w = rng.standard_normal(a), rng.standard_normal(r)
        want = np.array([d[i : i + r] @ w for i in range(m)])
        np.testing.assert_allclose(at @ ((g @ w) * (bt @ d)), want, rtol=1e-12, atol=1e-12)


def test_f2x2_3x3_matrices_are_the_small_integer_ones():
    """The construction gives Lavin & Gray's B^T for F(2, 3) (up to the sign of a row, which G absorbs)."""
    _, _, bt = winograd_matrices(2, 3)
    assert set(np.unique(np.abs(bt))) == {0.0, 1.0}
    assert np.count_nonzero(bt) == 8


def test_too_many_points_is_an_error():
    with pytest.raises(ValueError, match="m \\+ r - 1"):
        winograd_matrices(6, 5)


# (kernel, in_channels, (H, W), padding, batch): outputs that are and are not multiples of m,
# padding 0-2 and a pair, an output of one pixel.
CASES = [
    pytest.param(5, 2, (6, 6), 2, 2, id="5x5-even"),
    pytest.param(5, 3, (7, 5), 2, 3, id="5x5-odd-output"),
    pytest.param(5, 2, (6, 8), 0, 2, id="5x5-pad0"),
    pytest.param(5, 2, (5, 7), 1, 2, id="5x5-pad1"),
    pytest.param(5, 2, (5, 5), 0, 3, id="5x5-one-output-pixel"),
    pytest.param(5, 3, (6, 9), (2, 0), 2, id="5x5-pad-pair"),
    pytest.param(3, 2, (8, 8), 1, 2, id="3x3-multiple-of-4"),
    pytest.param(3, 3, (7, 10), 1, 3, id="3x3-partial-tiles"),
    pytest.param(3, 2, (6, 9), 0, 2, id="3x3-pad0"),
    pytest.param(3, 2, (5, 6), 2, 2, id="3x3-pad2"),
    pytest.param(3, 2, (3, 3), 0, 3, id="3x3-one-output-pixel"),
    pytest.param(3, 3, (5, 9), (2, 0), 2, id="3x3-pad-pair"),
]


@pytest.fixture
def tiles_everywhere(monkeypatch):
    """Every 3x3 and 5x5 stride-1 convolution takes the tile path, in chunks of a few tiles
    (a partial last chunk)."""
    monkeypatch.setattr(conv_module, "TILES_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_module, "TILES_CHUNK", 7)


def _layer(rng, c, p, filters, dtype=np.float64, k=5):
    layer = Conv2d(c, filters, k, padding=p, rng=rng).astype(dtype)
    layer.params["b"] = rng.standard_normal(filters).astype(dtype)
    return layer


def _run(layer, x, dout):
    out = layer.forward(x, training=True)
    dx = layer.backward(dout)
    return out, dx, layer.grads["W"], layer.grads["b"]


@pytest.mark.parametrize("k, c, hw, p, n", CASES)
def test_gradient_check(rng, tiles_everywhere, k, c, hw, p, n):
    layer = _layer(rng, c, p, 2, k=k)
    x = rng.standard_normal((n, c, *hw))
    assert layer._tiles()
    for key, err in check_layer(layer, x).items():
        assert err < GRAD_TOL, f"{key}: {err:.2e}"


@pytest.mark.parametrize("k, c, hw, p, n", CASES)
def test_matches_reference_loops(rng, tiles_everywhere, k, c, hw, p, n):
    layer = _layer(rng, c, p, 3, k=k)
    x = rng.standard_normal((n + 2, c, *hw))
    dout = rng.standard_normal(layer.forward(x).shape)
    got = _run(layer, x, dout)
    pp = (p, p) if isinstance(p, int) else p
    W, b = layer.params["W"], layer.params["b"]
    want = (conv_forward_naive(x, W, b, (1, 1), pp), *conv_backward_naive(dout, x, W, (1, 1), pp))
    for a, w in zip(got, want):
        np.testing.assert_allclose(a, w, rtol=1e-10, atol=1e-11)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k, c, f, size", [(5, 32, 64, 14), (3, 32, 32, 32), (3, 64, 64, 16)],
                         ids=["lenet-5x5-32-64-14", "cifar-3x3-32-32-32", "cifar-3x3-64-64-16"])
def test_net_layers_match_torch(rng, dtype, k, c, f, size):
    """LeNet's second convolution and two of the CIFAR net's, on the default thresholds."""
    torch = require_torch()
    layer = _layer(rng, c, k // 2, f, dtype, k=k)
    assert layer._tiles()
    x = rng.standard_normal((3, c, size, size)).astype(dtype)
    dout = rng.standard_normal((3, f, size, size)).astype(dtype)
    got = _run(layer, x, dout)
    assert all(a.dtype == dtype for a in got)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, layer.params["W"], layer.params["b"]))
    out = torch.nn.functional.conv2d(tx, tw, tb, padding=k // 2)
    out.backward(torch.tensor(dout))
    want = [t.detach().numpy() for t in (out, tx.grad, tw.grad, tb.grad)]
    for a, w in zip(got, want):
        scale = np.abs(w).max()
        # float32 on both sides, dW a sum over 3*14*14 or more positions: ~2e-5 of the scale seen
        assert np.abs(a - w).max() <= (1e-12 if dtype == np.float64 else 1e-4) * scale


@pytest.mark.parametrize("k", [3, 5])
def test_float32_error_stays_near_a_direct_sum(rng, k):
    """Against float64 loops, F(4x4, 3x3) and F(2x2, 5x5) in float32 stay within 5e-5 of the scale
    (about 400 float32 epsilons; the transforms scale values by up to 5, and dW goes through
    G^T dU G). im2col in float32 is run beside them to show the bound is not loose by orders of
    magnitude."""
    x = rng.standard_normal((4, 16, 10, 10))
    dout = rng.standard_normal((4, 8, 10, 10))
    layer = _layer(rng, 16, k // 2, 8, k=k)
    W, b = layer.params["W"], layer.params["b"]
    p = (k // 2, k // 2)
    exact = (conv_forward_naive(x, W, b, (1, 1), p), *conv_backward_naive(dout, x, W, (1, 1), p))
    errors = {}
    for path, channels in (("tiles", 1), ("im2col", 10**9)):
        conv_module.TILES_MIN_CHANNELS, saved = channels, conv_module.TILES_MIN_CHANNELS
        try:
            layer32 = layer.astype(np.float32)
            assert layer32._tiles() == (path == "tiles")
            got = _run(layer32, x.astype(np.float32), dout.astype(np.float32))
        finally:
            conv_module.TILES_MIN_CHANNELS = saved
        errors[path] = [np.abs(g - e).max() / np.abs(e).max() for g, e in zip(got, exact)]
    for tiles, im2col in zip(errors["tiles"], errors["im2col"]):
        assert tiles < 5e-5 and im2col < 5e-6, errors


@pytest.mark.parametrize("k, m", [(5, 2), (3, 4)])
def test_results_do_not_depend_on_the_blas_thread_count(rng, k, m):
    """Chunks run as jobs over the OpenBLAS threads; each output and each chunk's dW part is
    computed by one job, and the parts are summed in chunk order."""
    x = rng.standard_normal((9, 3, 7, 6)).astype(np.float32)
    W = rng.standard_normal((4, 3, k, k)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    dout = rng.standard_normal((9, 4, 7, 6)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        with threadpool_limits(threads, user_api="blas"):
            plan = TilePlan(x.shape, k, m, (k // 2, k // 2), (7, 6), 3, np.float32)
            assert plan.n_chunks > 3
            out = np.empty((9, 4, 7, 6), np.float32)
            tiles_forward(x, W, b, out, plan)
            results.append((out, *tiles_backward(x, W, dout, plan, True)))
    for other in results[1:]:
        for a, c in zip(results[0], other):
            np.testing.assert_array_equal(a, c)


def test_skipping_the_input_gradient(rng, tiles_everywhere):
    layer = _layer(rng, 3, 2, 3)
    x = rng.standard_normal((2, 3, 6, 6))
    dout = rng.standard_normal((2, 3, 6, 6))
    layer.forward(x, training=True)
    layer.backward(dout)
    dW = layer.grads["W"].copy()
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dout) is None
    np.testing.assert_allclose(layer.grads["W"], dW, rtol=1e-12)


def test_chosen_for_3x3_and_5x5_stride_1_with_enough_channels():
    assert Conv2d(32, 64, 5, padding=2)._tiles()
    assert Conv2d(32, 32, 3, padding=1)._tiles() and Conv2d(16, 32, 3, padding=1)._tiles()
    assert not Conv2d(1, 32, 5, padding=2)._tiles()
    assert not Conv2d(3, 32, 3, padding=1)._tiles()
    assert not Conv2d(32, 64, 5, stride=2, padding=2)._tiles()
    assert not Conv2d(32, 64, 7, padding=3)._tiles()
    assert not Conv2d(32, 64, (3, 5), padding=1)._tiles()
