"""Winograd F(m x m, r x r) for ``Conv2d``: the forward and backward of an r x r stride-1 convolution.

``winograd_matrices(m, r)`` builds the 1-D transforms (Toom-Cook on the points 0, 1, -1, 2, -2,
... and infinity, as in Lavin & Gray 2016): F(2x2, 3x3) (4x4 tiles, 2.25x fewer multiplies than a
direct 3x3 product), F(4x4, 3x3) (6x6 tiles, 4x fewer) and F(2x2, 5x5) (6x6 tiles, 2.78x fewer)
are the same code with other matrices; ``Conv2d`` uses the last two (``WINOGRAD_TILE``). The tile kernels are in ``layernet/kernels/winograd.py``.

Work is cut into chunks of whole images (the plan's images per chunk); one job per chunk, run over the
BLAS threads by ``_blas.batched`` (one BLAS thread per job), does everything for its chunk while
it stays in cache: the input transform, the a*a products as one stacked ``np.matmul`` with the
chunk's tiles as the long dimension, and the output transform. Every output element is written by
one job; the weight gradient is summed chunk by chunk within fixed groups of chunks, then over the
groups in order (``_DW_GROUPS``). So results do not depend on the thread count.

``Conv2d`` (``layers/conv.py``) decides when this path is taken and how: the ``plan`` argument is
``Conv2d._winograd_plan``'s (m, r, TH, TW, images per chunk), TH x TW the m x m tiles of an image.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from .._blas import batched, workers
from ..kernels.winograd import dout_tiles, input_grad, input_tiles, output_tiles


@lru_cache(maxsize=None)
def _matrices_exact(m: int, r: int):
    """(A^T (m, a), G (a, r), B^T (a, a)) as exact fractions, a = m + r - 1.

    Points p_0 .. p_{a-2} = 0, 1, -1, 2, -2, 1/2, -1/2, ... and infinity. Row j of G evaluates the
    filter polynomial at p_j divided by prod_{k != j} (p_j - p_k) (the last row, at infinity, is
    the leading coefficient); A^T[i, j] = p_j^i (the column at infinity is (0, ..., 0, 1)); B^T
    is what makes A^T [(G g) * (B^T d)] the correlation y_i = sum_k g_k d_{i+k}: B^T's row j holds
    the coefficients of prod_{k != j} (x - p_k) (and of prod_k (x - p_k) for infinity), which
    interpolation by Lagrange polynomials turns into the product.
    """
    a = m + r - 1
    cands = [Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2), Fraction(-1, 2),
             Fraction(3), Fraction(-3)]
    if a - 1 > len(cands):
        raise ValueError(f"F({m}, {r}) needs {a - 1} points; only {len(cands)} are defined")
    pts = cands[: a - 1]
    at = [[p ** i for p in pts] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = []
    for j, p in enumerate(pts):
        denom = Fraction(1)
        for k, q in enumerate(pts):
            if k != j:
                denom *= p - q
        g.append([p ** k / denom for k in range(r)])
    g.append([Fraction(int(k == r - 1)) for k in range(r)])

    def poly(roots):  # coefficients, lowest degree first, of prod (x - root), padded to a
        coef = [Fraction(1)]
        for root in roots:
            coef = [(coef[i - 1] if i > 0 else 0) - root * (coef[i] if i < len(coef) else 0) for i in range(len(coef) + 1)]
        return coef + [Fraction(0)] * (a - len(coef))

    bt = [poly([q for k, q in enumerate(pts) if k != j]) for j in range(a - 1)] + [poly(pts)]
    return at, g, bt


def _check_kernels_support(m: int, r: int) -> None:
    """The tile kernels unroll transforms of 2, 4 or 6 terms: tiles of 4x4 or 6x6, m of 2 or 4."""
    if m + r - 1 not in (4, 6) or m not in (2, 4):
        raise ValueError(f"Winograd F({m}x{m}, {r}x{r}): the kernels support 4x4 or 6x6 tiles with m = 2 or 4")


def winograd_matrices(m: int, r: int, dtype=np.float64):
    """(A^T (m, a), G (a, r), B^T (a, a)) of F(m, r) in ``dtype``; see ``_matrices_exact``."""
    return tuple(np.array([[float(v) for v in row] for row in mat], dtype=dtype) for mat in _matrices_exact(m, r))


def winograd_filters(W, m):
    """U (a*a, C, F): G g G^T of every filter g = W[f, c], element (i, j) at index a*i + j."""
    _, g, _ = winograd_matrices(m, W.shape[2], W.dtype)
    a = g.shape[0]
    f, c = W.shape[:2]
    return np.ascontiguousarray(np.einsum("ai,fcij,bj->abcf", g, W, g, optimize=True).reshape(a * a, c, f))


class _Workspaces:
    """Each worker's buffers for a chunk of B images (the kernels' shapes, kernels/winograd.py),
    made on first use per chunk size (the last chunk may be smaller): ``get(worker, B)``."""

    def __init__(self, plan, c, f, dtype, backward):
        self.plan, self.c, self.f, self.dtype, self.backward = plan, c, f, dtype, backward
        self.made = [{} for _ in range(workers())]

    def get(self, worker, nb):
        if nb not in self.made[worker]:
            m, r, th, tw, _ = self.plan
            a, c, f, dt = m + r - 1, self.c, self.f, self.dtype
            hb, wb, rows = m * (th - 1) + a, m * (tw - 1) + a, th * tw * nb
            self.made[worker][nb] = (
                np.zeros((hb, wb, nb, c), dt),  # xb: padded input, zero border
                np.empty((a, wb, nb, c), dt),  # t1
                np.empty((a * a, rows, c), dt),  # V (backward: then dV)
                np.empty((a * a, rows, f), dt),  # M (backward: Mg)
                (np.zeros if self.backward else np.empty)((m * th, m * tw, nb, f), dt),  # yb: out / dout by tile
                np.empty((a, m * tw, nb, f), dt),  # t2
                np.empty((hb, wb, nb, c), dt) if self.backward else None,  # dx accumulation
            )
        return self.made[worker][nb]


def winograd_forward(x, W, b, out, padding, plan):
    """out (N, F, OH, OW) = the r x r stride-1 convolution of x (N, C, H, W) with W (F, C, r, r) and
    b (F,), zero ``padding`` (ph, pw); ``plan`` (m, r, TH, TW, images per chunk)."""
    (ph, pw), (n, c), f = padding, x.shape[:2], W.shape[0]
    m, r, _, _, images = plan
    _check_kernels_support(m, r)
    at, _, bt = winograd_matrices(m, r, x.dtype)
    u = winograd_filters(W, m)
    space = _Workspaces(plan, c, f, x.dtype, backward=False)

    def job(i, wk):
        n0 = i * images
        xb, t1, v, mm, yb, t2, _ = space.get(wk, min(images, n - n0))
        input_tiles(x, n0, ph, pw, m, bt, xb, t1, v)
        np.matmul(v, u, out=mm)  # M[k] = V[k] @ U[k], (T, C) @ (C, F)
        output_tiles(mm, b, n0, at, yb, t2, out)

    batched(job, -(-n // images))


#: The weight gradient is summed in groups of consecutive chunks, one job per group and one
#: (a*a, C, F) part per group: at most _DW_GROUPS parts, fewer when a part is large (at least
#: two, at most _DW_PART_BYTES in all), so 512 -> 512 channels do not hold one part per chunk.
#: Fixed numbers, not the thread count: the grouping sets the summation order.
_DW_GROUPS = 8
_DW_PART_BYTES = 64 * 2**20


def _dw_groups(n_chunks: int, part_bytes: int) -> int:
    return max(1, min(n_chunks, _DW_GROUPS, max(2, _DW_PART_BYTES // part_bytes)))


def winograd_backward(x, W, dout, padding, plan, needs_input_grad):
    """``(dW, dx)`` of ``winograd_forward`` for dout (N, F, OH, OW); dx is None unless ``needs_input_grad``."""
    (ph, pw), (n, c), f = padding, x.shape[:2], W.shape[0]
    m, r, _, _, images = plan
    _check_kernels_support(m, r)
    a = m + r - 1
    at, g, bt = winograd_matrices(m, r, x.dtype)
    ut = np.ascontiguousarray(winograd_filters(W, m).transpose(0, 2, 1))  # (a*a, F, C)
    space = _Workspaces(plan, c, f, x.dtype, backward=True)
    n_chunks = -(-n // images)
    groups = _dw_groups(n_chunks, a * a * c * f * x.itemsize)
    du_parts = np.empty((groups, a * a, c, f), x.dtype)
    du_chunk = [np.empty((a * a, c, f), x.dtype) for _ in range(workers())]
    dx = np.empty(x.shape, dtype=x.dtype) if needs_input_grad else None

    def job(grp, wk):
        for i in range(grp * n_chunks // groups, (grp + 1) * n_chunks // groups):  # in order
            n0 = i * images
            xb, t1, v, mg, yb, t2, dxb = space.get(wk, min(images, n - n0))
            input_tiles(x, n0, ph, pw, m, bt, xb, t1, v)
            dout_tiles(dout, n0, at, yb, t2, mg)
            first = i == grp * n_chunks // groups
            # dU[k] = V[k]^T @ Mg[k], summed over the group's chunks
            np.matmul(v.transpose(0, 2, 1), mg, out=du_parts[grp] if first else du_chunk[wk])
            if not first:
                du_parts[grp] += du_chunk[wk]
            if dx is not None:
                np.matmul(mg, ut, out=v)  # dV[k] = Mg[k] @ U[k]^T, over V (no longer needed)
                input_grad(v, n0, ph, pw, m, bt, dxb, t1, dx)

    batched(job, groups)
    du = du_parts.sum(axis=0).reshape(a, a, c, f)
    dW = np.ascontiguousarray(np.einsum("ai,abcf,bj->fcij", g, du, g, optimize=True))
    return dW, dx
