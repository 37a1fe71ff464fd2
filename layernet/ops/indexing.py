"""Ops that pick elements: Index (``x[key]``) and Where (``np.where(cond, a, b)``).

Both route each output element's gradient back to the one input element it came from; an input
element that was not picked gets 0, and one picked several times gets the sum of its copies'
gradients (the branch rule).
"""

from __future__ import annotations

import numpy as np

from .base import BinaryOp, UnaryOp


def _is_basic(key) -> bool:
    """True for basic indexing (ints, slices, None, Ellipsis): it never picks an element twice."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) and not isinstance(p, bool) for p in parts)


class Index(UnaryOp):
    """out = x[key], numpy indexing: basic (ints, slices, None, ...) or integer/boolean arrays.

    Shapes: x (any) -> out as numpy gives it, e.g. x (4, 5), key (slice(1, 3), [0, 0, 2]) -> (2, 3).
    Backward: out[j] = x[key[j]], so dx[i] = sum of dout[j] over every j with key[j] = i:
    dx = zeros of x's shape, then ``np.add.at(dx, key, dout)``, which adds (rather than
    overwrites) at repeated indices: x[[0, 0]] sends 2 * dout to x[0]. Basic indexing picks each
    element at most once, so there a plain assignment ``dx[key] = dout`` does the same.
    """

    _args = ("key",)

    def __init__(self, key):
        super().__init__()
        self.key = key

    def _forward(self, x):
        return x[self.key]

    def _backward(self, dout, x, out):
        dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
        if _is_basic(self.key):
            dx[self.key] = dout
        else:
            np.add.at(dx, self.key, dout)
        return dx


class Where(BinaryOp):
    """out = np.where(cond, a, b): a's element where cond holds, else b's (numpy broadcasting of all three).

    ``cond`` (a boolean array, any shape broadcasting with a and b) is fixed at construction; it
    is a selector, not an input with a gradient.
    Backward: out = cond * a + (1 - cond) * b elementwise, so da = dout where cond else 0 and
    db = 0 where cond else dout, each summed over its broadcast axes.
    """

    def __init__(self, cond):
        super().__init__()
        self.cond = np.asarray(cond, dtype=bool)

    def __repr__(self) -> str:
        return f"Where(cond of shape {self.cond.shape})"

    def _forward(self, a, b):
        try:
            return np.where(self.cond, a, b)
        except ValueError:
            raise ValueError(
                f"Where: cond {self.cond.shape}, a {np.shape(a)} and b {np.shape(b)} do not broadcast"
            ) from None

    def _backward(self, dout, a, b, out):
        return np.where(self.cond, dout, 0), np.where(self.cond, 0, dout)
