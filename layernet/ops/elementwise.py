"""Functions applied to every element of one array: Exp, Log, Pow, Sigmoid, Tanh, ReLU.

Shapes: x (any) -> out (same as x); dx has x's shape. The backward of each is the chain rule
with the local derivative f'(x): dx = dout * f'(x), where f'(x) is often cheapest in terms of
the output (exp, sigmoid, tanh).
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import invalid_argument
from .base import UnaryOp


class Exp(UnaryOp):
    """out = e^x.

    Backward: d(e^x)/dx = e^x = out, so dx = dout * out.
    """

    def _forward(self, x):
        return np.exp(x)

    def _backward(self, dout, x, out):
        return dout * out


class Log(UnaryOp):
    """out = ln(x), the natural logarithm (x <= 0 gives -inf or nan, as in numpy).

    Backward: d(ln x)/dx = 1/x, so dx = dout / x.
    """

    def _forward(self, x):
        return np.log(x)

    def _backward(self, dout, x, out):
        return dout / x


class Pow(UnaryOp):
    """out = x^p for a constant real exponent p (e.g. Pow(2) squares, Pow(-1) inverts).

    Backward: d(x^p)/dx = p * x^(p-1), so dx = dout * p * x**(p - 1). For p = 0 the output
    is the constant 1 and dx = 0 everywhere, x = 0 included (as PyTorch; the formula would give
    0 * 0**-1 = nan there).
    """

    _args = ("p",)

    def __init__(self, p):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not np.isfinite(p):
            raise invalid_argument("Pow", "p", "a finite real number", p)
        self.p = p

    def _forward(self, x):
        return x**self.p

    def _backward(self, dout, x, out):
        if self.p == 0:
            return dout * 0  # 0 * x**-1 is nan at x = 0; the derivative of a constant is 0
        return dout * self.p * x ** (self.p - 1)


class Sigmoid(UnaryOp):
    """out = sigma(x) = 1 / (1 + e^-x), computed without overflow for large |x|.

    Backward: d(sigma)/dx = sigma(x) * (1 - sigma(x)) = out * (1 - out), so
    dx = dout * out * (1 - out).
    """

    def _forward(self, x):
        return np.exp(-np.logaddexp(0, -x))  # 1 / (1 + e^-x) = e^-log(1 + e^-x)

    def _backward(self, dout, x, out):
        return dout * out * (1 - out)


class Tanh(UnaryOp):
    """out = tanh(x).

    Backward: d(tanh x)/dx = 1 - tanh(x)^2 = 1 - out^2, so dx = dout * (1 - out**2).
    """

    def _forward(self, x):
        return np.tanh(x)

    def _backward(self, dout, x, out):
        return dout * (1 - out * out)


class ReLU(UnaryOp):
    """out = max(0, x).

    Backward: the derivative is 1 where x > 0 and 0 where x < 0; at exactly x = 0 it is taken
    as 0 (as PyTorch does). So dx = dout * (x > 0): ReLU routes dout through the positive inputs.
    """

    def _forward(self, x):
        return np.maximum(x, 0)

    def _backward(self, dout, x, out):
        return dout * (x > 0)
