"""Conv2d: gradient checks, a slow reference, PyTorch, known answers, validation and config."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch, results_across_threads
from layernet import _blas
from layernet.gradcheck import check_layer
from layernet.layers import Conv2d
from layernet.layers import conv as conv_module
from layernet.layers import conv_one_channel
from layernet.registry import LAYERS
from reference import conv_backward_naive, conv_forward_naive

# (in_channels, (H, W), kernel_size, stride, padding, batch, bias). C=1 at stride 1 runs the
# one-channel path (layers/conv_one_channel.py), everything else the im2col path.
GRAD_CASES = [
    pytest.param(1, (5, 6), 3, 1, 0, 2, True, id="c1-pad0"),
    pytest.param(1, (5, 6), 3, 1, 1, 2, True, id="c1-pad1"),
    pytest.param(1, (5, 6), 3, 1, 2, 2, True, id="c1-pad2"),
    pytest.param(3, (5, 6), 3, 1, 0, 2, True, id="c3-pad0"),
    pytest.param(3, (5, 6), 3, 1, 1, 2, True, id="c3-pad1"),
    pytest.param(3, (5, 6), 3, 1, 2, 2, True, id="c3-pad2"),
    pytest.param(1, (6, 7), 3, 2, 1, 2, True, id="c1-stride2"),
    pytest.param(3, (6, 7), 3, 2, 1, 2, True, id="c3-stride2"),
    pytest.param(1, (5, 7), (3, 2), (2, 1), (1, 0), 2, True, id="c1-pairs-nonsquare"),
    pytest.param(2, (5, 7), (2, 3), (1, 2), (0, 2), 2, True, id="c2-pairs-nonsquare"),
    pytest.param(1, (5, 7), (3, 2), 1, (2, 1), 2, True, id="c1-nonsquare"),
    pytest.param(3, (4, 5), 1, 1, 0, 2, True, id="1x1"),
    pytest.param(2, (4, 5), (4, 5), 1, 0, 2, True, id="kernel-is-input"),
    pytest.param(1, (4, 5), (4, 5), 1, 0, 2, True, id="c1-kernel-is-input"),
    pytest.param(3, (5, 5), 3, 1, 1, 1, True, id="batch-of-one"),
    pytest.param(1, (5, 5), 3, 1, 1, 1, False, id="c1-no-bias"),
    pytest.param(3, (5, 5), 3, 2, 1, 2, False, id="c3-no-bias"),
]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _layer_and_input(rng, c, hw, k, s, p, n, bias, filters=3, dtype=np.float64):
    layer = Conv2d(c, filters, k, stride=s, padding=p, bias=bias, rng=rng).astype(dtype)
    if bias:
        layer.params["b"] = rng.standard_normal(filters).astype(dtype)
    x = rng.standard_normal((n, c, *hw)).astype(dtype)
    return layer, x


@pytest.mark.parametrize("c, hw, k, s, p, n, bias", GRAD_CASES)
def test_gradient_check(rng, c, hw, k, s, p, n, bias):
    layer, x = _layer_and_input(rng, c, hw, k, s, p, n, bias, filters=2)
    errors = check_layer(layer, x)
    assert set(errors) == ({"x", "W", "b"} if bias else {"x", "W"})
    for key, err in errors.items():
        assert err < GRAD_TOL, f"{key}: {err:.2e}"


# A subset of the shapes above for the oracles, with more filters.
ORACLE_CASES = [GRAD_CASES[i] for i in (1, 4, 6, 7, 8, 9, 10, 11, 12)]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def _run(layer, x, dout):
    out = layer.forward(x)
    dx = layer.backward(dout.astype(x.dtype))
    return out, dx, layer.grads["W"], layer.grads["b"]


def _check_dtype(got, dtype):
    for a in got:
        assert a.dtype == dtype


def _assert_close(got, want, dtype):
    for name, a, b in zip(("out", "dx", "dW", "db"), got, want):
        scale = float(np.max(np.abs(b))) or 1.0
        np.testing.assert_allclose(a, b, rtol=TOL[dtype]["rtol"], atol=TOL[dtype]["atol"] * scale, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c, hw, k, s, p, n, bias", ORACLE_CASES)
def test_matches_reference_loops(rng, dtype, c, hw, k, s, p, n, bias):
    layer, x = _layer_and_input(rng, c, hw, k, s, p, n + 1, bias, filters=4, dtype=dtype)
    W, b = (layer.params[k_].astype(np.float64) for k_ in ("W", "b"))
    dout = rng.standard_normal(layer.forward(x).shape)
    got = _run(layer, x, dout)
    _check_dtype(got, dtype)
    ref_out = conv_forward_naive(x.astype(np.float64), W, b, _pair(s), _pair(p))
    ref_dx, ref_dw, ref_db = conv_backward_naive(dout, x.astype(np.float64), W, _pair(s), _pair(p))
    _assert_close(got, (ref_out, ref_dx, ref_dw, ref_db), dtype)


@pytest.mark.parametrize("k, p", [((1, 1), (0, 0)), ((1, 3), (0, 1)), ((2, 2), (1, 1)), ((3, 3), (3, 2)),
                                  ((5, 5), (2, 2)), ((7, 7), (3, 3)), ((2, 5), (0, 4)), ((7, 7), (0, 0))])
@pytest.mark.parametrize("chunk, product_macs", [(None, None), (1, 1), (2, 100)])
def test_one_channel_path_against_the_loops(rng, monkeypatch, k, p, chunk, product_macs):
    """The one-channel path (C = 1, stride 1) against the loops, 5 images: kernel sizes from 1x1 to
    7x7, padding 0, k//2 and more than k//2 (whole rows and columns of taps in the padding); with
    the default chunks and products, with one image per chunk and every product split into single
    columns, and with at most 2 images per chunk (chunks of 1 and 2) and products split in a few."""
    if chunk is not None:
        oh, ow = 9 + 2 * p[0] - k[0] + 1, 8 + 2 * p[1] - k[1] + 1
        monkeypatch.setattr(conv_one_channel, "CHUNK_VALUES", chunk * (k[0] * k[1] + 1) * oh * ow)
        monkeypatch.setattr(conv_one_channel, "PRODUCT_MACS", product_macs)
    layer, x = _layer_and_input(rng, 1, (9, 8), k, 1, p, 5, True, filters=3)
    assert layer._one_channel()
    dout = rng.standard_normal(layer.forward(x).shape)
    got = _run(layer, x, dout)
    W, b = layer.params["W"], layer.params["b"]
    ref_out = conv_forward_naive(x, W, b, (1, 1), p)
    ref_dx, ref_dw, ref_db = conv_backward_naive(dout, x, W, (1, 1), p)
    _assert_close(got, (ref_out, ref_dx, ref_dw, ref_db), np.float64)


@pytest.mark.parametrize("k", [5, 7])
@pytest.mark.parametrize("need_dx", [False, True])
def test_first_layer_of_an_mnist_net_matches_torch(rng, k, need_dx):
    """The benchmarked case, float32: Conv2d(1, 32, k, padding=k//2) on 28x28, 20 images, with and
    without dx (without: backward returns None and the parameter gradients are unchanged)."""
    torch = require_torch()
    layer = Conv2d(1, 32, k, padding=k // 2, rng=rng)
    layer.params["b"] = rng.standard_normal(32).astype(np.float32)
    layer.needs_input_grad = need_dx
    x = rng.standard_normal((20, 1, 28, 28)).astype(np.float32)
    dout = rng.standard_normal((20, 32, 28, 28)).astype(np.float32)
    got = _run(layer, x, dout)
    _check_dtype([a for a in got if a is not None], np.float32)
    tx = torch.tensor(x, requires_grad=need_dx)
    tw, tb = (torch.tensor(layer.params[n], requires_grad=True) for n in ("W", "b"))
    out = torch.nn.functional.conv2d(tx, tw, tb, padding=k // 2)
    out.backward(torch.tensor(dout))
    want = [out.detach().numpy(), tx.grad.numpy() if need_dx else None, tw.grad.numpy(), tb.grad.numpy()]
    assert (got[1] is None) == (not need_dx)
    for name, a, b in zip(("out", "dx", "dW", "db"), got, want):
        if b is not None:
            scale = float(np.max(np.abs(b)))
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c, hw, k, s, p, n, bias", ORACLE_CASES)
def test_matches_torch(rng, dtype, c, hw, k, s, p, n, bias):
    torch = require_torch()
    layer, x = _layer_and_input(rng, c, hw, k, s, p, n + 1, bias, filters=4, dtype=dtype)
    dout = rng.standard_normal(layer.forward(x).shape).astype(dtype)
    got = _run(layer, x, dout)
    _check_dtype(got, dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, layer.params["W"], layer.params["b"]))
    out = torch.nn.functional.conv2d(tx, tw, tb, stride=_pair(s), padding=_pair(p))
    out.backward(torch.tensor(dout))
    want = [t.detach().numpy() for t in (out, tx.grad, tw.grad, tb.grad)]
    _assert_close(got, want, dtype)


def test_partial_last_chunk_matches_reference(rng, monkeypatch):
    """A batch that is not a multiple of the im2col chunk (5 images of 30 pixels in chunks of 2)."""
    monkeypatch.setattr(conv_module, "CHUNK_PIXELS", 60)
    layer, x = _layer_and_input(rng, 3, (6, 5), 3, 1, 1, 5, True, filters=4)
    dout = rng.standard_normal((5, 4, 6, 5))
    got = _run(layer, x, dout)
    W, b = layer.params["W"], layer.params["b"]
    want = (conv_forward_naive(x, W, b, (1, 1), (1, 1)), *conv_backward_naive(dout, x, W, (1, 1), (1, 1)))
    _assert_close(got, want, np.float64)


@pytest.mark.parametrize("channels", [1, 2])
def test_known_answer_window_sums(channels):
    """3x3 input 1..9, 2x2 kernel of ones: each output is the sum of a 2x2 window (per channel)."""
    layer = Conv2d(channels, 1, 2, bias=False, rng=0)
    layer.params["W"] = np.ones((1, channels, 2, 2), dtype=np.float32)
    x = np.tile(np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3), (1, channels, 1, 1))
    out = layer.forward(x)
    np.testing.assert_array_equal(out, channels * np.array([[[[12, 16], [24, 28]]]], dtype=np.float32))
    dx = layer.backward(np.ones_like(out))
    # each input pixel receives one 1 per window that covers it
    covered = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32)
    np.testing.assert_array_equal(dx, np.broadcast_to(covered, x.shape))
    np.testing.assert_array_equal(layer.grads["W"], np.full((1, channels, 2, 2), 0.0) + [[[[12, 16], [24, 28]]]])


def test_known_answer_padding_and_bias():
    """A 1x1 input with padding 1 and a 3x3 kernel: out = centre weight * x + b."""
    layer = Conv2d(1, 1, 3, padding=1, rng=0)
    layer.params["W"] = np.arange(9, dtype=np.float32).reshape(1, 1, 3, 3)
    layer.params["b"] = np.array([0.5], dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(np.full((1, 1, 1, 1), 2.0, np.float32)), [[[[8.5]]]])


@pytest.mark.parametrize("c", [1, 3])
def test_float32_agrees_with_float64(rng, c):
    layer, x = _layer_and_input(rng, c, (9, 8), 3, 1, 1, 4, True, filters=5, dtype=np.float32)
    dout = rng.standard_normal((4, 5, 9, 8)).astype(np.float32)
    got32 = _run(layer, x, dout)
    _check_dtype(got32, np.float32)
    got64 = _run(layer.astype(np.float64), x.astype(np.float64), dout)
    _check_dtype(got64, np.float64)
    _assert_close(got32, got64, np.float32)


def conv_run(rng, n=40):
    """Forward and backward of the one-channel path (C = 1) and the im2col path (C = 3), with and
    without dx; 40 images, more than one chunk of either path."""
    results = []
    for c in (1, 3):
        for need_dx in (True, False):
            layer, x = _layer_and_input(rng, c, (10, 9), 3, 1, 1, n, True, filters=4, dtype=np.float32)
            layer.needs_input_grad = need_dx
            results += _run(layer, x, rng.standard_normal((n, 4, 10, 9)).astype(np.float32))
    return [r for r in results if r is not None]


def test_results_do_not_depend_on_the_blas_thread_count(monkeypatch):
    """Both paths run chunks of images as jobs shared over the BLAS threads (``_blas.batched``):
    1, 2 and 3 threads must give identical outputs and gradients. The one-channel path runs one
    image per chunk and split products here, so 40 images are 40 jobs."""
    lib = _blas._openblas()
    if lib is None:
        pytest.skip("no OpenBLAS pthreads pool: the jobs run in a loop")
    monkeypatch.setattr(conv_one_channel, "CHUNK_VALUES", 1)
    monkeypatch.setattr(conv_one_channel, "PRODUCT_MACS", 256)
    before = lib.get_num_threads()
    runs = []
    try:
        for threads in (1, 2, 3):
            lib.set_num_threads(threads)
            assert _blas.workers() == threads
            runs.append(conv_run(np.random.default_rng(0)))
    finally:
        lib.set_num_threads(before)
    one, *others = runs
    for other in others:
        for a, b in zip(one, other, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("c", [1, 3])
def test_skipping_the_input_gradient(rng, c):
    layer, x = _layer_and_input(rng, c, (6, 6), 3, 1, 1, 2, True)
    dout = rng.standard_normal((2, 3, 6, 6))
    full = [a.copy() for a in _run(layer, x, dout)]
    layer.needs_input_grad = False
    layer.forward(x)
    assert layer.backward(dout) is None
    np.testing.assert_array_equal(layer.grads["W"], full[2])
    np.testing.assert_array_equal(layer.grads["b"], full[3])


@pytest.mark.parametrize(
    "shape, dtype, found",
    [
        ((2, 3, 5), np.float32, r"\(2, 3, 5\)"),  # rank 3
        ((2, 2, 5, 5), np.float32, r"\(2, 2, 5, 5\)"),  # 2 channels instead of 3
        ((2, 3, 5, 5), np.int64, "int64"),  # not floating
        ((2, 3, 1, 5), np.float32, r"\(2, 3, 1, 5\)"),  # 1 + 2*1 < 4
        ((2, 3, 5, 1), np.float32, r"\(2, 3, 5, 1\)"),
    ],
)
def test_bad_input_raises_value_error(shape, dtype, found):
    layer = Conv2d(3, 4, 4, padding=1, rng=0)
    with pytest.raises(ValueError, match=rf"Conv2d.*expected.*{found}"):
        layer.forward(np.zeros(shape, dtype=dtype))
    if dtype != np.int64:  # output_shape sees shapes only
        with pytest.raises(ValueError, match=rf"Conv2d.*expected.*{found.replace('2, ', 'None, ', 1)}"):
            layer.output_shape(shape[1:])


def test_padding_makes_a_small_input_fit():
    assert Conv2d(1, 2, 4, padding=2, rng=0).forward(np.zeros((1, 1, 1, 1), np.float32)).shape == (1, 2, 2, 2)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(kernel_size=(3, 0)), "kernel_size"),
        (dict(kernel_size=3, stride=0), "stride"),
        (dict(kernel_size=3, padding=-1), "padding"),
        (dict(kernel_size=(1, 2, 3)), "kernel_size"),
        (dict(kernel_size=3, init="he_nromal"), "init"),
    ],
)
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` of Conv2d"):
        Conv2d(1, 2, **kwargs)


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="Conv2d.backward called before forward"):
        Conv2d(1, 2, 3, rng=0).backward(np.zeros((1, 2, 3, 3)))


def test_wrong_dout_shape():
    layer = Conv2d(1, 2, 3, rng=0)
    layer.forward(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d.backward.*\(1, 2, 2, 2\)"):
        layer.backward(np.zeros((1, 2, 3, 3), np.float32))


def test_repr_config_and_registry():
    layer = Conv2d(1, 32, 5, padding=2, rng=0)
    assert repr(layer) == "Conv2d(1, 32, kernel_size=5, stride=1, padding=2)"
    assert layer.params["W"].shape == (32, 1, 5, 5) and layer.params["W"].dtype == np.float32
    assert layer.params["b"].shape == (32,) and layer.params["b"].dtype == np.float32
    assert LAYERS.get("conv2d") is Conv2d
    odd = Conv2d(3, 8, (3, 2), stride=(2, 1), padding=(1, 0), bias=False, init="xavier_uniform", rng=0)
    assert repr(odd) == "Conv2d(3, 8, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), init='xavier_uniform', bias=False)"
    for original in (layer, odd):
        config = original.get_config()
        assert config["type"] == "conv2d"
        rebuilt = Conv2d.from_config(config)
        assert rebuilt.get_config() == config and repr(rebuilt) == repr(original)


def test_shapes_and_inferred_channels():
    config = Conv2d.infer_config({"out_channels": 8, "kernel_size": 3}, (3, 10, 12))
    assert config["in_channels"] == 3
    layer = Conv2d.from_config(config)
    assert layer.output_shape((3, 10, 12)) == (8, 8, 10)
    assert Conv2d(1, 32, 5, padding=2).output_shape((1, 28, 28)) == (32, 28, 28)
    assert Conv2d(1, 4, (3, 2), stride=(2, 3), padding=(1, 0)).output_shape((1, 7, 8)) == (4, 4, 3)


@pytest.mark.parametrize("c", [1, 3])
def test_replaced_parameters_are_used(rng, c):
    layer = Conv2d(c, 2, 3, padding=1, rng=0)
    x = rng.standard_normal((2, c, 5, 5)).astype(np.float32)
    layer.params["W"] = np.zeros((2, c, 3, 3), np.float32)
    layer.params["b"] = np.array([1.5, -2.0], np.float32)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, np.broadcast_to(np.array([1.5, -2.0], np.float32)[:, None, None], out.shape))
    layer.params["W"] = np.zeros((2, c, 2, 2), np.float32)
    with pytest.raises(ValueError, match="parameter 'W' must have shape"):
        layer.forward(x)
