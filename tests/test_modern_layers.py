"""LayerNorm, GroupNorm, GlobalAvgPool2d, GELU, Residual with a shortcut and Concat (issue 15).

The float64 gradient checks of every one of them run in test_layer_contract.py; here each is
compared with PyTorch forward and backward (random gamma/beta, random upstream gradient), and
the one-line errors for bad arguments and inputs are checked.
"""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet import Sequential
from layernet.gradcheck import check_layer
from layernet.layers import (
    Affine, BatchNorm, Concat, Conv2d, GELU, GlobalAvgPool2d, GroupNorm, LayerNorm, ReLU, Residual, Tanh,
)
from layernet.registry import LAYERS


def _torch():
    return require_torch()


def _compare(layer, module, x, rng, params=(), tol=1e-10, training=True):
    """Forward and backward of ``layer`` and torch ``module`` (float64) on x with a random dout.

    ``params``: pairs (layernet key, torch parameter name) whose gradients are compared too.
    """
    torch = _torch()
    layer.astype(np.float64)
    module = module.double()
    module.train(training)
    out = layer.forward(x, training=training)
    xt = torch.tensor(x, requires_grad=True)
    outt = module(xt)
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=tol, atol=tol)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    outt.backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=tol, atol=tol)
    named = dict(module.named_parameters())
    for key, name in params:
        np.testing.assert_allclose(layer.grads[key], named[name].grad.numpy(), rtol=tol, atol=tol)


def _randomize(layer, rng):
    for key, value in layer.params.items():
        layer.params[key] = rng.standard_normal(value.shape).astype(value.dtype)


@pytest.mark.parametrize("shape, normalized", [((4, 7), 7), ((3, 5, 6), 6), ((2, 3, 4, 5), (3, 4, 5))])
def test_layernorm_matches_torch(rng, shape, normalized):
    torch = _torch()
    layer = LayerNorm(normalized)
    _randomize(layer, rng)
    module = torch.nn.LayerNorm(normalized, eps=1e-5)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["gamma"]))
        module.bias.copy_(torch.tensor(layer.params["beta"]))
    _compare(layer, module, rng.standard_normal(shape) * 3 + 1, rng, [("gamma", "weight"), ("beta", "bias")])


@pytest.mark.parametrize("shape, groups", [((3, 6, 4, 5), 2), ((3, 6, 4, 5), 6), ((4, 6, 3, 3), 1), ((5, 6), 3)])
def test_groupnorm_matches_torch(rng, shape, groups):
    torch = _torch()
    layer = GroupNorm(groups, shape[1])
    _randomize(layer, rng)
    module = torch.nn.GroupNorm(groups, shape[1], eps=1e-5)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["gamma"]))
        module.bias.copy_(torch.tensor(layer.params["beta"]))
    _compare(layer, module, rng.standard_normal(shape) * 2 - 1, rng, [("gamma", "weight"), ("beta", "bias")])


def test_norms_are_the_same_in_training_and_eval(rng):
    x = rng.standard_normal((4, 6, 3, 3))
    for layer in (LayerNorm((6, 3, 3)), GroupNorm(3, 6)):
        np.testing.assert_array_equal(layer.forward(x, training=True), layer.forward(x, training=False))
        assert not layer.buffers


def test_groupnorm_float32_matches_float64(rng):
    x = rng.standard_normal((8, 16, 5, 5)) * 10 + 50  # a large mean: float32 must subtract it first
    out64 = GroupNorm(4, 16).forward(x)
    out32 = GroupNorm(4, 16).forward(x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, atol=2e-4)


def test_global_avgpool_matches_torch(rng):
    torch = _torch()

    class Pool(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)

    for shape in ((2, 3, 4, 5), (3, 2, 7, 1)):
        _compare(GlobalAvgPool2d(), Pool(), rng.standard_normal(shape), rng)
    assert GlobalAvgPool2d().output_shape((8, 9, 11)) == (8,)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch(rng, approximate):
    torch = _torch()
    _compare(GELU(approximate), torch.nn.GELU(approximate=approximate), rng.standard_normal((4, 5, 6)) * 3, rng)


def test_gelu_gradient_check_wide_range(rng):
    x = np.concatenate([rng.uniform(-4, 4, 20), [-0.5, 0.5]]).reshape(2, 11)
    for approximate in ("none", "tanh"):
        assert max(check_layer(GELU(approximate), x).values()) < GRAD_TOL


def _torch_block(torch, conv1, bn1, conv2, bn2, conv_s, bn_s):
    class Block(torch.nn.Module):
        def forward(self, x):
            f = bn2(conv2(torch.relu(bn1(conv1(x)))))
            return f + bn_s(conv_s(x))

    block = Block()
    block.mods = torch.nn.ModuleList([conv1, bn1, conv2, bn2, conv_s, bn_s])
    return block


def _copy_conv(torch, layer, stride, padding):
    f, c, kh, kw = layer.params["W"].shape
    conv = torch.nn.Conv2d(c, f, (kh, kw), stride=stride, padding=padding).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(layer.params["W"]))
        conv.bias.copy_(torch.tensor(layer.params["b"]))
    return conv


def test_residual_downsampling_block_matches_torch(rng):
    """ResNet's projection block (containers holding batch norm are compared with PyTorch)."""
    torch = _torch()
    block = Residual(Conv2d(3, 4, 3, stride=2, padding=1, rng=0), BatchNorm(4), ReLU(),
                     Conv2d(4, 4, 3, padding=1, rng=1), BatchNorm(4),
                     shortcut=[Conv2d(3, 4, 1, stride=2, rng=2), BatchNorm(4)])
    block.astype(np.float64)
    for bn in (block.layers[1], block.layers[4], block.shortcut[1]):
        _randomize(bn, rng)
    convs = [_copy_conv(torch, block.layers[0], 2, 1), _copy_conv(torch, block.layers[3], 1, 1),
             _copy_conv(torch, block.shortcut[0], 2, 0)]
    bns = []
    for bn in (block.layers[1], block.layers[4], block.shortcut[1]):
        m = torch.nn.BatchNorm2d(4).double()
        with torch.no_grad():
            m.weight.copy_(torch.tensor(bn.params["gamma"]))
            m.bias.copy_(torch.tensor(bn.params["beta"]))
        bns.append(m)
    module = _torch_block(torch, convs[0], bns[0], convs[1], bns[1], convs[2], bns[2])
    _compare(block, module, rng.standard_normal((4, 3, 6, 6)), rng, tol=1e-9)
    np.testing.assert_allclose(block.shortcut[0].grads["W"], convs[2].weight.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(block.layers[0].grads["W"], convs[0].weight.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(block.shortcut[1].grads["gamma"], bns[2].weight.grad.numpy(), atol=1e-9)


def test_residual_shortcut_names_and_summary():
    model = Sequential([Residual(Affine(6, 4, rng=0), Tanh(), shortcut=[Affine(6, 4, rng=1)]), Affine(4, 2, rng=2)])
    names = [name for name, _, _ in model.parameters()]
    assert names == ["0.0.W", "0.0.b", "0.2.W", "0.2.b", "1.W", "1.b"]
    text = model.summary((6,), print_fn=None)
    assert "Residual(f: 2 layers, shortcut: 1 layer)" in text
    lines = text.splitlines()
    assert any(line.startswith("0.0    Affine(6, 4)") for line in lines)
    assert any(line.startswith("0.2    shortcut: Affine(6, 4)") and "(None, 4)" in line for line in lines)


def test_residual_shortcut_from_config_infers_channels():
    config = {"layers": [{"type": "residual",
                          "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1},
                                     {"type": "groupnorm", "num_groups": 2}],
                          "shortcut": [{"type": "conv2d", "out_channels": 8, "kernel_size": 1, "stride": 2},
                                       {"type": "batchnorm"}]},
                         {"type": "global_avgpool2d"}, {"type": "layernorm"}]}
    model = Sequential.from_config(config, input_shape=(3, 8, 8), rng=0)
    assert model.output_shape((3, 8, 8)) == (8,)
    rebuilt = Sequential.from_config(model.get_config())
    assert rebuilt.get_config() == model.get_config()
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert model.forward(x, training=True).shape == (2, 8)


def test_concat_matches_torch(rng):
    torch = _torch()
    layer = Concat([Conv2d(2, 3, 1, rng=0)], [Conv2d(2, 2, 3, padding=1, rng=1), ReLU()], axis=1)
    layer.astype(np.float64)
    c1 = _copy_conv(torch, layer.branches[0][0], 1, 0)
    c2 = _copy_conv(torch, layer.branches[1][0], 1, 1)

    class Module(torch.nn.Module):
        def forward(self, x):
            return torch.cat([c1(x), torch.relu(c2(x))], dim=1)

    module = Module()
    module.mods = torch.nn.ModuleList([c1, c2])
    _compare(layer, module, rng.standard_normal((3, 2, 4, 5)), rng)
    np.testing.assert_allclose(layer.branches[1][0].grads["W"], c2.weight.grad.numpy(), atol=1e-10)


def test_concat_last_axis_and_gradient(rng):
    layer = Concat([Affine(5, 2, rng=0)], [Affine(5, 3, rng=1), Tanh()], [ReLU()], axis=-1)
    x = rng.standard_normal((4, 5))
    assert layer.forward(x).shape == (4, 10) and layer.output_shape((5,)) == (10,)
    assert max(check_layer(layer, x).values()) < GRAD_TOL


@pytest.mark.parametrize("build, message", [
    (lambda: GroupNorm(4, 6), r"GroupNorm: expected a multiple of num_groups=4. Received: num_channels=6"),
    (lambda: LayerNorm(0), r"`normalized_shape` of LayerNorm"),
    (lambda: GELU("fast"), r"`approximate` of GELU: expected 'none' or 'tanh'"),
    (lambda: Concat([Affine(2, 2)], axis=0), r"`axis` of Concat"),
    (lambda: Residual(Affine(2, 2), shortcut="x"), r"Residual: shortcut must be a list of layers"),
])
def test_bad_arguments(build, message):
    with pytest.raises((ValueError, TypeError), match=message) as info:
        build()
    assert "\n" not in str(info.value)


def test_bad_shapes_are_one_line(rng):
    cases = [
        (Residual(Affine(6, 4), shortcut=[Affine(6, 3)]), (2, 6), "its layers map .* to \\(2, 4\\) but its shortcut to \\(2, 3\\)"),
        (Concat([Conv2d(2, 3, 1)], [Conv2d(2, 3, 3)]),
         (2, 2, 5, 5), "agree on every axis but 1, found branch 0: \\(2, 3, 5, 5\\), branch 1: \\(2, 3, 3, 3\\)"),
        (LayerNorm(5), (2, 4), "LayerNorm.*expected input of shape \\(N, ..., 5\\), found \\(2, 4\\)"),
        (GroupNorm(2, 4), (2, 6, 3, 3), "GroupNorm.*expected input of shape \\(N, 4\\) or \\(N, 4, H, W\\)"),
        (GlobalAvgPool2d(), (2, 4), "GlobalAvgPool2d: expected input of shape \\(N, C, H, W\\)"),
    ]
    for layer, shape, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            layer.forward(rng.standard_normal(shape))
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="but its shortcut to \\(None, 3\\)"):
        cases[0][0].output_shape((6,))


def test_registered_names():
    for name in ("layernorm", "groupnorm", "global_avgpool2d", "residual", "concat", "gelu"):
        assert name in LAYERS


def test_norm_results_do_not_depend_on_the_thread_count(rng):
    numba = pytest.importorskip("numba")
    x = rng.standard_normal((20, 8, 5, 5)).astype(np.float32)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            run = []
            for layer in (GroupNorm(4, 8), LayerNorm((8, 5, 5))):
                out = layer.forward(x, training=True)
                run += [out, layer.backward(dout), layer.grads["gamma"], layer.grads["beta"]]
            results.append(run)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(results[0], results[-1]):
        np.testing.assert_array_equal(a, b)


def test_save_and_load_a_model_of_every_new_layer(tmp_path, rng):
    model = Sequential([
        Conv2d(2, 4, 3, padding=2, dilation=2, groups=2, rng=0), GroupNorm(2, 4), GELU("tanh"),
        Concat([Conv2d(4, 2, 1, rng=1)], [Conv2d(4, 2, 3, padding=1, groups=2, rng=2), GELU()]),
        Residual(Conv2d(4, 6, 3, stride=2, padding=1, rng=3), BatchNorm(6), shortcut=[Conv2d(4, 6, 1, stride=2, rng=4)]),
        GlobalAvgPool2d(), LayerNorm(6), Affine(6, 3, rng=5)])
    for _, param, _ in model.parameters():
        param[...] = rng.standard_normal(param.shape)
    x = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    model.forward(x, training=True)  # batch norm's running statistics move
    model.save(tmp_path / "m.npz")
    loaded = Sequential.load(tmp_path / "m.npz")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


def sample_norm_run(rng):
    """LayerNorm and GroupNorm fwd + bwd (dx and the parameter gradients) for results_across_threads:
    the kernels run prange over rows (forward) and over fixed chunks of samples (backward)."""
    x = rng.standard_normal((11, 6, 5, 4)).astype(np.float32) * 3 + 1
    dout = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for layer in (LayerNorm((6, 5, 4)), GroupNorm(3, 6)):
        layer.params["gamma"] = rng.standard_normal(layer.params["gamma"].shape).astype(np.float32)
        results.append(layer.forward(x, training=True))
        results += [layer.backward(dout), layer.grads["gamma"], layer.grads["beta"]]
    return results


def test_sample_norm_results_do_not_depend_on_thread_count():
    from conftest import assert_parallel, results_across_threads
    from layernet.layers import _sample_norm

    assert_parallel(_sample_norm)
    one, *others = results_across_threads("test_modern_layers", "sample_norm_run")
    for other in others:
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


def test_sample_norm_statistics_of_rows_far_from_zero(rng):
    """The one-pass statistics (float64 sums around each row's first value): data at 1e4 +- 1 in
    float32 normalises as a float64 two-pass reference does."""
    x = (1e4 + rng.standard_normal((4, 3, 8, 8))).astype(np.float32)
    out = LayerNorm((3, 8, 8)).forward(x)
    x64 = x.astype(np.float64).reshape(4, -1)
    want = (x64 - x64.mean(axis=1, keepdims=True)) / np.sqrt(x64.var(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out.reshape(4, -1), want, atol=2e-3)
