"""Elementwise activations: ReLU, LeakyReLU, Sigmoid, Tanh (any input shape)."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive
from ..kernels.activation import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from ..registry import LAYERS
from .base import Layer


class _Elementwise(Layer):
    """An activation applied to every element; subclasses give the two kernels.

    ``_keep`` says which forward array backward needs: ``"x"`` (the input) or ``"out"``.
    """

    _keep = "x"

    def _forward_kernel(self, x, out):
        raise NotImplementedError

    def _backward_kernel(self, kept, dout, dx):
        raise NotImplementedError

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=None)
        flat = np.ascontiguousarray(x).reshape(-1)
        out = np.empty_like(flat)
        self._forward_kernel(flat, out)
        self.save_cache(x.shape, flat if self._keep == "x" else out)
        return out.reshape(x.shape)

    def backward(self, dout):
        shape, kept = self.pop_cache()
        dout = np.ascontiguousarray(self.check_dout(dout, shape, kept.dtype)).reshape(-1)
        dx = np.empty_like(kept)
        self._backward_kernel(kept, dout, dx)
        return dx.reshape(shape)


@LAYERS.register("relu")
class ReLU(_Elementwise):
    """Rectified linear unit, out = max(0, x).

    Shapes: x (any) -> out (same as x).
    Backward: dx = dout where x > 0, else 0; the gradient at exactly 0 is taken as 0.
    """

    def _forward_kernel(self, x, out):
        relu_forward(x, out)

    def _backward_kernel(self, x, dout, dx):
        relu_backward(x, dout, dx)


@LAYERS.register("leaky_relu")
class LeakyReLU(_Elementwise):
    """Leaky ReLU, out = x if x > 0 else negative_slope * x (negative_slope >= 0).

    Shapes: x (any) -> out (same as x).
    Backward: dx = dout where x > 0, else negative_slope * dout (the slope is used at 0).
    """

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = check_positive("LeakyReLU", "negative_slope", negative_slope, allow_zero=True)

    def _forward_kernel(self, x, out):
        leaky_relu_forward(x, self.negative_slope, out)

    def _backward_kernel(self, x, dout, dx):
        leaky_relu_backward(x, dout, self.negative_slope, dx)


@LAYERS.register("sigmoid")
class Sigmoid(_Elementwise):
    """Logistic sigmoid, out = 1 / (1 + exp(-x)), computed without overflow for large |x|.

    Shapes: x (any) -> out (same as x).
    Backward: dx = dout * out * (1 - out) (the derivative in terms of the output).
    """

    _keep = "out"

    def _forward_kernel(self, x, out):
        sigmoid_forward(x, out)

    def _backward_kernel(self, out, dout, dx):
        sigmoid_backward(out, dout, dx)


@LAYERS.register("tanh")
class Tanh(_Elementwise):
    """Hyperbolic tangent, out = tanh(x).

    Shapes: x (any) -> out (same as x).
    Backward: dx = dout * (1 - out**2) (the derivative in terms of the output).
    """

    _keep = "out"

    def _forward_kernel(self, x, out):
        tanh_forward(x, out)

    def _backward_kernel(self, out, dout, dx):
        tanh_backward(out, dout, dx)
