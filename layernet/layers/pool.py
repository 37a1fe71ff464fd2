"""2-D pooling layers: MaxPool2d and AvgPool2d (NCHW, no padding)."""

from __future__ import annotations

import numpy as np

from .._validation import as_pair, plain_pair
from ..kernels.pool import (
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward,
    maxpool_forward_2x2,
)
from ..registry import LAYERS
from .base import Layer


class _Pool2d(Layer):
    """Shared configuration and shape logic of the pooling layers.

    ``kernel_size`` and ``stride`` are an int or an (h, w) pair; ``stride`` defaults to
    ``kernel_size`` (non-overlapping windows). Output size (floor, no padding):
    OH = (H - KH) // SH + 1, OW = (W - KW) // SW + 1; trailing rows/columns that do not fill a
    window are ignored (and get zero gradient).
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self._kh, self._kw = as_pair(self.name, "kernel_size", kernel_size)
        self._sh, self._sw = as_pair(self.name, "stride", kernel_size if stride is None else stride)
        self.kernel_size = plain_pair(kernel_size)
        self.stride = plain_pair(kernel_size if stride is None else stride)

    def _out_hw(self, height, width, shape_for_error):
        if height < self._kh or width < self._kw:
            raise self.fail_shape(
                f"(N, C, H, W) with H >= {self._kh} and W >= {self._kw} (the pooling window)", shape_for_error
            )
        return (height - self._kh) // self._sh + 1, (width - self._kw) // self._sw + 1

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.fail_shape("(N, C, H, W)", (None, *input_shape))
        channels, height, width = input_shape
        return (channels, *self._out_hw(height, width, (None, *input_shape)))

    def _planes(self, x):
        """Validate x (N, C, H, W); return it as contiguous planes (N*C, H, W) and the output size."""
        x = self.check_input(x, ndim=4, expected="(N, C, H, W)")
        oh, ow = self._out_hw(x.shape[2], x.shape[3], x.shape)
        planes = np.ascontiguousarray(x).reshape(-1, x.shape[2], x.shape[3])
        return x, planes, oh, ow

    def _dout_planes(self, dout, x_shape, dtype, out_hw):
        """dout (N, C, OH, OW) as contiguous planes (N*C, OH, OW) of the forward's dtype."""
        n, c = x_shape[0], x_shape[1]
        dout = self.check_dout(dout, (n, c, *out_hw), dtype)
        return np.ascontiguousarray(dout).reshape(n * c, *out_hw)


@LAYERS.register("maxpool2d")
class MaxPool2d(_Pool2d):
    """Max pooling over KH x KW windows at stride (SH, SW), no padding.

    Shapes: x (N, C, H, W) -> out (N, C, OH, OW), OH = (H - KH) // SH + 1, OW likewise.
    Backward: each output's gradient goes to the input pixel that held the window's maximum;
    every other pixel of the window gets 0. With overlapping windows (stride < kernel) a pixel
    that is the maximum of several windows receives the sum of their gradients.
    Tie rule: if several pixels of a window share the maximum, the *first* in row-major window
    order (top row first, left to right) receives the gradient, as in PyTorch.
    """

    def forward(self, x, training=False):
        x, planes, oh, ow = self._planes(x)
        out = np.empty((planes.shape[0], oh, ow), dtype=x.dtype)
        index_dtype = np.uint8 if self._kh * self._kw <= 256 else np.int32
        argmax = np.empty(out.shape, dtype=index_dtype)
        if (self._kh, self._kw, self._sh, self._sw) == (2, 2, 2, 2):
            maxpool_forward_2x2(planes, out, argmax)
        else:
            maxpool_forward(planes, self._kh, self._kw, self._sh, self._sw, out, argmax)
        self.save_cache(x.shape, x.dtype, argmax)
        return out.reshape(x.shape[0], x.shape[1], oh, ow)

    def backward(self, dout):
        x_shape, dtype, argmax = self.pop_cache()
        dout = self._dout_planes(dout, x_shape, dtype, argmax.shape[1:])
        dx = np.empty((argmax.shape[0], x_shape[2], x_shape[3]), dtype=dtype)
        maxpool_backward(dout, argmax, self._kh, self._kw, self._sh, self._sw, dx)
        return dx.reshape(x_shape)


@LAYERS.register("avgpool2d")
class AvgPool2d(_Pool2d):
    """Average pooling over KH x KW windows at stride (SH, SW), no padding.

    Shapes: x (N, C, H, W) -> out (N, C, OH, OW), out = mean of each window.
    Backward: every pixel of a window receives dout / (KH*KW) from that window; with
    overlapping windows a pixel sums the shares of all windows that contain it.
    """

    def forward(self, x, training=False):
        x, planes, oh, ow = self._planes(x)
        out = np.empty((planes.shape[0], oh, ow), dtype=x.dtype)
        avgpool_forward(planes, self._kh, self._kw, self._sh, self._sw, out)
        self.save_cache(x.shape, x.dtype, (oh, ow))
        return out.reshape(x.shape[0], x.shape[1], oh, ow)

    def backward(self, dout):
        x_shape, dtype, out_hw = self.pop_cache()
        n, c, h, w = x_shape
        dout = self._dout_planes(dout, x_shape, dtype, out_hw)
        dx = np.empty((n * c, h, w), dtype=dtype)
        avgpool_backward(dout, self._kh, self._kw, self._sh, self._sw, dx)
        return dx.reshape(x_shape)
