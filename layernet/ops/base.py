"""The Op protocol: a gate of a computational graph, with its backward next to its forward.

An op is an object with two methods:

- ``out = op.forward(*inputs)`` computes the output and caches what the backward pass needs;
- ``grads = op.backward(dout)`` takes the upstream gradient dL/dout (out's shape) and returns a
  tuple with one gradient dL/d(input) per input, each of that input's shape and dtype.

The cache is consumed by ``backward`` (one backward per forward), so use one op object per node
of a circuit. Calling ``backward`` first raises a RuntimeError that says so.

Inputs are numbers or numpy arrays. Floating arrays keep their dtype (float32 stays float32);
Python numbers and integer arrays are computed in float64 (or in the floating dtype of the
other inputs), and their gradients come back in that computation dtype. Booleans, complex
numbers, strings and objects raise a TypeError naming the op.

Broadcasting (numpy's rules): if an input of shape (D,) is broadcast to (N, D) in the forward
pass, each of its elements was used N times, so its gradient is the sum of the N upstream
gradients. ``unbroadcast(grad, shape)`` does that sum for every op here.
"""

from __future__ import annotations

import numbers

import numpy as np


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it gets ``shape``.

    Shapes: grad (broadcast shape), e.g. (N, D) -> result ``shape``, e.g. (D,) or (1, D) or ().
    Leading axes that ``shape`` lacks are summed away; axes where ``shape`` has size 1 and
    ``grad`` does not are summed with ``keepdims``. Why: a value copied k times in the forward
    pass receives the sum of the k gradients of its copies (the branch rule).
    """
    shape = tuple(shape)
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"unbroadcast: gradient of shape {grad.shape} has fewer axes than {shape}")
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:
        raise ValueError(f"unbroadcast: shape {shape} does not broadcast to {grad.shape}")
    return grad


class Op:
    """Base class of every op; see the module docstring for the protocol.

    Subclasses implement ``forward`` and ``backward`` and list in ``_args`` the attributes that
    ``repr`` shows (``Max(axis=1, keepdims=False)``); ``_quiet`` holds defaults left out of it.
    """

    _args: tuple[str, ...] = ()
    _quiet: dict = {}

    def __init__(self):
        self._cache = None

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, *inputs):
        return self.forward(*inputs)

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        parts = [
            f"{key}={getattr(self, key)!r}"
            for key in self._args
            if not (key in self._quiet and getattr(self, key) == self._quiet[key])
        ]
        return f"{self.name}({', '.join(parts)})"

    # ------------------------------------------------------------------ helpers for subclasses
    def prepare(self, *inputs, count: int) -> tuple[list[np.ndarray], list[np.dtype]]:
        """Check the number and kind of inputs; return them as arrays of one floating dtype.

        Returns ``(arrays, grad_dtypes)``: the inputs converted to the computation dtype, and
        the dtype each input's gradient must have (its own floating dtype, else the
        computation dtype).
        """
        if len(inputs) != count:
            raise TypeError(f"{self.name}.forward takes {count} input(s), received {len(inputs)}")
        for index, x in enumerate(inputs):
            _check_numeric(self.name, index, x)
        inputs = [x if isinstance(x, (numbers.Real, np.ndarray)) else np.asarray(x) for x in inputs]
        dtype = np.result_type(*inputs)  # Python numbers are "weak": float32 + 2.0 stays float32
        if not np.issubdtype(dtype, np.floating):
            dtype = np.dtype(np.float64)
        arrays = [np.asarray(x, dtype=dtype) for x in inputs]
        grad_dtypes = [_own_float_dtype(x) or dtype for x in inputs]
        return arrays, grad_dtypes

    def save_cache(self, *items):
        self._cache = items

    def pop_cache(self):
        """Return and clear what forward cached; a clear error if there is nothing."""
        if self._cache is None:
            raise RuntimeError(
                f"{self.name}.backward called before forward (or twice after one forward); call forward first"
            )
        cache, self._cache = self._cache, None
        return cache

    def check_dout(self, dout, shape: tuple, dtype) -> np.ndarray:
        """``dout`` as an array of the output's ``shape`` and the computation ``dtype``."""
        _check_numeric(f"{self.name}.backward", 0, dout, what="dout")
        dout = np.asarray(dout, dtype=dtype)
        if dout.shape != tuple(shape):
            raise ValueError(f"{self.name}.backward: dout has shape {dout.shape}, expected the output's shape {tuple(shape)}")
        return dout

    def broadcast_shapes(self, a: tuple, b: tuple) -> tuple:
        """numpy's broadcast shape of ``a`` and ``b``; ValueError naming the op and both shapes."""
        try:
            return np.broadcast_shapes(a, b)
        except ValueError:
            raise ValueError(
                f"{self.name}: shapes {a} and {b} do not broadcast (trailing axes must be equal or 1)"
            ) from None


class UnaryOp(Op):
    """An op of one array. Subclasses write the math as two methods side by side:

    - ``_forward(x) -> out``;
    - ``_backward(dout, x, out) -> dx`` (dout has out's shape; dx any shape that sums or
      reshapes to x's, see each op).

    ``forward``/``backward`` here do the checks, the caching and the dtype bookkeeping.
    """

    def forward(self, *inputs):
        (x,), grad_dtypes = self.prepare(*inputs, count=1)
        out = np.asarray(self._forward(x))
        self.save_cache(x, out, grad_dtypes[0])
        return out

    def backward(self, dout):
        x, out, grad_dtype = self.pop_cache()
        dout = self.check_dout(dout, out.shape, out.dtype)
        dx = np.asarray(self._backward(dout, x, out))
        return (np.array(dx, dtype=grad_dtype),)  # a fresh array, never a view of dout

    def _forward(self, x):
        raise NotImplementedError

    def _backward(self, dout, x, out):
        raise NotImplementedError


class BinaryOp(Op):
    """An elementwise op of two arrays under numpy broadcasting.

    Subclasses write ``_forward(a, b) -> out`` and ``_backward(dout, a, b, out) -> (da, db)``
    with da and db of the broadcast shape; ``backward`` then sums each over the axes that
    broadcasting stretched (``unbroadcast``) so that da has a's shape and db has b's.
    """

    def forward(self, *inputs):
        (a, b), grad_dtypes = self.prepare(*inputs, count=2)
        self.broadcast_shapes(a.shape, b.shape)
        out = np.asarray(self._forward(a, b))
        self.save_cache(a, b, out, grad_dtypes)
        return out

    def backward(self, dout):
        a, b, out, grad_dtypes = self.pop_cache()
        dout = self.check_dout(dout, out.shape, out.dtype)
        grads = self._backward(dout, a, b, out)
        return tuple(
            np.array(unbroadcast(np.broadcast_to(g, out.shape), x.shape), dtype=dtype)  # a fresh array
            for g, x, dtype in zip(grads, (a, b), grad_dtypes)
        )

    def _forward(self, a, b):
        raise NotImplementedError

    def _backward(self, dout, a, b, out):
        raise NotImplementedError


def _own_float_dtype(x):
    """The dtype of ``x`` if it is a floating numpy array or numpy scalar, else None."""
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and np.issubdtype(dtype, np.floating) else None


def _check_numeric(owner: str, index: int, x, what: str | None = None) -> None:
    """TypeError naming ``owner`` unless ``x`` is a real number or an int/float array."""
    what = what or f"input {index}"
    if isinstance(x, bool) or (isinstance(x, numbers.Number) and not isinstance(x, numbers.Real)):
        raise TypeError(f"{owner}: {what} must be a real number or a numeric array, received {x!r}")
    if isinstance(x, numbers.Real):
        return
    try:
        dtype = np.asarray(x).dtype
    except (ValueError, TypeError):  # ragged nested lists
        raise TypeError(f"{owner}: {what} must be a real number or a numeric array, received {type(x).__name__}") from None
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)) or dtype == np.bool_:
        raise TypeError(f"{owner}: {what} must be a real number or a numeric array, received dtype {dtype}")
