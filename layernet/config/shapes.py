"""``check_model_shapes``: does the layer stack fit the data, before any training starts?"""

from __future__ import annotations

from .._validation import format_shape
from ..registry import LAYERS
from .errors import ConfigError, Locator
from .schema import RunConfig


def check_model_shapes(config, input_shape, num_classes: int | None = None, label_shape: tuple = ()) -> tuple:
    """Walk the per-sample ``input_shape`` through the model's layers; return the output shape.

    ``config`` is a ``RunConfig``, a resolved run-config dict, a ``{"layers": [...]}`` dict or the
    list of layers. Each layer is built from its config the way ``Sequential.from_config`` builds
    it (``infer_config`` fills ``in_features``/``in_channels``/``num_features`` from the shape
    flowing in, then ``from_config``, then ``output_shape``). The first layer that does not fit
    raises a one-line ``ConfigError``::

        run.yaml:21: model.layers[4] (affine): does not fit its input (None, 16, 4, 4) after
        layer 3 (maxpool2d): ...

    With ``num_classes``, the output must be one score per class, ``(num_classes,)``, or per label when
    an example has several (``label_shape`` (T,) for a class per step: ``(T, num_classes)``).
    """
    if isinstance(config, RunConfig):
        locator = config._locator or Locator("<config>")
        config = config.model_dump()
    else:
        locator = Locator("<config>")
    if isinstance(config, dict):
        config = config.get("model", config)
    layers = config["layers"] if isinstance(config, dict) else config
    shape = tuple(int(s) for s in input_shape)
    for index, entry in enumerate(layers):
        path = ("model", "layers", index)
        kind = entry.get("type")
        try:
            cls = LAYERS.get(kind)
            layer = cls.from_config(cls.infer_config(entry, shape))
            out = layer.output_shape(shape)
        except ValueError as err:
            after = f" after layer {index - 1} ({layers[index - 1].get('type')})" if index else ""
            raise ConfigError([
                f"{locator.where(path)}: model.layers[{index}] ({kind}): does not fit its input "
                f"{format_shape((None, *shape))}{after}: {err}"
            ]) from None
        shape = tuple(out)
    expected = (*(int(s) for s in label_shape), int(num_classes)) if num_classes is not None else None
    if num_classes is not None and shape != expected:
        last = len(layers) - 1
        raise ConfigError([
            f"{locator.where(('model', 'layers', last))}: model.layers[{last}] ({layers[last].get('type')}): "
            f"expected the model to output {format_shape((None, *expected))}, one score per class of the data"
            f"{' at every step' if label_shape else ''}, "
            f"found {format_shape((None, *shape))}"
        ])
    return shape


def check_augment(config, input_shape) -> None:
    """``data.augment`` fits the data: image examples (C, H, W), a cutout no larger than the image.

    ``config`` is a ``RunConfig``; a problem raises a one-line ``ConfigError`` naming the file:line
    of the offending ``data.augment`` entry.
    """
    from ..data.augment import Augment

    if not isinstance(config, RunConfig) or config.data.augment is None:
        return
    locator = config._locator or Locator("<config>")
    augment = Augment.from_config(config.data.augment.model_dump())
    if augment is None:
        return
    keys = {"cutout": ("cutout", "size"), "": ()}  # the key that holds the offending value
    problems = [(("data", "augment", *keys.get(option, (option,))), text)
                for option, text in augment.problems(tuple(int(s) for s in input_shape))]
    if problems:
        raise ConfigError(locator.message(problems))
