"""Flatten: reshape each sample to a vector."""

from __future__ import annotations

import numpy as np

from ..registry import LAYERS
from .base import Layer


@LAYERS.register("flatten")
class Flatten(Layer):
    """Flatten every sample: x (N, d_1, ..., d_k) -> out (N, d_1*...*d_k) (C order, a view
    when x is contiguous). A batch of scalars (N,) becomes (N, 1), as in Keras.

    Backward: dx = dout reshaped to x's shape (reshaping only moves values).
    """

    def output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=None)
        self.save_cache(x.shape, x.dtype)
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        shape, dtype = self.pop_cache()
        return self.check_dout(dout, (shape[0], int(np.prod(shape[1:]))), dtype).reshape(shape)
