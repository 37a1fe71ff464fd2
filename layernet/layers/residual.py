"""Residual block: a skip connection (identity or a projection shortcut) around a chain of layers."""

from __future__ import annotations

import numpy as np

from .._validation import format_shape
from ..init import as_rng
from ..registry import LAYERS, did_you_mean
from .base import Layer
from .stack import (build_layers, chain_min_train_batch, check_layer_list, run_backward, run_forward, summary_rows,
                    walk_shape, with_input_shape)


@LAYERS.register("residual")
class Residual(Layer):
    """out = f(x) + s(x): f the chain of ``layers``, s the identity or the ``shortcut`` chain, as in ResNet.

    Shapes: x (N, ...) -> out with f(x)'s shape; without a shortcut f must keep the shape of its
    input (out = x + f(x)); with one, f and s must produce the same shape: a downsampling block
    is ``Residual(Conv2d(C, 2C, 3, stride=2, padding=1), BatchNorm(2C), ReLU(), ...,
    shortcut=[Conv2d(C, 2C, 1, stride=2), BatchNorm(2C)])``, the shortcut a strided 1x1
    projection (He et al. 2016, option B).
    Backward (the branch rule): x feeds two paths, so its gradient is the sum of the gradients
    along both: dx = (ds/dx)^T dout + (df/dx)^T dout, each path's term being dout run backward
    through that path's layers in reverse order (the identity's term is dout itself).

    The block has no parameters of its own: ``children()`` returns f's layers and then the
    shortcut's, and Sequential names their parameters ``"<block>.<child>.<key>"`` (``"2.0.W"``;
    with 5 layers in f the shortcut's first layer is ``"2.5.W"``); which of them weight decay
    applies to, each inner layer declares (``decayed_names`` asks the children).
    Config: ``{"type": "residual", "layers": [...], "shortcut": [...]}`` (``shortcut`` optional);
    with the input shape known, ``in_channels`` and the like may be left out of both paths.
    """

    def __init__(self, *layers, shortcut=None):
        super().__init__()
        self.layers: list[Layer] = check_layer_list("Residual", "layers", layers,
                                                    "e.g. Residual(Affine(4, 4), ReLU())")
        self.shortcut = None
        if shortcut is not None:
            shortcut = [shortcut] if isinstance(shortcut, Layer) else shortcut
            if not isinstance(shortcut, (list, tuple)):
                raise TypeError(f"Residual: shortcut must be a list of layers (e.g. [Conv2d(8, 16, 1, stride=2)]) "
                                f"or None, found {type(shortcut).__name__}")
            self.shortcut = check_layer_list("Residual", "shortcut", shortcut, "e.g. [Conv2d(8, 16, 1, stride=2)]")

    def children(self) -> list[Layer]:
        return list(self.layers) + list(self.shortcut or [])

    # ------------------------------------------------------------------ protocol
    def forward(self, x, training=False):
        x = self.check_input(x)
        fx = run_forward(self.layers, x, training, "Residual, inner layer")
        sx = x if self.shortcut is None else run_forward(self.shortcut, x, training, "Residual, shortcut layer")
        if fx.shape != sx.shape:
            raise ValueError(self._shape_message(x.shape, fx.shape, sx.shape))
        self.save_cache(fx.shape, x.dtype)
        return sx + fx

    def backward(self, dout):
        out_shape, x_dtype = self.pop_cache()
        dout = np.asarray(dout)
        if dout.shape != out_shape:
            raise ValueError(f"Residual.backward: expected dout of the output's shape {out_shape}, found {dout.shape}")
        dfx = run_backward(self.layers, dout)
        dsx = dout if self.shortcut is None else run_backward(self.shortcut, dout)
        return (dsx + dfx).astype(x_dtype, copy=False)  # shortcut path + path through f

    def output_shape(self, input_shape):
        shape = walk_shape(self.layers, input_shape, "Residual, inner layer")
        short = tuple(input_shape) if self.shortcut is None else walk_shape(self.shortcut, input_shape,
                                                                             "Residual, shortcut layer")
        if shape != short:
            raise ValueError(self._shape_message((None, *input_shape), (None, *shape), (None, *short)))
        return shape

    def min_train_batch(self, input_shape):
        """The largest need of the layers of both paths, each asked with its own input shape."""
        return max(chain_min_train_batch(path, input_shape) for path in (self.layers, self.shortcut or []))

    def _shape_message(self, shape_in, shape_f, shape_s) -> str:
        f, s = format_shape(tuple(shape_f)), format_shape(tuple(shape_s))
        if self.shortcut is None:
            return (f"Residual: its layers map an input of shape {format_shape(tuple(shape_in))} to {f}, "
                    "but x + f(x) needs f to keep the shape (or a shortcut: [...] that maps x to f's shape)")
        return (f"Residual: its layers map an input of shape {format_shape(tuple(shape_in))} to {f} but its "
                f"shortcut to {s}; f(x) + s(x) needs both paths to give the same shape")

    # ------------------------------------------------------------------ configuration
    def get_config(self) -> dict:
        config = {"type": self.type_name, "layers": [layer.get_config() for layer in self.layers]}
        if self.shortcut is not None:
            config["shortcut"] = [layer.get_config() for layer in self.shortcut]
        return config

    @classmethod
    def infer_config(cls, config, input_shape):
        """Record the per-sample input shape; ``from_config`` walks it through both paths."""
        return with_input_shape(config, input_shape)

    @classmethod
    def from_config(cls, config, rng=None) -> "Residual":
        """Build from ``{"layers": [...], "shortcut": optional [...], "input_shape": optional shape}``.

        Inner layers are built through the LAYERS registry, each with its own child generator of
        ``rng`` (the shortcut's after f's); with ``input_shape`` the shape flows through both
        paths, filling what each layer can infer (``in_channels`` ...).
        """
        allowed = ["layers", "shortcut"]
        unknown = sorted(set(config) - {"type", "input_shape", *allowed})
        if unknown:
            raise ValueError(f"Residual: unknown argument '{unknown[0]}'{did_you_mean(unknown[0], allowed)}; "
                             "expected: layers, shortcut")
        rng = as_rng(rng)
        shape = config.get("input_shape")
        layers, _ = build_layers(config.get("layers"), shape, rng, where="Residual, inner ")
        shortcut = None
        if config.get("shortcut") is not None:
            shortcut, _ = build_layers(config["shortcut"], shape, rng, where="Residual, shortcut ")
        return cls(*layers, shortcut=shortcut)

    # ------------------------------------------------------------------ display
    def summary_text(self) -> str:
        """The block's own row in ``Sequential.summary``; its paths follow as rows of their own."""
        def count(layers):
            return f"{len(layers)} layer{'s' if len(layers) != 1 else ''}"

        short = "identity shortcut" if self.shortcut is None else f"shortcut: {count(self.shortcut)}"
        return f"Residual(f: {count(self.layers)}, {short})"

    def summary_rows(self, input_shape, prefix: str, depth: int = 1) -> list[tuple]:
        """One summary row per layer of f, then per layer of the shortcut (tagged ``shortcut:``)."""
        rows = summary_rows(self.layers, input_shape, prefix, depth=depth)
        if self.shortcut is not None:
            rows += summary_rows(self.shortcut, input_shape, prefix, len(self.layers), "shortcut: ", depth)
        return rows

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        if self.shortcut is None:
            return f"Residual({inner})"
        return f"Residual({inner}, shortcut=[{', '.join(repr(layer) for layer in self.shortcut)}])"
