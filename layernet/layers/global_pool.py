"""Global average pooling: one value per channel, whatever the image size."""

from __future__ import annotations

import numpy as np

from ..registry import LAYERS
from .base import Layer


@LAYERS.register("global_avgpool2d")
class GlobalAvgPool2d(Layer):
    """out[n, c] = mean over h, w of x[n, c, h, w]; PyTorch's ``F.adaptive_avg_pool2d(x, 1)`` flattened.

    Shapes: x (N, C, H, W), any H and W -> out (N, C). No parameters: the head of a network
    that ends in it is not tied to one input size.
    Backward: every position of a channel receives an equal share, dx[n, c, h, w] = dout[n, c] / (H*W).
    """

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.fail_shape("(N, C, H, W)", (None, *input_shape))
        return (int(input_shape[0]),)

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=4, expected="(N, C, H, W)")
        self.save_cache(x.shape, x.dtype)
        return x.reshape(x.shape[0], x.shape[1], -1).mean(axis=2, dtype=x.dtype)

    def backward(self, dout):
        shape, dtype = self.pop_cache()
        dout = self.check_dout(dout, shape[:2], dtype)
        share = dout / dtype.type(shape[2] * shape[3])
        return np.ascontiguousarray(np.broadcast_to(share[:, :, None, None], shape))
