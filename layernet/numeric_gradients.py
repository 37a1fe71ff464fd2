"""Centred-difference gradients: ``numerical_gradient`` of a scalar function, ``numerical_gradient_array``
of an array-valued one (weighted by ``dout``), both in float64 and perturbing ``x`` in place.

The checks in ``layernet.gradcheck`` compare these with the analytic gradients; re-exported there.
"""

from __future__ import annotations

import numpy as np

from ._finite_difference import _call


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5, indices=None) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f()`` w.r.t. the array ``x``.

    ``x`` is perturbed in place (one element at a time) and restored; ``f`` takes no arguments
    (or ``x``) and must read ``x``. Returns a float64 array of x's shape. With ``indices`` (flat
    indices into x) only those elements are computed; the rest of the result stays 0.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view as long as x is contiguous
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: x must be a contiguous array (it is perturbed in place)")
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + h
        plus = float(_call(f, x))
        flat[i] = old - h
        minus = float(_call(f, x))
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * dout)`` w.r.t. ``x``, for array-valued ``f``."""
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient_array: x must be a contiguous array (it is perturbed in place)")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.array(_call(f, x), dtype=np.float64)  # copies: f may return a view of x
        flat[i] = old - h
        minus = np.array(_call(f, x), dtype=np.float64)
        flat[i] = old
        # Difference the outputs first, then weight by dout: outputs that do not depend on x_i
        # cancel exactly, so round-off comes only from the outputs x_i actually moves.
        grad.reshape(-1)[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad
