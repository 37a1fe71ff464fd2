"""``Tensor``: an array that remembers the operation that made it, so ``backward`` can walk back.

    x = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)   # (1, 3), float64
    y = (x * 2 + 1).sum()                                # a size-1 Tensor
    y.backward()                                         # x.grad == [[2., 2., 2.]]

Data: ``np.asarray(data)``; a float dtype is kept (float32 stays float32); Python numbers and
lists of them become float64; an integer or boolean ndarray may be held but cannot require a
gradient. ``grad`` is None until a backward pass reaches the tensor, then an array of ``data``'s
shape and dtype; leaves accumulate it across passes (``t.grad = None`` or ``zero_grad`` resets),
other tensors keep it only after ``retain_grad()``. Every operator broadcasts as numpy does and
accepts Python numbers and arrays on either side; each records one node whose backward is a
``layernet.ops`` op's (see ``function.py``).
"""

from __future__ import annotations

import numpy as np

from .._validation import _is_int


class Tensor:
    """An array with an optional gradient and the history of how it was computed."""

    __slots__ = ("data", "grad", "requires_grad", "name", "_node", "_retain", "__weakref__")
    __array_ufunc__ = None  # ndarray (+, *, ...) Tensor defers to Tensor's reflected operators
    _autograd_tensor = True  # the duck-typed mark layers and losses look for

    def __init__(self, data, requires_grad=False, name=None):
        if isinstance(data, Tensor):
            data = data.data
        given_array = isinstance(data, (np.ndarray, np.generic))
        data = np.asarray(data)
        if data.dtype.kind not in "fiub":
            raise ValueError(f"Tensor: expected real numeric data (float, int or bool), found dtype {data.dtype}")
        if not given_array and data.dtype.kind in "iub":
            data = data.astype(np.float64)  # Python ints (and lists of them) become float64
        if requires_grad and data.dtype.kind != "f":
            raise ValueError(
                f"Tensor: requires_grad=True expected floating data, found dtype {data.dtype} (convert with .astype(np.float64))"
            )
        if name is not None and not isinstance(name, str):
            raise ValueError(f"Tensor: expected name to be a str or None, found {type(name).__name__}")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._node = None
        self._retain = False

    # ------------------------------------------------------------------ attributes
    shape = property(lambda self: self.data.shape, doc="The data's shape.")
    ndim = property(lambda self: self.data.ndim, doc="The data's number of axes.")
    dtype = property(lambda self: self.data.dtype, doc="The data's dtype.")
    size = property(lambda self: self.data.size, doc="The data's number of elements.")

    @property
    def is_leaf(self) -> bool:
        """True for a tensor not made by a recorded operation (an input or a parameter)."""
        return self._node is None

    @property
    def op(self):
        """The op object that made this tensor (None for a leaf)."""
        return None if self._node is None else self._node.op

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def __len__(self):
        return len(self.data)

    def __repr__(self) -> str:
        made = "leaf" if self._node is None else self._node.label
        value = f"{self.data.item()!r}, " if self.data.size == 1 else ""
        grad = ", requires_grad=True" if self.requires_grad else ""
        name = f", name={self.name!r}" if self.name is not None else ""
        return f"Tensor({value}shape={self.data.shape}, dtype={self.data.dtype}, op={made}{grad}{name})"

    # ------------------------------------------------------------------ graph
    def backward(self, grad=None, retain_graph=False):
        """Backpropagate from this tensor; see ``engine.backward``."""
        from .engine import backward

        backward(self, grad, retain_graph)

    def retain_grad(self):
        """Keep ``.grad`` on this non-leaf tensor in later backward passes."""
        self._retain = True
        return self

    def detach(self) -> "Tensor":
        """A tensor sharing this one's data, with no history and ``requires_grad=False``."""
        return _result(self.data, None)

    def to_dot(self) -> str:
        """The graph that produced this tensor as Graphviz DOT text (see ``graph.to_dot``)."""
        from .graph import to_dot

        return to_dot(self)

    # ------------------------------------------------------------------ operators
    # Elementwise ops keep no state between forward and backward in the engine (the node holds
    # the values), so one shared instance of each serves every node.
    def __add__(self, other): return _binary(_ADD, self, other)
    def __radd__(self, other): return _binary(_ADD, other, self)
    def __sub__(self, other): return _binary(_SUBTRACT, self, other)
    def __rsub__(self, other): return _binary(_SUBTRACT, other, self)
    def __mul__(self, other): return _binary(_MULTIPLY, self, other)
    def __rmul__(self, other): return _binary(_MULTIPLY, other, self)
    def __truediv__(self, other): return _binary(_DIVIDE, self, other)
    def __rtruediv__(self, other): return _binary(_DIVIDE, other, self)
    def __matmul__(self, other): return apply(MatMul(), self, other)
    def __rmatmul__(self, other): return apply(MatMul(), other, self)
    def __neg__(self): return _unary(_NEGATIVE, self)
    def __rpow__(self, other): return _binary(_POWER, other, self)

    def __pow__(self, other):
        """``t ** p``: ``ops.Pow(p)`` for a number p, ``ops.Power`` for an array or Tensor exponent."""
        if isinstance(other, (int, float, np.integer, np.floating)) and not isinstance(other, bool):
            key = (type(other), other)
            op = _POWS.get(key)
            if op is None:
                op = Pow(other)
                if len(_POWS) < 64:
                    _POWS[key] = op
            return _unary(op, self)
        return _binary(_POWER, self, other)

    # ------------------------------------------------------------------ methods
    def sum(self, axis=None, keepdims=False): return apply(Sum(axis, keepdims), self)
    def mean(self, axis=None, keepdims=False): return apply(Mean(axis, keepdims), self)

    def max(self, axis=None, keepdims=False):
        """Largest element over ``axis``; tied maxima share the gradient equally (``ops.Max``)."""
        return apply(Max(axis, keepdims), self)

    def reshape(self, *shape):
        """``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one entry may be -1."""
        return apply(Reshape(shape[0] if len(shape) == 1 else shape), self)

    def transpose(self, *axes):
        """No axes reverses them (``.T``); else a permutation, as ints or one tuple."""
        axes = axes[0] if len(axes) == 1 and not _is_int(axes[0]) else axes
        return apply(Transpose(tuple(axes) if axes else None), self)

    T = property(lambda self: self.transpose(), doc="The axes reversed (a matrix transposed).")

    def swapaxes(self, axis1, axis2): return apply(SwapAxes(axis1, axis2), self)
    def broadcast_to(self, shape): return apply(BroadcastTo(shape), self)
    def exp(self): return _unary(_EXP, self)
    def log(self): return _unary(_LOG, self)
    def sigmoid(self): return _unary(_SIGMOID, self)
    def tanh(self): return _unary(_TANH, self)
    def relu(self): return _unary(_RELU, self)

    def __getitem__(self, key):
        """Basic slices and integer/boolean arrays (``ops.Index``); repeated indices add up in backward."""
        if isinstance(key, tuple):
            key = tuple(k.data if type(k) is Tensor else k for k in key)
        elif type(key) is Tensor:
            key = key.data
        return apply(Index(key), self)


def _result(data, node) -> Tensor:
    """A Tensor made by an operation, without the checks of ``Tensor()`` (data is an array)."""
    t = object.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = node is not None
    t.name = None
    t._node = node
    t._retain = False
    return t


from ..ops import (Add, BroadcastTo, Divide, Exp, Index, Log, MatMul, Max, Mean,  # noqa: E402
                   Multiply, Negative, Pow, Power, ReLU, Reshape, Sigmoid, Subtract, Sum,
                   SwapAxes, Tanh, Transpose)
from .function import _binary, _unary, apply  # noqa: E402  (function.py imports Tensor from here)

_ADD, _SUBTRACT, _MULTIPLY, _DIVIDE, _POWER = Add(), Subtract(), Multiply(), Divide(), Power()
_NEGATIVE, _EXP, _LOG, _SIGMOID, _TANH, _RELU = Negative(), Exp(), Log(), Sigmoid(), Tanh(), ReLU()
_POWS: dict = {}  # Pow(p) per exponent, for the first 64 exponents seen
