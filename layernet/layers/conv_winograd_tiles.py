"""Winograd F(m x m, r x r) for ``Conv2d``: stride-1 convolutions with square r x r filters, in chunks
of tiles that stay in cache.

Per chunk of images (one ``_blas.batched`` job, one BLAS thread each): the images are padded
channels last (phase-major), their tiles transformed (``kernels/winograd_tiles.py``), the a*a transformed
elements (a = m + r - 1) multiplied in one stacked product ``M = V @ U`` ((a*a, T, C) @ (a*a, C, F)),
and the output transform writes NCHW. Multiplies per output pixel, filter and channel: a*a / m*m
instead of r*r (F(2x2, 5x5): 36/4 = 9 instead of 25, 2.8x fewer).

Backward per chunk: ``Mg`` = the gradient w.r.t. M from dout's tiles; ``dU += V^T @ Mg`` (each
chunk's part kept, the parts summed in chunk order, so dW does not depend on the thread count);
``dV = Mg @ U^T``, scattered back through the input transform's adjoint into dx.

The transform matrices come from the Toom-Cook construction (``winograd_matrices``) over the
points 0, 1, -1, 2, -2, ... and infinity: the standard choice (Lavin & Gray 2016) that keeps the
entries small. The rounding differs from a direct sum: the transforms add and subtract inputs
scaled by up to 5 before multiplying, so float32 errors grow with m and r
(tests/test_conv_winograd_tiles.py bounds them against float64).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from .._blas import batched, workers
from ..kernels.winograd_tiles import dout_tiles, input_grad_tiles, input_tiles, output_tiles, pad_phased

#: Interpolation points (infinity is the last, implicit one) for a = m + r - 1 <= 8.
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))


@lru_cache(maxsize=None)
def winograd_matrices(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(A^T (m, a), G (a, r), B^T (a, a))`` in float64 with ``A^T [(G g) * (B^T d)] = corr(d, g)``:
    y[i] = sum_k d[i + k] g[k] for i < m, d of length a = m + r - 1.

    A^T evaluates at the points (and takes the leading coefficient for infinity), G interpolates
    g's polynomial scaled by 1 / prod_{l != j}(p_j - p_l); B^T is then the unique matrix making the
    identity hold, solved from its m*r*a linear equations (exact small integers or halves for the
    points used here, snapped to them).
    """
    a = m + r - 1
    if not 3 <= a <= len(POINTS) + 1:
        raise ValueError(f"Winograd F({m}, {r}): expected m + r - 1 between 3 and {len(POINTS) + 1}, found {a}")
    p = [Fraction(v) for v in POINTS[: a - 1]]
    at = np.zeros((m, a))
    g = np.zeros((a, r))
    for j, pj in enumerate(p):
        scale = Fraction(1)
        for l, pl in enumerate(p):
            if l != j:
                scale *= pj - pl
        at[:, j] = [float(pj ** i) for i in range(m)]
        g[j] = [float(pj ** k / scale) for k in range(r)]
    at[m - 1, a - 1] = g[a - 1, r - 1] = 1.0
    # sum_j A^T[i, j] G[j, k] B^T[j, l] = [l == i + k]: one equation per (i, k, l)
    coeffs = np.zeros((m, r, a, a, a))  # [(i, k, l), (j, l')]: A^T[i, j] G[j, k] [l' == l]
    for l in range(a):
        coeffs[:, :, l, :, l] = at[:, None, :] * g.T[None, :, :]
    coeffs = coeffs.reshape(m * r * a, a * a)
    wanted = np.array([float(l == i + k) for i in range(m) for k in range(r) for l in range(a)])
    bt = np.linalg.lstsq(coeffs, wanted, rcond=None)[0].reshape(a, a)
    snapped = np.round(bt * 8) / 8
    if np.abs(coeffs @ snapped.ravel() - wanted).max() > 1e-12:
        raise ValueError(f"Winograd F({m}, {r}): no exact B^T for the points {p}")
    return at, g, snapped


def _filters(W, g):
    """U (a*a, C, F): G g G^T of every filter g = W[f, c], element (i, j) at index a*i + j."""
    a, (f, c) = g.shape[0], W.shape[:2]
    return np.ascontiguousarray(np.einsum("ai,fcij,bj->abcf", g, W, g, optimize=True).reshape(a * a, c, f))


class TilePlan:
    """The shapes of one layer's Winograd run: m, the matrices, tile counts, images per chunk and
    the padded phase-major workspace (B, Hq, m*Wt*C) per worker (``kernels/winograd_tiles.py``)."""

    def __init__(self, x_shape, r: int, m: int, padding, out_hw, chunk_tiles: int, dtype):
        (n, c, h, w), (ph, pw), (oh, ow) = x_shape, padding, out_hw
        self.m, self.r, self.padding = m, r, padding
        self.at, self.g, self.bt = (mat.astype(dtype) for mat in winograd_matrices(m, r))
        self.a = m + r - 1
        self.th, self.tw = -(-oh // m), -(-ow // m)
        self.chunk = max(1, min(n, chunk_tiles // (self.th * self.tw)))
        self.n_chunks = -(-n // self.chunk)
        self.hq, self.wt = self.th * m + r - 1, self.tw + -(-(r - 1) // m)  # rows; columns per phase
        self.dtype = dtype

    def padded_buffers(self, c):
        return [np.zeros((self.chunk, self.hq, self.m * self.wt * c), self.dtype) for _ in range(workers())]

    def element_rows(self, width: int):
        """A flat buffer for a chunk's (a*a, T*width) transformed tiles (a partial chunk uses its start)."""
        return np.empty(self.a * self.a * self.chunk * self.th * self.tw * width, self.dtype)

    def tiles(self, n0, n):
        nb = min(self.chunk, n - n0)
        return nb, nb * self.th * self.tw


def tiles_forward(x, W, b, out, plan: TilePlan):
    """out (N, F, OH, OW) = the stride-1 convolution of x (N, C, H, W) with W (F, C, r, r) and b (F,)."""
    (n, c), f, (ph, pw), a = x.shape[:2], W.shape[0], plan.padding, plan.a
    u = _filters(W, plan.g)
    xpc = plan.padded_buffers(c)
    v = [plan.element_rows(c) for _ in xpc]
    mm = [plan.element_rows(f) for _ in xpc]

    def job(i, wk):
        n0 = i * plan.chunk
        nb, t = plan.tiles(n0, n)
        vt, mt = v[wk][: a * a * t * c].reshape(a * a, t * c), mm[wk][: a * a * t * f].reshape(a * a, t * f)
        pad_phased(x, n0, ph, pw, plan.m, xpc[wk][:nb])
        input_tiles(xpc[wk][:nb], c, plan.m, plan.bt, plan.th, plan.tw, vt)
        np.matmul(vt.reshape(a * a, t, c), u, out=mt.reshape(a * a, t, f))
        output_tiles(mt, plan.at, b, n0, plan.th, plan.tw, out)

    batched(job, plan.n_chunks)


def tiles_backward(x, W, dout, plan: TilePlan, needs_input_grad: bool):
    """``(dW, dx)`` of ``tiles_forward`` for dout (N, F, OH, OW); dx is None unless ``needs_input_grad``."""
    (n, c), f, (ph, pw), a = x.shape[:2], W.shape[0], plan.padding, plan.a
    u_t = np.ascontiguousarray(_filters(W, plan.g).transpose(0, 2, 1))  # (a*a, F, C)
    xpc = plan.padded_buffers(c)
    v = [plan.element_rows(c) for _ in xpc]
    mg = [plan.element_rows(f) for _ in xpc]
    du_parts = np.empty((plan.n_chunks, a * a, c, f), x.dtype)
    dx = np.empty(x.shape, x.dtype) if needs_input_grad else None
    dxpc = [np.empty_like(buf) for buf in xpc] if needs_input_grad else None

    def job(i, wk):
        n0 = i * plan.chunk
        nb, t = plan.tiles(n0, n)
        vt, mgt = v[wk][: a * a * t * c].reshape(a * a, t * c), mg[wk][: a * a * t * f].reshape(a * a, t * f)
        pad_phased(x, n0, ph, pw, plan.m, xpc[wk][:nb])
        input_tiles(xpc[wk][:nb], c, plan.m, plan.bt, plan.th, plan.tw, vt)
        dout_tiles(dout, n0, plan.at, plan.th, plan.tw, mgt)
        v3, mg3 = vt.reshape(a * a, t, c), mgt.reshape(a * a, t, f)
        np.matmul(v3.transpose(0, 2, 1), mg3, out=du_parts[i])  # dU[k] = V[k]^T @ Mg[k]
        if dx is not None:
            np.matmul(mg3, u_t, out=v3)  # dV[k] = Mg[k] @ U[k]^T, into V's buffer
            input_grad_tiles(vt, plan.m, plan.bt, plan.th, plan.tw, ph, pw, dxpc[wk][:nb], n0, dx)

    batched(job, plan.n_chunks)
    du = du_parts.sum(axis=0).reshape(a, a, c, f)
    dW = np.ascontiguousarray(np.einsum("ai,abcf,bj->fcij", plan.g, du, plan.g, optimize=True))
    return dW, dx
