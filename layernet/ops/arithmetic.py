"""The arithmetic gates, with numpy broadcasting: the four operations, Power and Negative.

Shapes: a and b broadcast to the output shape S (numpy's rules); da has a's shape, db has b's.
Each backward first writes the local rule for the broadcast shape S, then sums over the axes
that broadcasting stretched (``unbroadcast``), e.g. (N, D) + (D,): db = dout.sum(axis=0).
"""

from __future__ import annotations

import numpy as np

from .base import BinaryOp, UnaryOp


class Add(BinaryOp):
    """out = a + b.

    Backward: d(a+b)/da = d(a+b)/db = 1, so the add gate hands dout unchanged to both inputs:
    da = dout, db = dout (each summed over its broadcast axes).
    """

    def _forward(self, a, b):
        return a + b

    def _backward(self, dout, a, b, out):
        return dout, dout


class Subtract(BinaryOp):
    """out = a - b.

    Backward: d(a-b)/da = 1 and d(a-b)/db = -1: da = dout, db = -dout.
    """

    def _forward(self, a, b):
        return a - b

    def _backward(self, dout, a, b, out):
        return dout, -dout


class Multiply(BinaryOp):
    """out = a * b (elementwise).

    Backward: d(ab)/da = b and d(ab)/db = a, so the multiply gate swaps its inputs:
    da = dout * b, db = dout * a.
    """

    def _forward(self, a, b):
        return a * b

    def _backward(self, dout, a, b, out):
        return dout * b, dout * a


class Divide(BinaryOp):
    """out = a / b (elementwise; b = 0 gives inf or nan, as in numpy).

    Backward: d(a/b)/da = 1/b and d(a/b)/db = -a/b^2: da = dout / b, db = -dout * a / b**2.
    """

    def _forward(self, a, b):
        return a / b

    def _backward(self, dout, a, b, out):
        return dout / b, -dout * a / (b * b)


class Power(BinaryOp):
    """out = a ** b with both a and b arrays (``2 ** x``, ``x ** y``); ``Pow(p)`` is the constant-exponent op.

    Backward, from a^b = e^(b ln a):
    d(a^b)/da = b * a^(b-1), so da = dout * b * a**(b - 1);
    d(a^b)/db = a^b * ln a = out * ln a, so db = dout * out * ln(a).
    Conventions where the formulas are 0 * inf (as PyTorch's pow): da = 0 where b == 0 (a^0 = 1
    is constant in a, even at a = 0), and db = 0 where a == 0 and b >= 0 (0^b is 0 or 1 there).
    For a < 0, ln a is nan and so is db (a real power of a negative base has no real slope in b).
    """

    def _forward(self, a, b):
        return a**b

    def _backward(self, dout, a, b, out):
        a, b = np.asarray(a), np.asarray(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            da = np.where(b == 0, 0, dout * b * a ** (b - 1))
            db = np.where((a == 0) & (b >= 0), 0, dout * out * np.log(a))
        return da, db


class Negative(UnaryOp):
    """out = -x.

    Backward: d(-x)/dx = -1, so dx = -dout.
    """

    def _forward(self, x):
        return -x

    def _backward(self, dout, x, out):
        return -dout
