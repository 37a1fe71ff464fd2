"""Ops that move or copy elements without changing their values.

Their backward passes move the gradient back: a reshape is undone by reshaping, a transpose by
the inverse permutation, and a broadcast (each element copied many times) by summing the copies.
"""

from __future__ import annotations

import numpy as np

from .._validation import _is_int, invalid_argument
from .base import UnaryOp, unbroadcast


def _as_shape(owner: str, name: str, shape, *, allow_minus_one: bool = False) -> tuple[int, ...]:
    """Normalise an int or a sequence of ints to a tuple; ValueError naming ``owner`` otherwise."""
    if _is_int(shape):
        shape = (shape,)
    low = -1 if allow_minus_one else 0
    if not isinstance(shape, (tuple, list)) or not all(_is_int(n) and n >= low for n in shape):
        kind = "an int or a tuple of ints >= 0" + (" (one of them may be -1)" if allow_minus_one else "")
        raise invalid_argument(owner, name, kind, shape)
    return tuple(int(n) for n in shape)


class BroadcastTo(UnaryOp):
    """out = x copied along new leading axes and along its size-1 axes, as ``np.broadcast_to``.

    Shapes: x (broadcastable to ``shape``) -> out ``shape``, e.g. (D,) -> (N, D).
    Backward: each element of x appears in several places of out, so its gradient is the sum of
    theirs: dx = dout summed over the added and stretched axes (``unbroadcast``).
    """

    _args = ("shape",)

    def __init__(self, shape):
        super().__init__()
        self.shape = _as_shape("BroadcastTo", "shape", shape)

    def _forward(self, x):
        try:
            return np.broadcast_to(x, self.shape).copy()
        except ValueError:
            raise ValueError(f"BroadcastTo: input of shape {x.shape} does not broadcast to {self.shape}") from None

    def _backward(self, dout, x, out):
        return unbroadcast(dout, x.shape)


class Reshape(UnaryOp):
    """out = x.reshape(shape): the same elements in the same (row-major) order, a new shape.

    Shapes: x (any, with as many elements as ``shape``; one entry of ``shape`` may be -1)
    -> out ``shape``.
    Backward: the gradient of each element is unchanged, only its place moves back:
    dx = dout.reshape(x.shape).
    """

    _args = ("shape",)

    def __init__(self, shape):
        super().__init__()
        self.shape = _as_shape("Reshape", "shape", shape, allow_minus_one=True)
        if self.shape.count(-1) > 1:
            raise invalid_argument("Reshape", "shape", "at most one -1", shape)

    def _forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"Reshape: cannot reshape input of shape {x.shape} ({x.size} elements) to {self.shape}") from None

    def _backward(self, dout, x, out):
        return dout.reshape(x.shape)


class Transpose(UnaryOp):
    """out = x.transpose(axes): axis i of out is axis ``axes[i]`` of x (None reverses the axes).

    Shapes: x (d_0, ..., d_k) -> out (d_axes[0], ..., d_axes[k]); for a matrix (n, m) -> (m, n).
    Backward: undo the permutation: dx = dout.transpose(inverse of axes), where the inverse
    is ``np.argsort(axes)``.
    """

    _args = ("axes",)

    def __init__(self, axes=None):
        super().__init__()
        if axes is not None:
            if not isinstance(axes, (tuple, list)) or not all(_is_int(a) for a in axes):
                raise invalid_argument("Transpose", "axes", "None or a tuple of ints", axes)
            axes = tuple(int(a) for a in axes)
        self.axes = axes

    def _permutation(self, shape: tuple) -> tuple[int, ...]:
        ndim = len(shape)
        if self.axes is None:
            return tuple(reversed(range(ndim)))
        axes = tuple(a % ndim if -ndim <= a < ndim else a for a in self.axes)
        if sorted(axes) != list(range(ndim)):
            raise ValueError(f"Transpose: axes {self.axes} are not a permutation of the axes of an input of shape {shape}")
        return axes

    def _forward(self, x):
        return x.transpose(self._permutation(x.shape))

    def _backward(self, dout, x, out):
        return dout.transpose(np.argsort(self._permutation(x.shape)))


class SwapAxes(UnaryOp):
    """out = np.swapaxes(x, axis1, axis2).

    Shapes: x (..., d_a, ..., d_b, ...) -> out with d_a and d_b exchanged.
    Backward: swapping the same two axes again undoes it: dx = np.swapaxes(dout, axis1, axis2).
    """

    _args = ("axis1", "axis2")

    def __init__(self, axis1, axis2):
        super().__init__()
        for name, value in (("axis1", axis1), ("axis2", axis2)):
            if not _is_int(value):
                raise invalid_argument("SwapAxes", name, "an int", value)
        self.axis1, self.axis2 = int(axis1), int(axis2)

    def _forward(self, x):
        for axis in (self.axis1, self.axis2):
            if not -x.ndim <= axis < x.ndim:
                raise ValueError(f"SwapAxes: axis {axis} is out of range for an input of shape {x.shape}")
        return np.swapaxes(x, self.axis1, self.axis2)

    def _backward(self, dout, x, out):
        return np.swapaxes(dout, self.axis1, self.axis2)
