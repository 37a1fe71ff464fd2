"""Residual block: a skip connection around a chain of layers."""

from __future__ import annotations

import numpy as np

from .._validation import format_shape
from ..registry import LAYERS, did_you_mean
from .base import Layer
from .stack import build_layers


@LAYERS.register("residual")
class Residual(Layer):
    """out = x + f(x), where f is the chain of ``layers`` (applied in order), as in ResNet.

    Shapes: x (N, ...) -> out (N, ...), the same shape: f must keep the shape of its input.
    Backward (the branch rule): x feeds two paths, the skip (identity) and f, so its gradient
    is the sum of the gradients along both: dx = dout + (df/dx)^T dout, where the second term
    is dout run backward through f's layers in reverse order.

    The block has no parameters of its own: ``children()`` returns its layers, and Sequential
    names their parameters ``"<block index>.<layer index>.<key>"`` (``"2.0.W"``); which of them
    weight decay applies to, each inner layer declares (``decayed_names`` asks the children).
    Config: ``{"type": "residual", "layers": [{"type": "affine", ...}, ...]}``; with the input
    shape known, arguments such as ``in_features`` may be left out of the inner layers.
    """

    def __init__(self, *layers):
        super().__init__()
        if not layers:
            raise ValueError("Residual: expected at least one layer, e.g. Residual(Affine(4, 4), ReLU()); received none")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Residual: argument {index} must be a Layer (e.g. Affine(4, 4)), found {type(layer).__name__}")
        self.layers: list[Layer] = list(layers)

    def children(self) -> list[Layer]:
        return list(self.layers)

    # ------------------------------------------------------------------ protocol
    def forward(self, x, training=False):
        x = self.check_input(x)
        fx = x
        for index, layer in enumerate(self.layers):
            try:
                fx = layer.forward(fx, training=training)
            except ValueError as err:
                raise ValueError(f"Residual, inner layer {index} {layer!r}: {err}") from None
        if fx.shape != x.shape:
            raise ValueError(self._shape_message(x.shape, fx.shape))
        self.save_cache(x.shape, x.dtype)
        return x + fx

    def backward(self, dout):
        x_shape, x_dtype = self.pop_cache()
        dout = np.asarray(dout)
        if dout.shape != x_shape:
            raise ValueError(f"Residual.backward: expected dout of the output's shape {x_shape}, found {dout.shape}")
        dfx = dout
        for layer in reversed(self.layers):
            dfx = layer.backward(dfx)
        return (dout + dfx).astype(x_dtype, copy=False)  # skip path + path through f

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as err:
                raise ValueError(f"Residual, inner layer {index} {layer!r}: {err}") from None
        if shape != tuple(input_shape):
            raise ValueError(self._shape_message((None, *input_shape), (None, *shape)))
        return shape

    def min_train_batch(self, input_shape):
        """The largest need of the inner layers, each asked with its own input shape."""
        need, shape = 1, tuple(input_shape)
        for layer in self.layers:
            need = max(need, layer.min_train_batch(shape))
            shape = layer.output_shape(shape)
        return need

    def _shape_message(self, shape_in, shape_out) -> str:
        return (
            f"Residual: its layers map an input of shape {format_shape(tuple(shape_in))} to "
            f"{format_shape(tuple(shape_out))}, but x + f(x) needs f to keep the shape"
        )

    # ------------------------------------------------------------------ configuration
    def get_config(self) -> dict:
        return {"type": self.type_name, "layers": [layer.get_config() for layer in self.layers]}

    @classmethod
    def infer_config(cls, config, input_shape):
        """Record the per-sample input shape; ``from_config`` walks it through the inner layers."""
        config = dict(config)
        if input_shape is not None and config.get("input_shape") is None:
            config["input_shape"] = list(input_shape)
        return config

    @classmethod
    def from_config(cls, config, rng=None) -> "Residual":
        """Build from ``{"layers": [layer configs], "input_shape": optional per-sample shape}``.

        Each inner layer is built through the LAYERS registry with its own child generator of
        ``rng``; with ``input_shape`` the shape flows through the inner layers, filling what
        each can infer (``in_features`` ...).
        """
        unknown = sorted(set(config) - {"type", "layers", "input_shape"})
        if unknown:
            raise ValueError(
                f"Residual: unknown argument '{unknown[0]}'{did_you_mean(unknown[0], ['layers'])}; expected: layers"
            )
        layers, _ = build_layers(config.get("layers"), config.get("input_shape"), rng, where="Residual, inner ")
        return cls(*layers)

    def __repr__(self) -> str:
        return f"Residual({', '.join(repr(layer) for layer in self.layers)})"
