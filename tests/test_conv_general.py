"""Conv2d with dilation and groups (the general path) against PyTorch, gradient checks and errors."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_layer
from layernet.layers import Conv2d

CASES = [  # (C, F, kernel, stride, padding, dilation, groups, input H, W)
    (4, 6, 3, 1, 1, 1, 2, 7, 6),            # grouped
    (4, 4, 3, 1, 1, 1, 4, 6, 6),            # depthwise
    (4, 8, 3, 2, 1, 1, 4, 7, 7),            # depthwise multiplier 2, strided
    (3, 5, 3, 1, 2, 2, 1, 7, 8),            # dilated
    (2, 3, (3, 2), (2, 1), (2, 1), (2, 3), 1, 9, 8),   # pairs everywhere
    (6, 6, 2, 1, 0, (1, 2), 3, 5, 7),       # grouped and dilated
    (1, 2, 3, 1, 1, 2, 1, 6, 6),            # one input channel, dilated (the one-channel path serves dilation 1 only)
]


def _layer(case, rng=0):
    c, f, k, s, p, d, g, _, _ = case
    return Conv2d(c, f, k, stride=s, padding=p, dilation=d, groups=g, rng=rng)


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case, rng):
    torch = require_torch()
    c, f, k, s, p, d, g, h, w = case
    layer = _layer(case).astype(np.float64)
    layer.params["b"] = rng.standard_normal(f)
    assert layer.params["W"].shape == (f, c // g, *((k, k) if isinstance(k, int) else k))
    x = rng.standard_normal((3, c, h, w))
    out = layer.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(layer.params["W"], requires_grad=True)
    bt = torch.tensor(layer.params["b"], requires_grad=True)
    outt = torch.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p, dilation=d, groups=g)
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert layer.output_shape(x.shape[1:]) == out.shape[1:]
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    outt.backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], bt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_matches_nn_conv2d_module(rng):
    """nn.Conv2d itself (weights copied in), a depthwise layer on float32 data."""
    torch = require_torch()
    layer = Conv2d(8, 8, 3, padding=2, dilation=2, groups=8, rng=0)
    module = torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
    with torch.no_grad():
        module.weight.copy_(torch.tensor(layer.params["W"]))
        module.bias.copy_(torch.tensor(layer.params["b"]))
    x = rng.standard_normal((4, 8, 9, 9)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, module(torch.tensor(x)).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("case", CASES[:6])
def test_gradient_check_float64(case, rng):
    x = rng.standard_normal((2, case[0], case[7], case[8]))
    layer = _layer(case)
    errors = check_layer(layer, x)
    assert max(errors.values()) < GRAD_TOL, errors
    layer.needs_input_grad = False
    layer.forward(x)
    assert layer.backward(np.ones((2, *layer.output_shape(x.shape[1:])))) is None


def test_config_round_trip_and_default_repr():
    layer = Conv2d(4, 8, 3, dilation=(2, 1), groups=2)
    config = layer.get_config()
    assert config["dilation"] == [2, 1] and config["groups"] == 2
    assert repr(Conv2d.from_config(config)) == repr(layer)
    assert "dilation" not in repr(Conv2d(4, 8, 3)) and "groups" not in repr(Conv2d(4, 8, 3))


@pytest.mark.parametrize("kwargs, message", [
    ({"groups": 3}, "`groups` of Conv2d: expected a divisor of in_channels=4. Received: groups=3"),
    ({"groups": 4, "out_channels": 6}, "`groups` of Conv2d: expected a divisor of out_channels=6. Received: groups=4"),
    ({"groups": 0}, "`groups` of Conv2d: expected a positive int"),
    ({"dilation": 0}, "`dilation` of Conv2d"),
])
def test_bad_groups_and_dilation(kwargs, message):
    args = {"in_channels": 4, "out_channels": 8, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message) as info:
        Conv2d(**args)
    assert "\n" not in str(info.value)


def test_dilated_kernel_must_fit():
    layer = Conv2d(1, 1, 3, dilation=3)  # extent 7
    with pytest.raises(ValueError, match="H \\+ 2\\*0 >= 7"):
        layer.forward(np.zeros((1, 1, 6, 9)))
