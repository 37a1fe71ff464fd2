"""The layer protocol shared by every layer.

A layer holds

- ``params``: ``dict[str, np.ndarray]`` of trainable arrays. Assigning a new array of the same
  shape into ``layer.params[name]`` is allowed; the next forward uses it.
- ``grads``: the same keys, filled by ``backward`` (arrays of each parameter's shape and dtype).
- ``buffers``: non-trainable state saved with the model (batch norm's running statistics).
- ``decayed`` (class attribute): the names of its own parameters that weight decay applies to.

and implements

- ``forward(x, training=False) -> out``: computes the output and caches what backward needs.
- ``backward(dout) -> dx``: the gradient w.r.t. the input of the last forward (x's shape and
  dtype); fills ``grads``. The cache is consumed: one backward per forward.
- ``layer(x, training=False)``: ``forward`` for arrays; on a ``layernet.autograd.Tensor`` it
  records a graph node whose backward is this layer's ``backward``.
- ``output_shape(input_shape) -> shape``: per-sample shapes (no batch axis), used by
  ``Sequential.summary`` and configs to check a stack before any data flows.
- ``min_train_batch(input_shape) -> int``: the smallest batch ``forward(training=True)`` accepts
  (1 unless overridden), so the trainer can refuse a last batch that is too small up front.

Configuration: the constructor's arguments are stored as attributes of the same names, so
``get_config()`` (the dict that rebuilds the layer, with its registered ``"type"``) and
``repr()`` (the constructor call) are derived in one place from the ``__init__`` signature.
Containers (``Residual``) list their sub-layers in ``children()``; Sequential walks them.
"""

from __future__ import annotations

import inspect

import numpy as np

from .._validation import check_input, compute_dtype, format_shape


class Layer:
    """Base class of every layer; see the module docstring for the protocol."""

    type_name: str = ""
    #: False when nothing needs dx (the first layer of a trained model): layers that can, then
    #: skip computing it and their backward returns None. ``Sequential.backward(dout,
    #: input_grad=False)`` sets it for the duration of one backward pass.
    needs_input_grad: bool = True
    #: Constructor arguments shown positionally in ``repr`` (the rest as ``key=value``).
    _positional: tuple[str, ...] = ()
    #: Constructor arguments that are not part of the configuration.
    _not_config: tuple[str, ...] = ("rng",)
    #: Config keys that ``infer_config`` can fill from the input shape (``in_features`` ...).
    inferred_args: tuple[str, ...] = ()
    #: The layer's own parameters that weight decay applies to: the weights of a linear map
    #: (Affine's and Conv2d's ``W``), not biases nor normalisation's ``gamma``/``beta`` (decaying
    #: an offset or a scale only pulls the output towards 0 and fights the normalisation).
    decayed: tuple[str, ...] = ()

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._cache = None

    # ----------------------------------------------------------------- protocol
    def forward(self, x, training: bool = False):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x, training: bool = False):
        """``forward(x, training)``; on an autograd ``Tensor``, a recorded node (see ``layernet.autograd``)."""
        if type(x) is not np.ndarray and getattr(x, "_autograd_tensor", False):
            from ..autograd.modules import call_layer  # the engine is imported only when it is used

            return call_layer(self, x, training)
        return self.forward(x, training=training)

    def output_shape(self, input_shape: tuple) -> tuple:
        """Per-sample output shape for a per-sample ``input_shape``; ValueError if it does not fit."""
        return tuple(input_shape)

    def children(self) -> list["Layer"]:
        """Sub-layers of a container layer (empty for ordinary layers)."""
        return []

    def min_train_batch(self, input_shape: tuple) -> int:
        """The fewest examples a training forward accepts for a per-sample ``input_shape`` (1 here;
        batch norm on (N, D) needs 2 to compute a variance). The trainer asks before the first step."""
        return 1

    def decayed_names(self, prefix: str = "") -> list[str]:
        """The parameters weight decay applies to: this layer's own (``decayed``), then each
        child's, named as Sequential names parameters (``prefix + "W"``, ``prefix + "0.W"``)."""
        names = [prefix + key for key in self.decayed if key in self.params]
        for index, child in enumerate(self.children()):
            names += child.decayed_names(f"{prefix}{index}.")
        return names

    # ----------------------------------------------------------------- helpers for subclasses
    @property
    def name(self) -> str:
        return type(self).__name__

    def check_input(self, x, *, ndim=None, expected: str | None = None) -> np.ndarray:
        """``_validation.check_input`` with this layer's name in the message."""
        return check_input(self.name, x, ndim=ndim, expected=expected)

    def compute_dtype(self, x: np.ndarray) -> np.dtype:
        """The dtype of this forward: numpy promotion of x's dtype and the parameters' dtypes."""
        return compute_dtype(x, self.params)

    def check_param_shapes(self):
        """Refuse a parameter that was replaced by an array of another shape."""
        for key, value in self.params.items():
            expected = self._param_shapes.get(key)
            if expected is not None and tuple(np.shape(value)) != expected:
                raise ValueError(
                    f"{self.name}: parameter '{key}' must have shape {expected}, found {np.shape(value)}"
                )

    def init_param(self, key: str, value: np.ndarray):
        """Create a parameter (and its zero gradient) whose shape is fixed from now on."""
        if not hasattr(self, "_param_shapes"):
            self._param_shapes = {}
        self._param_shapes[key] = tuple(value.shape)
        self.params[key] = value
        self.grads[key] = np.zeros_like(value)

    def set_grad(self, key: str, value: np.ndarray):
        """Store a gradient in the dtype of its parameter."""
        self.grads[key] = np.asarray(value, dtype=self.params[key].dtype)

    def save_cache(self, *items):
        self._cache = items if len(items) != 1 else items[0]

    def pop_cache(self):
        """Return and clear what forward cached; a clear error if there is nothing."""
        if self._cache is None:
            raise RuntimeError(
                f"{self.name}.backward called before forward (or twice after one forward); "
                "call forward first"
            )
        cache, self._cache = self._cache, None
        return cache

    def check_dout(self, dout, shape: tuple, dtype) -> np.ndarray:
        """Return ``dout`` as an array of ``dtype``; ValueError naming the layer unless it has ``shape``."""
        dout = np.asarray(dout)
        if dout.shape != tuple(shape):
            raise ValueError(
                f"{self.name}.backward: expected dout of the output's shape {tuple(shape)}, found {dout.shape}"
            )
        return dout.astype(dtype, copy=False)

    def fail_shape(self, expected: str, found) -> ValueError:
        """The standard shape error: layer, expected and found."""
        found = format_shape(found) if isinstance(found, tuple) else found
        return ValueError(f"{self!r}: expected input of shape {expected}, found {found}")

    # ----------------------------------------------------------------- state
    def zero_grad(self):
        for key, p in self.params.items():
            self.grads[key] = np.zeros_like(p)
        for child in self.children():
            child.zero_grad()

    def astype(self, dtype):
        """Convert parameters, gradients and buffers to ``dtype`` in place; returns self."""
        dtype = np.dtype(dtype)
        for store in (self.params, self.grads, self.buffers):
            for key, value in store.items():
                store[key] = value.astype(dtype)
        for child in self.children():
            child.astype(dtype)
        return self

    def num_params(self) -> int:
        own = sum(int(p.size) for p in self.params.values())
        return own + sum(child.num_params() for child in self.children())

    # ----------------------------------------------------------------- configuration
    @classmethod
    def _init_signature(cls):
        return [
            p
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_config(self) -> dict:
        """The dict that rebuilds this layer: ``{"type": "conv2d", "in_channels": 1, ...}``."""
        config = {"type": self.type_name}
        for p in self._init_signature():
            if p.name not in self._not_config:
                value = getattr(self, p.name)
                config[p.name] = list(value) if isinstance(value, tuple) else value
        return config

    @classmethod
    def infer_config(cls, config: dict, input_shape: tuple | None) -> dict:
        """Fill arguments the data decides (``in_features`` ...) from a per-sample input shape."""
        return dict(config)

    @classmethod
    def from_config(cls, config: dict, rng=None) -> "Layer":
        """Build the layer from ``get_config()`` output (the ``"type"`` key is ignored)."""
        kwargs = {k: v for k, v in config.items() if k != "type"}
        names = {p.name for p in cls._init_signature()}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            from ..registry import did_you_mean

            raise ValueError(
                f"{cls.__name__}: unknown argument '{unknown[0]}'{did_you_mean(unknown[0], names)}; "
                f"expected some of: {', '.join(sorted(names - set(cls._not_config)))}"
            )
        if "rng" in names and rng is not None:
            kwargs["rng"] = rng
        for key, value in kwargs.items():
            if isinstance(value, list):
                kwargs[key] = tuple(value)
        try:
            return cls(**kwargs)
        except TypeError as err:  # a missing required argument
            raise ValueError(f"{cls.__name__}: {err}") from None

    def __repr__(self) -> str:
        parts = []
        for p in self._init_signature():
            if p.name in self._not_config:
                continue
            value = getattr(self, p.name)
            if p.name in self._positional:
                parts.append(repr(value))
            elif p.kind == p.KEYWORD_ONLY and p.default is not p.empty and value == p.default:
                continue  # keyword-only options at their default stay out of the way
            else:
                parts.append(f"{p.name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"
