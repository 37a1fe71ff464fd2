"""Chains of layers: built from config dicts and run inside containers (Sequential, Residual, Concat)."""

from __future__ import annotations

from .._validation import format_shape
from ..init import as_rng
from ..registry import LAYERS


def build_layers(configs, input_shape=None, rng=None, where: str = ""):
    """Build layers from a list of ``{"type": ..., ...}`` dicts; returns ``(layers, output_shape)``.

    With a per-sample ``input_shape``, arguments the data decides (``in_features``,
    ``in_channels``, ``num_features``) may be left out: each layer's ``infer_config`` fills them
    from the shape flowing out of the previous layer, and every layer's fit is checked before any
    data flows (``output_shape`` is then the per-sample output shape, else None). ``rng`` (None,
    an int seed or a Generator) is split into one child generator per layer, so a seed fixes
    every initial weight. ``where`` prefixes error messages ("Residual, inner ").
    """
    if not isinstance(configs, (list, tuple)) or not configs:
        raise ValueError(f"{where}layers: expected a non-empty list of layer dicts, found {configs!r}")
    shape = None if input_shape is None else tuple(int(s) for s in input_shape)
    layers = []
    for index, (config, generator) in enumerate(zip(configs, as_rng(rng).spawn(len(configs)))):
        if not isinstance(config, dict) or "type" not in config:
            raise ValueError(f"{where}layer {index}: expected a dict with a 'type' key, found {config!r}")
        kind = config["type"]
        try:
            layer_cls = LAYERS.get(kind)
            layer = layer_cls.from_config(layer_cls.infer_config(config, shape), rng=generator)
        except ValueError as err:
            raise ValueError(f"{where}layer {index} ({kind}): {err}") from None
        if shape is not None:
            try:
                shape = layer.output_shape(shape)
            except ValueError as err:
                after = f" after layer {index - 1} ({configs[index - 1]['type']})" if index else ""
                raise ValueError(
                    f"{where}layer {index} ({kind}) does not fit its input {format_shape((None, *shape))}{after}: {err}"
                ) from None
        layers.append(layer)
    return layers, shape


# ---------------------------------------------------------------------- running a chain inside a container
def check_layer_list(owner: str, what: str, layers, example: str) -> list:
    """``layers`` as a list of Layer objects; ValueError/TypeError naming ``owner`` otherwise."""
    from .base import Layer

    if not layers:
        raise ValueError(f"{owner}: expected at least one layer{'' if what == 'layers' else ' in ' + what}, "
                         f"{example}; received none")
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            item = f"argument {index}" if what == "layers" else f"{what} item {index}"
            raise TypeError(f"{owner}: {item} must be a Layer (e.g. Affine(4, 4)), "
                            f"found {type(layer).__name__}")
    return list(layers)


def run_forward(layers, x, training: bool, where: str):
    """Apply ``layers`` in order; a ValueError is re-raised naming the inner layer (``where`` index)."""
    for index, layer in enumerate(layers):
        try:
            x = layer.forward(x, training=training)
        except ValueError as err:
            raise ValueError(f"{where} {index} {layer!r}: {err}") from None
    return x


def run_backward(layers, dout):
    """Backpropagate ``dout`` through ``layers`` in reverse order; returns the chain's input gradient."""
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


def walk_shape(layers, input_shape, where: str) -> tuple:
    """The per-sample output shape of a chain; a misfit is re-raised naming the inner layer."""
    shape = tuple(input_shape)
    for index, layer in enumerate(layers):
        try:
            shape = tuple(layer.output_shape(shape))
        except ValueError as err:
            raise ValueError(f"{where} {index} {layer!r}: {err}") from None
    return shape


def summary_rows(layers, input_shape, prefix: str, start: int = 0, tag: str = "", depth: int = 1) -> list[tuple]:
    """Rows ``(name, layer text, output shape, params)`` of a chain inside a container, for ``summary``.

    Names continue the parameter names (``"3.0"``, ``"3.5"``); the text is indented by ``depth`` and
    starts with ``tag`` (``"shortcut: "``); nested containers add their own rows below theirs.
    """
    rows, shape = [], tuple(input_shape)
    for offset, layer in enumerate(layers):
        name = f"{prefix}{start + offset}"
        out = tuple(layer.output_shape(shape))
        text = layer.summary_text() if hasattr(layer, "summary_text") else repr(layer)
        rows.append((name, "  " * depth + tag + text, format_shape((None, *out)), f"{layer.num_params():,}"))
        if hasattr(layer, "summary_rows"):
            rows += layer.summary_rows(shape, f"{name}.", depth + 1)
        shape = out
    return rows


def chain_min_train_batch(layers, input_shape) -> int:
    """The largest ``min_train_batch`` of a chain's layers, each asked with its own input shape."""
    need, shape = 1, tuple(input_shape)
    for layer in layers:
        need = max(need, layer.min_train_batch(shape))
        shape = layer.output_shape(shape)
    return need


def with_input_shape(config: dict, input_shape) -> dict:
    """A container's config with its per-sample ``input_shape`` recorded (kept if already there), so
    ``from_config`` can walk the shape through the inner layers and fill what they infer."""
    config = dict(config)
    if input_shape is not None and config.get("input_shape") is None:
        config["input_shape"] = list(input_shape)
    return config
