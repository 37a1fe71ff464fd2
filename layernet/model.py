"""``Sequential``: a chain of layers, with names for every parameter, a summary, and save/load.

Parameter names are ``"<index>.<key>"`` (``"0.W"``, ``"1.gamma"``); parameters of a container
layer's children add the child's index (``"2.0.W"`` for the first layer inside a Residual at
index 2). Buffers (batch norm's running statistics) are named the same way and travel with the
parameters in ``state_dict()`` and in saved files.

Shapes in ``summary`` and ``output_shape`` are per-sample (no batch axis), as Keras'
``input_shape``: ``model.summary((1, 28, 28))`` for MNIST images.
"""

from __future__ import annotations

import json

import numpy as np

from ._io import load_npz, save_npz_atomic
from ._validation import format_shape
from .layers.base import Layer
from .layers.stack import build_layers

#: Version of the saved-model file layout written by ``Sequential.save``.
FILE_FORMAT = 1


def _named(layer: Layer, prefix: str):
    """Yield ``(prefix, layer)`` and then every descendant with its dotted prefix."""
    yield prefix, layer
    for index, child in enumerate(layer.children()):
        yield from _named(child, f"{prefix}{index}.")


class Sequential:
    """A stack of layers applied in order: ``out = layers[-1](...layers[1](layers[0](x)))``.

    ``forward(x, training=False)`` runs the stack (the flag is passed explicitly to every layer);
    ``backward(dout)`` runs the layers' backward passes in reverse and returns dx.
    """

    def __init__(self, layers):
        layers = list(layers)
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Sequential: item {index} must be a Layer (e.g. Affine(4, 3)), found {type(layer).__name__}"
                )
        self.layers: list[Layer] = layers

    # ------------------------------------------------------------------ running
    def forward(self, x, training: bool = False):
        """Run every layer on ``x``. A ValueError from layer i names it (``layer i Layer(...): ...``);
        only when layer i's ``output_shape`` refuses its input's shape (a real shape mismatch) is it
        reported as not fitting the output of layer i - 1."""
        for index, layer in enumerate(self.layers):
            try:
                x = layer.forward(x, training=training)
            except ValueError as err:
                shape = getattr(x, "shape", None)
                if index > 0 and shape is not None and self._fits(layer, shape[1:]):
                    message = str(err)  # most layers' messages start with their name already
                    named = message.startswith((repr(layer), layer.name))
                    raise ValueError(f"layer {index} {message}" if named else f"layer {index} {layer!r}: {message}") from None
                raise ValueError(self._mismatch_message(index, err, shape)) from None
        return x

    @staticmethod
    def _fits(layer, sample_shape) -> bool:
        try:
            layer.output_shape(tuple(sample_shape))
        except ValueError:
            return False
        return True

    def min_train_batch(self, input_shape) -> tuple[int, int | None]:
        """``(n, index)``: the fewest examples a training step accepts for a per-sample
        ``input_shape``, and the index of the first layer that needs that many (None when n is 1)."""
        need, where, shape = 1, None, tuple(input_shape)
        for index, layer in enumerate(self.layers):
            n = layer.min_train_batch(shape)
            if n > need:
                need, where = n, index
            shape = layer.output_shape(shape)
        return need, where

    def backward(self, dout, input_grad: bool = True):
        """Backpropagate ``dout`` (the gradient of the loss w.r.t. the output); returns dx.

        With ``input_grad=False`` (training: nothing needs dx) the layers in front of the first
        layer with parameters are skipped, that layer is asked not to compute its dx, and the
        result is None. Every parameter gradient is the same either way.
        """
        first = 0 if input_grad else self._first_trainable()
        head = self.layers[first]
        saved, head.needs_input_grad = head.needs_input_grad, head.needs_input_grad and input_grad
        try:
            for layer in reversed(self.layers[first:]):
                dout = layer.backward(dout)
        finally:
            head.needs_input_grad = saved
        if first:  # the skipped layers' forward caches are not needed any more
            for layer in self.layers[:first]:
                layer._cache = None
        return dout if input_grad else None

    def _first_trainable(self) -> int:
        return next((i for i, layer in enumerate(self.layers) if layer.num_params()), 0)

    def __call__(self, x, training: bool = False):
        """``forward(x, training)``; on an autograd ``Tensor``, one recorded node per layer."""
        if type(x) is not np.ndarray and getattr(x, "_autograd_tensor", False):
            from .autograd.modules import call_sequential  # the engine is imported only when it is used

            return call_sequential(self, x, training)
        return self.forward(x, training=training)

    def predict(self, x, batch_size: int = 256) -> np.ndarray:
        """Scores for ``x`` in eval mode, computed ``batch_size`` examples at a time."""
        x = np.asarray(x)
        if x.shape[0] == 0:
            raise ValueError("Sequential.predict: x has no examples")
        outputs = [self.forward(x[i : i + batch_size], training=False) for i in range(0, x.shape[0], batch_size)]
        for layer in self.layers:  # predict needs no backward: do not keep the last batch's caches
            for _, sub in _named(layer, ""):
                sub._cache = None
        return np.concatenate(outputs, axis=0)

    def _mismatch_message(self, index: int, err: Exception, shape) -> str:
        layer = self.layers[index]
        if index == 0:
            return f"layer 0 {layer!r}: {err}"
        previous = self.layers[index - 1]
        given = f", shape {format_shape((None, *shape[1:]))}" if shape is not None else ""
        return (
            f"layer {index} {layer!r} does not fit the output of layer {index - 1} {previous!r}{given}: {err}"
        )

    # ------------------------------------------------------------------ parameters
    def named_layers(self):
        """Yield ``(prefix, layer)`` for every layer and nested child, prefixes like ``"2.0."``."""
        for index, layer in enumerate(self.layers):
            yield from _named(layer, f"{index}.")

    def parameters(self):
        """Yield ``(name, param, grad)`` for every trainable array, e.g. ``("0.W", W, dW)``."""
        for prefix, layer in self.named_layers():
            for key, param in layer.params.items():
                yield prefix + key, param, layer.grads.get(key)

    def decayed_names(self) -> set[str]:
        """Names of the parameters weight decay applies to, as each layer declares them
        (``Layer.decayed``, containers asking their children): e.g. ``{"0.W", "2.0.W"}``."""
        return {name for index, layer in enumerate(self.layers) for name in layer.decayed_names(f"{index}.")}

    def buffers(self):
        """Yield ``(name, buffer)`` for every non-trainable state array, e.g. ``("1.running_mean", ...)``."""
        for prefix, layer in self.named_layers():
            for key, buffer in layer.buffers.items():
                yield prefix + key, buffer

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def astype(self, dtype):
        """Convert every parameter, gradient and buffer to ``dtype`` (e.g. float64 for gradient checks)."""
        for layer in self.layers:
            layer.astype(dtype)
        return self

    def num_params(self) -> int:
        return sum(int(p.size) for _, p, _ in self.parameters())

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer by name (``"0.W"``, ``"1.running_var"``)."""
        state = {name: param.copy() for name, param, _ in self.parameters()}
        state.update({name: buffer.copy() for name, buffer in self.buffers()})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays from ``state`` into the parameters and buffers, checking names and shapes.

        Raises ValueError naming the first missing, unexpected or mismatching array (with both
        shapes); nothing is changed unless everything matches. Values are cast to the model's dtype.
        """
        targets = {}
        for prefix, layer in self.named_layers():
            for store in (layer.params, layer.buffers):
                for key in store:
                    targets[prefix + key] = (store, key)
        for name, (store, key) in targets.items():
            if name not in state:
                raise ValueError(f"state has no array '{name}' (the model expects shape {store[key].shape})")
            found = np.shape(state[name])
            if found != store[key].shape:
                raise ValueError(
                    f"parameter '{name}': the model expects shape {store[key].shape}, the state has {found}"
                )
        unexpected = sorted(set(state) - set(targets))
        if unexpected:
            raise ValueError(f"state has an array the model does not: '{unexpected[0]}'")
        for name, (store, key) in targets.items():
            store[key] = np.array(state[name], dtype=store[key].dtype)

    def random_state(self) -> dict[str, str]:
        """JSON text of each layer's random generator state (dropout masks), by layer prefix."""
        states = {}
        for prefix, layer in self.named_layers():
            rng = getattr(layer, "rng", None)
            if isinstance(rng, np.random.Generator):
                states[prefix.rstrip(".")] = json.dumps(rng.bit_generator.state)
        return states

    def set_random_state(self, states: dict[str, str]) -> None:
        """Restore what ``random_state()`` returned, so dropout masks continue identically."""
        for prefix, layer in self.named_layers():
            key = prefix.rstrip(".")
            if key in states and isinstance(getattr(layer, "rng", None), np.random.Generator):
                layer.rng.bit_generator.state = json.loads(str(states[key]))

    # ------------------------------------------------------------------ configuration
    def get_config(self) -> dict:
        """``{"layers": [layer.get_config(), ...]}``: plain dicts that rebuild the architecture."""
        return {"layers": [layer.get_config() for layer in self.layers]}

    @classmethod
    def from_config(cls, config, input_shape=None, rng=None) -> "Sequential":
        """Build a model from ``{"layers": [...]}`` (or the list itself).

        With a per-sample ``input_shape``, arguments the data decides (``in_features``,
        ``in_channels``, ``num_features``) may be left out and are inferred, and every layer's
        fit is checked before any data flows. ``rng`` (None, an int seed or a Generator) seeds
        the initialisers: each layer gets its own child generator, so a seed fixes the model.
        """
        layer_configs = config["layers"] if isinstance(config, dict) else config
        layers, _ = build_layers(layer_configs, input_shape, rng)
        return cls(layers)

    def output_shape(self, input_shape) -> tuple:
        """Per-sample output shape; ValueError naming both layers where consecutive layers do not fit."""
        shape = tuple(input_shape)
        for shape in self._layer_shapes(input_shape):
            pass
        return shape

    def _layer_shapes(self, input_shape):
        """Yield each layer's per-sample output shape in turn; a misfit names both layers."""
        shape = tuple(input_shape)
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.output_shape(shape)
            except ValueError as err:
                raise ValueError(self._mismatch_message(index, err, (None, *shape))) from None
            yield shape

    def summary(self, input_shape, print_fn=print) -> str:
        """A Keras-style table (index, layer, output shape, parameter count, totals); printed and returned.

        A container's inner layers (a residual block's two paths, concat's branches) follow its row,
        indented and numbered like their parameters (``3.0``, ``3.5``).

        ``input_shape`` is per-sample, e.g. ``(1, 28, 28)``; output shapes show the batch as None.
        """
        rows = [("#", "Layer", "Output shape", "Param #")]
        shape_in = tuple(input_shape)
        for index, (layer, shape) in enumerate(zip(self.layers, self._layer_shapes(input_shape))):
            text = layer.summary_text() if hasattr(layer, "summary_text") else repr(layer)
            rows.append((str(index), text, format_shape((None, *shape)), f"{layer.num_params():,}"))
            if hasattr(layer, "summary_rows"):  # containers (Residual, Concat): a row per inner layer
                rows += layer.summary_rows(shape_in, f"{index}.")
            shape_in = shape
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        rule = "-" * (sum(widths) + 6)

        def line(row):
            return f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}"

        total = self.num_params()
        buffers = sum(int(b.size) for _, b in self.buffers())
        lines = [
            f"Sequential, input {format_shape((None, *tuple(input_shape)))}",
            rule.replace("-", "="),
            line(rows[0]),
            rule,
            *(line(row) for row in rows[1:]),
            rule.replace("-", "="),
            f"Total params: {total:,}",
            f"Trainable params: {total:,}",
            f"Non-trainable values (buffers): {buffers:,}",
        ]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # ------------------------------------------------------------------ files
    def save(self, path) -> None:
        """Write one .npz holding the architecture (JSON) and every parameter and buffer, atomically."""
        arrays = {f"state/{name}": value for name, value in self.state_dict().items()}
        arrays["__config__"] = np.array(json.dumps(self.get_config()))
        arrays["__format__"] = np.array(FILE_FORMAT)
        save_npz_atomic(path, arrays)

    @classmethod
    def load(cls, path) -> "Sequential":
        """Rebuild a model written by ``save`` (read with ``allow_pickle=False``)."""
        arrays = load_npz(path)
        if "__config__" not in arrays:
            raise ValueError(f"{path}: not a layernet model file (no '__config__' entry)")
        try:
            model = cls.from_config(json.loads(str(arrays["__config__"])))
            model.load_state_dict({k[len("state/"):]: v for k, v in arrays.items() if k.startswith("state/")})
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        return model

    # ------------------------------------------------------------------ display
    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)" if inner else "Sequential()"
