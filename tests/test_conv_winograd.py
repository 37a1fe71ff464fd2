"""Conv2d's Winograd path, F(4x4, 3x3) and F(2x2, 5x5): the transforms, float64 gradient checks,
the slow reference, PyTorch, dtypes, the input-gradient switch, thread counts and the gating."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch, results_across_threads
from layernet.gradcheck import check_layer
from layernet.layers import Conv2d
from layernet.layers import conv as conv_module
from layernet.layers import conv_winograd
from layernet.layers.conv_winograd import winograd_matrices
from reference import conv_backward_naive, conv_forward_naive


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _layer_and_input(rng, c, hw, k, p, n, filters=3, dtype=np.float64, bias=True):
    layer = Conv2d(c, filters, k, padding=p, bias=bias, rng=rng).astype(dtype)
    if bias:
        layer.params["b"] = rng.standard_normal(filters).astype(dtype)
    return layer, rng.standard_normal((n, c, *hw)).astype(dtype)


def _run(layer, x, dout):
    out = layer.forward(x, training=True)
    dx = layer.backward(dout.astype(x.dtype))
    return out, dx, layer.grads["W"], layer.grads["b"]


# ----------------------------------------------------------------------- the transforms
@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5)])
def test_transforms_compute_the_1d_correlation(rng, m, r):
    """y = A^T [(G g) * (B^T d)] is y_i = sum_k g_k d_{i+k}, for any g (r,) and d (m + r - 1,)."""
    at, g, bt = winograd_matrices(m, r)
    assert at.shape == (m, m + r - 1) and g.shape == (m + r - 1, r) and bt.shape == (m + r - 1,) * 2
    for _ in range(5):
        gk, d = rng.standard_normal(r), rng.standard_normal(m + r - 1)
        want = np.array([gk @ d[i : i + r] for i in range(m)])
        np.testing.assert_allclose(at @ ((g @ gk) * (bt @ d)), want, rtol=1e-12, atol=1e-12)


def test_f4x4_3x3_input_transform_is_lavin_and_grays():
    """B^T of F(4x4, 3x3) is the matrix printed in Lavin & Gray (2016), rows in the order of the
    points 0, 1, -1, 2, -2 (theirs: 0, -1, 1, -2, 2 up to the signs of rows 1-4), and infinity."""
    _, _, bt = winograd_matrices(4, 3)
    lavin = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                      [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=float)
    assert {tuple(row) for row in np.abs(bt)} == {tuple(row) for row in np.abs(lavin)}
    np.testing.assert_array_equal(bt[0], lavin[0])
    np.testing.assert_array_equal(bt[-1], lavin[-1])


def test_unsupported_tile_sizes_are_refused():
    from layernet.layers.conv_winograd import winograd_forward

    x, W = np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError, match="4x4 or 6x6 tiles"):
        winograd_forward(x, W, np.zeros(1), np.zeros((1, 1, 8, 8)), (1, 1), (3, 3, 3, 3, 1))


def test_3x3_and_5x5_share_the_input_transform():
    """Both use 6x6 tiles on the same points, so B^T is one matrix (one input-side kernel, one cost)."""
    np.testing.assert_array_equal(winograd_matrices(4, 3)[2], winograd_matrices(2, 5)[2])


# ----------------------------------------------------------------------- against references
@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Every 3x3 or 5x5 stride-1 convolution takes the Winograd path, one image per chunk
    (several chunks per worker), the weight gradient summed in two groups of chunks."""
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_CHANNELS", 1)
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_SIZE", {3: 1, 5: 1})
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_PIXELS", 1)
    monkeypatch.setattr(conv_module, "WINOGRAD_CHUNK_BYTES", 1)
    monkeypatch.setattr(conv_winograd, "_DW_GROUPS", 2)


# (in_channels, (H, W), kernel, padding, batch): even and odd outputs (tiles hanging over the
# edge), padding 0-2 and a pair, a 1x1 output, images smaller than a tile.
CASES = [
    pytest.param(2, (8, 8), 3, 1, 2, id="3x3-even"),
    pytest.param(3, (7, 5), 3, 1, 3, id="3x3-odd-output"),
    pytest.param(2, (9, 10), 3, 0, 2, id="3x3-pad0"),
    pytest.param(2, (6, 7), 3, 2, 2, id="3x3-pad2"),
    pytest.param(2, (3, 3), 3, 0, 3, id="3x3-one-output-pixel"),
    pytest.param(3, (4, 9), 3, (2, 0), 2, id="3x3-pad-pair"),
    pytest.param(2, (2, 3), 3, 1, 2, id="3x3-smaller-than-a-tile"),
    pytest.param(2, (6, 6), 5, 2, 2, id="5x5-even"),
    pytest.param(3, (7, 8), 5, 2, 3, id="5x5-odd-output"),
    pytest.param(2, (9, 6), 5, 0, 2, id="5x5-pad0"),
    pytest.param(2, (5, 5), 5, 1, 2, id="5x5-pad1"),
    pytest.param(2, (5, 5), 5, 0, 3, id="5x5-one-output-pixel"),
]


@pytest.mark.parametrize("c, hw, k, p, n", CASES)
def test_gradient_check(rng, winograd_everywhere, c, hw, k, p, n):
    layer, x = _layer_and_input(rng, c, hw, k, p, n, filters=2)
    assert layer._winograd(*layer.output_shape(x.shape[1:])[1:])
    errors = check_layer(layer, x)
    assert set(errors) == {"x", "W", "b"}
    for key, err in errors.items():
        assert err < GRAD_TOL, f"{key}: {err:.2e}"


def _assert_matches_loops(rng, layer, x, p):
    """Forward and backward (random dout) equal the reference loops' out, dx, dW and db in float64."""
    dout = rng.standard_normal(layer.forward(x).shape)
    got = _run(layer, x, dout)
    W, b, pp = layer.params["W"], layer.params["b"], _pair(p)
    want = (conv_forward_naive(x, W, b, (1, 1), pp), *conv_backward_naive(dout, x, W, (1, 1), pp))
    for name, a, w in zip(("out", "dx", "dW", "db"), got, want):
        np.testing.assert_allclose(a, w, rtol=1e-10, atol=1e-12 * float(np.max(np.abs(w))), err_msg=name)


@pytest.mark.parametrize("c, hw, k, p, n", CASES)
def test_matches_reference_loops(rng, winograd_everywhere, c, hw, k, p, n):
    layer, x = _layer_and_input(rng, c, hw, k, p, n + 2)
    _assert_matches_loops(rng, layer, x, p)


@pytest.mark.parametrize("c, hw, p, n", [(2, (7, 5), 1, 3), (2, (5, 8), 0, 2)])
def test_f2x2_3x3_through_the_same_kernels(rng, winograd_everywhere, monkeypatch, c, hw, p, n):
    """F(2x2, 3x3) (4x4 tiles, the 4-term transforms) is only a matter of matrices."""
    monkeypatch.setattr(conv_module, "WINOGRAD_TILE", {3: 2, 5: 2})
    layer, x = _layer_and_input(rng, c, hw, 3, p, n)
    assert layer._winograd_plan(x, *layer.output_shape(x.shape[1:])[1:])[:2] == (2, 3)
    _assert_matches_loops(rng, layer, x, p)


# A CIFAR layer, the VGG-style layers and LeNet's second convolution, on the default thresholds.
TORCH_CASES = [(32, 32, 3, 1, 32), (32, 64, 3, 1, 16), (128, 32, 3, 1, 8), (32, 64, 5, 2, 14), (32, 16, 5, 0, 9)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c, f, k, p, s", TORCH_CASES)
def test_matches_torch(rng, monkeypatch, dtype, c, f, k, p, s):
    torch = require_torch()
    layer, x = _layer_and_input(rng, c, (s, s), k, p, 5, filters=f, dtype=dtype)
    if (c, f, s) == (32, 16, 9):  # below the size threshold: taken anyway, a pad-0 5x5 against torch
        monkeypatch.setattr(conv_module, "WINOGRAD_MIN_SIZE", {3: 1, 5: 1})
    monkeypatch.setattr(conv_module, "WINOGRAD_MIN_PIXELS", 1)
    assert layer._winograd(*layer.output_shape(x.shape[1:])[1:])
    dout = rng.standard_normal(layer.forward(x).shape).astype(dtype)
    got = _run(layer, x, dout)
    for a in got:
        assert a.dtype == dtype
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, layer.params["W"], layer.params["b"]))
    tout = torch.nn.functional.conv2d(tx, tw, tb, padding=p)
    tout.backward(torch.tensor(dout))
    want = [t.detach().numpy() for t in (tout, tx.grad, tw.grad, tb.grad)]
    # float32: the transforms add up to 36 inputs with coefficients up to 8 before multiplying, so
    # the error is relative to the array's scale, not to each element.
    rtol, scale_tol = (1e-10, 1e-12) if dtype == np.float64 else (1e-3, 3e-5)
    for name, a, w in zip(("out", "dx", "dW", "db"), got, want):
        np.testing.assert_allclose(a, w, rtol=rtol, atol=scale_tol * float(np.max(np.abs(w))), err_msg=name)


@pytest.mark.parametrize("layer_dtype, x_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_dx_has_the_input_dtype(rng, winograd_everywhere, layer_dtype, x_dtype):
    """The layer computes in numpy's promotion of x and its parameters (float64 here); dx comes
    back in x's dtype."""
    layer, x = _layer_and_input(rng, 3, (6, 6), 3, 1, 2, dtype=layer_dtype)
    x = x.astype(x_dtype)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float64
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    assert dx.dtype == x_dtype and dx.shape == x.shape
    W = layer.params["W"].astype(np.float64)
    want = conv_backward_naive(dout, x.astype(np.float64), W, (1, 1), (1, 1))[0]
    np.testing.assert_allclose(dx, want, rtol=1e-5, atol=1e-6 * float(np.max(np.abs(want))))


@pytest.mark.parametrize("k", [3, 5])
def test_skipping_the_input_gradient(rng, winograd_everywhere, k):
    layer, x = _layer_and_input(rng, 3, (7, 6), k, k // 2, 3)
    dout = rng.standard_normal((3, 3, 7, 6))
    layer.forward(x, training=True)
    full = layer.backward(dout)
    dW, db = layer.grads["W"].copy(), layer.grads["b"].copy()
    layer.needs_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dout) is None
    np.testing.assert_array_equal(layer.grads["W"], dW)
    np.testing.assert_array_equal(layer.grads["b"], db)
    assert full.shape == x.shape


def winograd_run(rng):
    """Forward and backward through the Winograd path (3x3 and 5x5, many chunks, a partial last
    one) for results_across_threads, with as many OpenBLAS threads as Numba threads: the chunks
    run in parallel on the BLAS threads (``_blas.batched``), so 1, 2 and 3 workers are compared."""
    import numba

    from layernet import _blas

    lib = _blas._openblas()
    if lib is not None:
        lib.set_num_threads(numba.get_num_threads())
    conv_module.WINOGRAD_MIN_CHANNELS, conv_module.WINOGRAD_MIN_PIXELS = 1, 1
    conv_module.WINOGRAD_MIN_SIZE, conv_module.WINOGRAD_CHUNK_BYTES = {3: 1, 5: 1}, 20_000
    conv_winograd._DW_GROUPS = 3  # 3x3: chunks of 2, 2, 2, 1 images; 5x5: 7 of 1; in 3 groups
    results = []
    for k in (3, 5):
        layer, x = _layer_and_input(rng, 3, (10, 9), k, k // 2, 7, filters=4, dtype=np.float32)
        assert layer._winograd(10, 9)
        results += _run(layer, x, rng.standard_normal((7, 4, 10, 9)).astype(np.float32))
    return results


def test_weight_gradient_parts_stay_bounded():
    assert conv_winograd._dw_groups(64, 36 * 32 * 32 * 4) == conv_winograd._DW_GROUPS
    assert conv_winograd._dw_groups(64, 36 * 512 * 512 * 4) == 2
    assert conv_winograd._dw_groups(1, 36 * 512 * 512 * 4) == 1
    assert conv_winograd._dw_groups(3, 100) == 3


def test_results_do_not_depend_on_thread_count():
    one, *others = results_across_threads("test_conv_winograd", "winograd_run")
    for other in others:
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------- when it is taken
def test_chosen_only_where_it_was_measured_faster():
    for c, f, s in [(16, 32, 32), (32, 32, 32), (32, 64, 32), (16, 16, 16), (32, 32, 16), (64, 64, 16),
                    (64, 128, 8), (128, 128, 8), (256, 256, 8)]:
        assert Conv2d(c, f, 3, padding=1)._winograd(s, s), (c, f, s)
    for c, f, s in [(32, 64, 14), (16, 32, 14)]:
        assert Conv2d(c, f, 5, padding=2)._winograd(s, s), (c, f, s)
    assert not Conv2d(16, 16, 5, padding=2)._winograd(10, 10)
    for c, f, s in [(3, 32, 32), (8, 16, 32), (16, 16, 8), (32, 32, 8), (256, 256, 4)]:
        assert not Conv2d(c, f, 3, padding=1)._winograd(s, s), (c, f, s)
    assert not Conv2d(6, 16, 5, padding=2)._winograd(14, 14)  # LeNet's 6 -> 16
    assert not Conv2d(32, 32, 3, stride=2, padding=1)._winograd(16, 16)
    assert not Conv2d(32, 32, 7, padding=3)._winograd(32, 32)
    assert not Conv2d(32, 32, (3, 5), padding=1)._winograd(32, 30)


def test_plan_keeps_every_worker_busy():
    """Whole images, about WINOGRAD_CHUNK_BYTES of transformed tiles a chunk, at least
    WINOGRAD_MIN_CHUNKS chunks; nothing depends on the thread count."""
    x = np.zeros((8, 64, 4, 4), np.float32)
    assert Conv2d(64, 64, 3, padding=1)._winograd_plan(x, 4, 4) == (4, 3, 1, 1, 8 // conv_module.WINOGRAD_MIN_CHUNKS)
    *tiles, images = Conv2d(32, 64, 5, padding=2)._winograd_plan(np.zeros((128, 32, 14, 14), np.float32), 14, 14)
    assert tiles == [2, 5, 7, 7]
    per_image = 36 * 49 * (32 + 64) * 4
    assert abs(images * per_image - conv_module.WINOGRAD_CHUNK_BYTES) <= per_image / 2
    assert Conv2d(32, 32, 3, padding=1)._winograd_plan(np.zeros((1, 32, 64, 64)), 64, 64)[4] == 1
