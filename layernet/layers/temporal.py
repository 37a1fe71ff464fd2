"""TemporalAffine: the same affine map at every step of a sequence (cs231n's temporal_affine)."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..init import as_rng, check_init, initialize
from ..registry import LAYERS
from .base import Layer


@LAYERS.register("temporal_affine")
class TemporalAffine(Layer):
    """out[n, t] = x[n, t] @ W + b on the last axis.

    Shapes: x (N, T, D) with D = in_features; W (D, M), b (M,) as ``Affine``; out (N, T, M).
    Computed as one product on x reshaped to (N*T, D).
    Backward: dx = dout @ W^T; dW = sum over n, t of x[n, t]^T dout[n, t] = x2^T dout2 on the
    (N*T, .) reshapes; db = dout summed over n and t.
    In a config, ``in_features`` is inferred from the input, and ``out_features`` of the last
    temporal_affine defaults to the vocabulary size of a text data set.
    """

    _positional = ("in_features", "out_features")
    inferred_args = ("in_features", "out_features")
    decayed = ("W",)

    def __init__(self, in_features, out_features, *, init="he_normal", bias=True, rng=None):
        super().__init__()
        self.in_features = check_int("TemporalAffine", "in_features", in_features)
        self.out_features = check_int("TemporalAffine", "out_features", out_features)
        check_init("TemporalAffine", init)
        self.init = init
        self.bias = bool(bias)
        self.rng = as_rng(rng)
        self.init_param("W", initialize(init, (self.in_features, self.out_features), self.in_features,
                                        self.out_features, self.rng))
        if self.bias:
            self.init_param("b", np.zeros(self.out_features, dtype=np.float32))

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("in_features") is None and input_shape is not None and len(input_shape) >= 1:
            config["in_features"] = int(input_shape[-1])
        if config.get("out_features") is None:
            raise ValueError("TemporalAffine: expected out_features; it is inferred only for the last temporal_affine "
                             "on a text data set (the vocabulary size), found none")
        return config

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.in_features:
            raise self.fail_shape(f"(N, T, {self.in_features})", (None, *input_shape))
        return (input_shape[0], self.out_features)

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=3, expected=f"(N, T, {self.in_features})")
        if x.shape[2] != self.in_features:
            raise self.fail_shape(f"(N, T, {self.in_features})", x.shape)
        self.check_param_shapes()
        dtype = self.compute_dtype(x)
        n, t, d = x.shape
        x2 = x.reshape(n * t, d).astype(dtype, copy=False)
        W = self.params["W"].astype(dtype, copy=False)
        out = x2 @ W
        if self.bias:
            out += self.params["b"].astype(dtype, copy=False)
        self.save_cache(x.shape, x.dtype, x2, W)
        return out.reshape(n, t, self.out_features)

    def backward(self, dout):
        x_shape, x_dtype, x2, W = self.pop_cache()
        n, t, _ = x_shape
        dout = self.check_dout(dout, (n, t, self.out_features), x2.dtype).reshape(n * t, self.out_features)
        self.set_grad("W", x2.T @ dout)
        if self.bias:
            self.set_grad("b", dout.sum(axis=0))
        if not self.needs_input_grad:
            return None
        return (dout @ W.T).astype(x_dtype, copy=False).reshape(x_shape)
