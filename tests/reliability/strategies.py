"""Hypothesis strategies: random small, valid layer stacks with their expected shapes.

A stack is drawn layer by layer from the per-sample shape flowing through it, with random valid
hyperparameters, and the expected output shape of every layer is computed here, independently of
the layers' own ``output_shape`` (so a wrong formula in a layer shows up as a disagreement).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

SMOOTH_ACTIVATIONS = ("tanh", "sigmoid")
KINKED_ACTIVATIONS = ("relu", "leaky_relu")


@dataclass
class Stack:
    input_shape: tuple
    layers: list = field(default_factory=list)  # layer config dicts
    shapes: list = field(default_factory=list)  # expected per-sample output shape of each layer

    @property
    def output_shape(self):
        return self.shapes[-1] if self.shapes else self.input_shape


def _conv_out(size, k, s, p):
    return (size + 2 * p - k) // s + 1


@st.composite
def _activation(draw, kinks):
    name = draw(st.sampled_from(SMOOTH_ACTIVATIONS + (KINKED_ACTIVATIONS if kinks else ())))
    config = {"type": name}
    if name == "leaky_relu" and draw(st.booleans()):
        config["negative_slope"] = draw(st.sampled_from([0.0, 0.01, 0.2]))
    return config


@st.composite
def _maybe(draw, config, key, value):
    """Give an argument the data could infer explicitly half of the time."""
    if draw(st.booleans()):
        config[key] = value
    return config


@st.composite
def _spatial_layer(draw, shape, kinks, allow_bn, allow_residual=True):
    c, h, w = shape
    choices = ["conv2d", "avgpool2d", "activation", "dropout", "flatten"]
    if kinks:
        choices.append("maxpool2d")
    if allow_bn:
        choices.append("batchnorm")
    if allow_residual:
        choices.append("residual")
    kind = draw(st.sampled_from(choices))
    if kind == "conv2d":
        f = draw(st.integers(1, 3))
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
        kh, kw = min(kh, h + 2 * ph), min(kw, w + 2 * pw)
        sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        square = kh == kw and sh == sw and ph == pw and draw(st.booleans())
        config = {"type": "conv2d", "out_channels": f,
                  "kernel_size": kh if square else [kh, kw],
                  "stride": sh if square else [sh, sw],
                  "padding": ph if square else [ph, pw]}
        config = draw(_maybe(config, "in_channels", c))
        return config, (f, _conv_out(h, kh, sh, ph), _conv_out(w, kw, sw, pw))
    if kind in ("avgpool2d", "maxpool2d"):
        kh, kw = draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w)))
        config = {"type": kind, "kernel_size": [kh, kw]}
        if draw(st.booleans()):
            sh, sw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
            config["stride"] = [sh, sw]
        else:
            sh, sw = kh, kw
        return config, (c, _conv_out(h, kh, sh, 0), _conv_out(w, kw, sw, 0))
    if kind == "batchnorm":
        return draw(_maybe({"type": "batchnorm", "momentum": 0.9}, "num_features", c)), shape
    if kind == "activation":
        return draw(_activation(kinks)), shape
    if kind == "dropout":
        return {"type": "dropout", "p": draw(st.sampled_from([0.0, 0.25, 0.5]))}, shape
    if kind == "flatten":
        return {"type": "flatten"}, (c * h * w,)
    # residual: a shape-keeping branch
    k = draw(st.sampled_from([1, 3]))
    inner = [{"type": "conv2d", "out_channels": c, "kernel_size": k, "padding": k // 2}, draw(_activation(kinks))]
    return {"type": "residual", "layers": inner}, shape


@st.composite
def _flat_layer(draw, shape, kinks, allow_bn):
    (d,) = shape
    choices = ["affine", "activation", "dropout", "flatten", "residual"]
    if allow_bn:
        choices.append("batchnorm")
    kind = draw(st.sampled_from(choices))
    if kind == "affine":
        out = draw(st.integers(1, 6))
        return draw(_maybe({"type": "affine", "out_features": out}, "in_features", d)), (out,)
    if kind == "batchnorm":
        return draw(_maybe({"type": "batchnorm"}, "num_features", d)), shape
    if kind == "activation":
        return draw(_activation(kinks)), shape
    if kind == "dropout":
        return {"type": "dropout", "p": draw(st.sampled_from([0.0, 0.25, 0.5]))}, shape
    if kind == "flatten":
        return {"type": "flatten"}, shape
    inner = [{"type": "affine", "out_features": d}, draw(_activation(kinks))]
    return {"type": "residual", "layers": inner}, shape


@st.composite
def stacks(draw, kinks=True, max_layers=4, classes=(2, 4), max_hw=6):
    """A random ``Stack``: an input shape, 1..max_layers random layers, then a classifier head.

    ``kinks=False`` leaves out ReLU, LeakyReLU and max pooling (for gradient checks without
    kinks). Batch norm is placed only first or right after a nonlinearity, so no bias sits
    directly before it (that bias would have an exactly-zero gradient that finite differences
    only see as rounding noise).
    """
    if draw(st.booleans()):
        shape = (draw(st.integers(1, 3)), draw(st.integers(2, max_hw)), draw(st.integers(2, max_hw)))
    else:
        shape = (draw(st.integers(2, 6)),)
    stack = Stack(input_shape=shape)
    nonlinear = {"tanh", "sigmoid", "relu", "leaky_relu"}
    for _ in range(draw(st.integers(1, max_layers))):
        allow_bn = not stack.layers or stack.layers[-1]["type"] in nonlinear
        if len(shape) == 3:
            config, shape = draw(_spatial_layer(shape, kinks, allow_bn))
        else:
            config, shape = draw(_flat_layer(shape, kinks, allow_bn))
        stack.layers.append(config)
        stack.shapes.append(shape)
    if len(shape) != 1:
        stack.layers.append({"type": "flatten"})
        shape = (shape[0] * shape[1] * shape[2],)
        stack.shapes.append(shape)
    num_classes = draw(st.integers(*classes))
    stack.layers.append({"type": "affine", "out_features": num_classes})
    stack.shapes.append((num_classes,))
    return stack
