"""Affine (fully connected) layer."""

from __future__ import annotations

import numpy as np

from .._validation import check_int
from ..init import as_rng, check_init, initialize
from ..registry import LAYERS
from .base import Layer


@LAYERS.register("affine")
class Affine(Layer):
    """Fully connected layer, out = x_flat @ W + b (cs231n's affine_forward).

    Shapes: x (N, d_1, ..., d_k) with d_1*...*d_k = in_features, flattened per sample to
    x_flat (N, in_features); W (in_features, out_features); b (out_features,);
    out (N, out_features).
    Backward: dx = dout @ W.T reshaped to x's shape; dW = x_flat.T @ dout; db = dout.sum(0).
    With ``needs_input_grad = False`` the dx product is skipped and backward returns None.
    """

    _positional = ("in_features", "out_features")
    inferred_args = ("in_features",)
    decayed = ("W",)  # weight decay on W, not on b

    def __init__(self, in_features, out_features, *, init="he_normal", bias=True, rng=None):
        super().__init__()
        self.in_features = check_int("Affine", "in_features", in_features)
        self.out_features = check_int("Affine", "out_features", out_features)
        check_init("Affine", init)
        self.init = init
        self.bias = bool(bias)
        self.rng = as_rng(rng)
        self.init_param(
            "W", initialize(init, (self.in_features, self.out_features), self.in_features, self.out_features, self.rng)
        )
        if self.bias:
            self.init_param("b", np.zeros(self.out_features, dtype=np.float32))

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("in_features") is None and input_shape is not None:
            config["in_features"] = int(np.prod(input_shape))
        return config

    def output_shape(self, input_shape):
        features = int(np.prod(input_shape)) if len(input_shape) else 0
        if len(input_shape) < 1 or features != self.in_features:
            raise self.fail_shape(f"(N, {self.in_features}) or any (N, ...) with {self.in_features} features per sample", (None, *input_shape))
        return (self.out_features,)

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=None)
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != self.in_features:
            raise self.fail_shape(f"(N, {self.in_features}) or any (N, ...) with {self.in_features} features per sample", x.shape)
        self.check_param_shapes()
        dtype = self.compute_dtype(x)
        x_flat = x.reshape(x.shape[0], -1).astype(dtype, copy=False)
        W = self.params["W"].astype(dtype, copy=False)
        out = x_flat @ W
        if self.bias:
            out += self.params["b"].astype(dtype, copy=False)
        self.save_cache(x.shape, x.dtype, x_flat, W)
        return out

    def backward(self, dout):
        x_shape, x_dtype, x_flat, W = self.pop_cache()
        dout = self.check_dout(dout, (x_flat.shape[0], self.out_features), x_flat.dtype)
        self.set_grad("W", x_flat.T @ dout)
        if self.bias:
            self.set_grad("b", dout.sum(axis=0))
        if not self.needs_input_grad:
            return None
        return (dout @ W.T).astype(x_dtype, copy=False).reshape(x_shape)
