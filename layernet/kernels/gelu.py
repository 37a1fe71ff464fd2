"""GELU kernels on flat arrays (see ``layernet/layers/gelu.py`` for the formulas).

``approximate`` is False for the exact erf form, True for the tanh form. Single-threaded
memory-bound passes like the other activations (``kernels/activation.py`` explains why).
"""

from __future__ import annotations

import math

from ._jit import njit_kernel

_SQRT_HALF = 0.7071067811865476        # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327     # 1 / sqrt(2 pi)
_SQRT_2_OVER_PI = 0.7978845608028654   # sqrt(2 / pi)
_TANH_C = 0.044715


@njit_kernel
def gelu_forward(x, approximate, out):
    """out = x * Phi(x) (exact) or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); x, out (L,)."""
    for i in range(x.shape[0]):
        v = x[i]
        if approximate:
            u = _SQRT_2_OVER_PI * (v + _TANH_C * v * v * v)
            out[i] = 0.5 * v * (1.0 + math.tanh(u))
        else:
            out[i] = 0.5 * v * (1.0 + math.erf(v * _SQRT_HALF))


@njit_kernel
def gelu_backward(x, dout, approximate, dx):
    """dx = dout * GELU'(x); x, dout, dx (L,)."""
    for i in range(x.shape[0]):
        v = x[i]
        if approximate:
            u = _SQRT_2_OVER_PI * (v + _TANH_C * v * v * v)
            t = math.tanh(u)
            d = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _TANH_C * v * v)
        else:
            d = 0.5 * (1.0 + math.erf(v * _SQRT_HALF)) + v * _INV_SQRT_2PI * math.exp(-0.5 * v * v)
        dx[i] = dout[i] * d
