"""The four arithmetic gates, with numpy broadcasting.

Shapes: a and b broadcast to the output shape S (numpy's rules); da has a's shape, db has b's.
Each backward first writes the local rule for the broadcast shape S, then sums over the axes
that broadcasting stretched (``unbroadcast``), e.g. (N, D) + (D,): db = dout.sum(axis=0).
"""

from __future__ import annotations

from .base import BinaryOp


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
