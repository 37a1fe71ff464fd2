"""Ops that join several arrays into one: Concatenate (along an existing axis) and Stack (a new axis).

Each input's values land in one block of the output, so each input's gradient is its block of
dout: the backward pass cuts dout back into the pieces.
"""

from __future__ import annotations

import numpy as np

from .._validation import _is_int, invalid_argument
from .base import Op


class _Join(Op):
    """Shared checks of Concatenate and Stack: an int axis and at least one input."""

    _args = ("axis",)

    def __init__(self, axis=0):
        super().__init__()
        if not _is_int(axis):
            raise invalid_argument(self.name, "axis", "an int", axis)
        self.axis = int(axis)

    def _inputs(self, inputs):
        if not inputs:
            raise ValueError(f"{self.name}: expected at least one input, found none")
        return self.prepare(*inputs, count=len(inputs))

    def _join(self, function, arrays):
        try:
            return function(arrays, axis=self.axis)
        except (ValueError, np.exceptions.AxisError) as err:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"{self.name}(axis={self.axis}): cannot join inputs of shapes {shapes}: {err}") from None


class Concatenate(_Join):
    """out = np.concatenate(inputs, axis).

    Shapes: inputs (..., n_i, ...) equal except along ``axis`` -> out (..., sum n_i, ...).
    Backward: input i occupies rows [s_i, s_i + n_i) of out along ``axis`` (s_i = n_0 + ... + n_(i-1)),
    and each of its elements appears there once, so d(input i) = that slice of dout.
    """

    def forward(self, *inputs):
        arrays, grad_dtypes = self._inputs(inputs)
        out = self._join(np.concatenate, arrays)
        sizes = [a.shape[self.axis] for a in arrays]
        self.save_cache(out.shape, np.cumsum(sizes)[:-1], grad_dtypes)
        return out

    def backward(self, dout):
        out_shape, cuts, grad_dtypes = self.pop_cache()
        dout = self.check_dout(dout, out_shape, np.result_type(*grad_dtypes))
        pieces = np.split(dout, cuts, axis=self.axis)
        return tuple(np.array(p, dtype=d) for p, d in zip(pieces, grad_dtypes))


class Stack(_Join):
    """out = np.stack(inputs, axis): the inputs side by side along a new axis.

    Shapes: k inputs of one shape S -> out S with a new axis of length k inserted at ``axis``.
    Backward: input i is out's slice i along the new axis, so d(input i) = np.take(dout, i, axis).
    """

    def forward(self, *inputs):
        arrays, grad_dtypes = self._inputs(inputs)
        out = self._join(np.stack, arrays)
        self.save_cache(out.shape, grad_dtypes)
        return out

    def backward(self, dout):
        out_shape, grad_dtypes = self.pop_cache()
        dout = self.check_dout(dout, out_shape, np.result_type(*grad_dtypes))
        return tuple(np.array(np.take(dout, i, axis=self.axis), dtype=d) for i, d in enumerate(grad_dtypes))
