"""Matrix product gate, 2-D and batched, as numpy's ``a @ b``."""

from __future__ import annotations

import numpy as np

from .base import Op, unbroadcast


class MatMul(Op):
    """out = a @ b.

    Shapes: a (..., n, k) @ b (..., k, m) -> out (..., n, m). The leading "batch" axes
    broadcast as in numpy (e.g. (B, n, k) @ (k, m), or (B, 1, n, k) @ (C, k, m)). A 1-D a is
    a row (1, k) and a 1-D b a column (k, 1), and that axis is dropped from out, as in numpy.

    Backward, derived by shape: out[i, j] = sum_p a[i, p] b[p, j], so
    da[i, p] = sum_j dout[i, j] b[p, j], i.e. da = dout @ b.T   ((n, m) @ (m, k) -> (n, k)),
    db[p, j] = sum_i a[i, p] dout[i, j], i.e. db = a.T @ dout   ((k, n) @ (n, m) -> (k, m)),
    with .T swapping the last two axes; each is then summed over the batch axes its operand
    was broadcast along.
    """

    def forward(self, *inputs):
        (a, b), grad_dtypes = self.prepare(*inputs, count=2)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"MatMul: inputs need at least one axis, found shapes {a.shape} and {b.shape}")
        a2 = a[None, :] if a.ndim == 1 else a  # a row vector (1, k)
        b2 = b[:, None] if b.ndim == 1 else b  # a column vector (k, 1)
        if a2.shape[-1] != b2.shape[-2]:
            raise ValueError(
                f"MatMul: shapes {a.shape} and {b.shape} do not multiply: expected (..., n, k) @ (..., k, m), "
                f"found k = {a2.shape[-1]} columns in a but {b2.shape[-2]} rows in b"
            )
        try:
            np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            raise ValueError(
                f"MatMul: shapes {a.shape} and {b.shape} do not multiply: the batch axes "
                f"{a2.shape[:-2]} and {b2.shape[:-2]} do not broadcast"
            ) from None
        dropped = tuple(axis for axis, vector in ((-2, a.ndim == 1), (-1, b.ndim == 1)) if vector)
        out = np.squeeze(a2 @ b2, axis=dropped)
        self.save_cache(a, b, a2, b2, dropped, out.shape, grad_dtypes)
        return out

    def backward(self, dout):
        a, b, a2, b2, dropped, out_shape, grad_dtypes = self.pop_cache()
        dout = self.check_dout(dout, out_shape, a2.dtype)
        dout2 = np.expand_dims(dout, dropped)  # (..., n, m) again
        da = unbroadcast(dout2 @ np.swapaxes(b2, -1, -2), a2.shape)
        db = unbroadcast(np.swapaxes(a2, -1, -2) @ dout2, b2.shape)
        return (
            np.array(da.reshape(a.shape), dtype=grad_dtypes[0]),
            np.array(db.reshape(b.shape), dtype=grad_dtypes[1]),
        )
