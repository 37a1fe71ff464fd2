"""Per-sample normalisation kernels, shared by group norm and layer norm.

The caller views the input as ``x (N, G, M)``: sample n, group g, and the M values of that group
(group norm: ``M = C/G * H*W``, a group's channels and all their positions; layer norm: ``G = 1``
and M the product of ``normalized_shape``). Statistics run over the M values of each (n, g):

    mean[n, g] = sum(x[n, g, :]) / M
    var[n, g]  = sum((x[n, g, :] - mean)**2) / M              (biased, as PyTorch)
    xhat       = (x - mean) * inv_std,   inv_std = 1 / sqrt(var + eps)
    out        = scale * xhat + shift

``scale`` and ``shift`` are ``(G, M)`` arrays in x's dtype: the per-element affine parameters
(layer norm's ``gamma``/``beta`` as they are; group norm's per-channel ones repeated over the
channel's H*W positions, a small array that stays in cache).

Backward, with g = dout, dxhat = scale * g and sums over the M values of the row (n, g):

    dx = inv_std / M * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))

(the batch-norm formula with the sample's group in place of the batch), and, summed over n,
``dscale[g, m] = sum_n g * xhat``, ``dshift[g, m] = sum_n g``. Rows are independent, so the
row kernels run ``prange`` over the N*G rows; the parameter gradients run ``prange`` over blocks
of columns, each column summed over n by one thread, so results do not depend on the thread count.
Sums accumulate in float64 for float32 data as well.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import njit_kernel

#: Columns per block of the parameter-gradient kernel (a block of ``dscale`` stays in registers/L1).
COLUMN_BLOCK = 256


@njit_kernel(parallel=True)
def group_norm_forward(x, scale, shift, eps, out, mean, inv_std):
    """x (N, G, M); scale, shift (G, M); eps float.

    Written: out (N, G, M) = scale * (x - mean) * inv_std + shift; mean, inv_std (N, G) float64.
    """
    n_img, n_grp, m = x.shape
    for r in prange(n_img * n_grp):
        n = r // n_grp
        g = r - n * n_grp
        row = x[n, g]
        s = 0.0
        for i in range(m):
            s += row[i]
        mu = s / m
        q = 0.0
        for i in range(m):
            d = row[i] - mu
            q += d * d
        istd = 1.0 / math.sqrt(q / m + eps)
        mean[n, g] = mu
        inv_std[n, g] = istd
        muf = out.dtype.type(mu)
        isf = out.dtype.type(istd)
        sc = scale[g]
        sh = shift[g]
        dst = out[n, g]
        for i in range(m):
            dst[i] = (row[i] - muf) * isf * sc[i] + sh[i]


@njit_kernel(parallel=True)
def group_norm_backward_input(x, dout, scale, mean, inv_std, dx):
    """dx (N, G, M) of the normalisation (see the module docstring); x, dout (N, G, M); scale (G, M)."""
    n_img, n_grp, m = x.shape
    for r in prange(n_img * n_grp):
        n = r // n_grp
        g = r - n * n_grp
        xr = x[n, g]
        gr = dout[n, g]
        sc = scale[g]
        mu = mean[n, g]
        istd = inv_std[n, g]
        s1 = 0.0   # sum(dxhat)
        s2 = 0.0   # sum(dxhat * (x - mu)); times istd it is sum(dxhat * xhat)
        for i in range(m):
            d = gr[i] * sc[i]
            s1 += d
            s2 += d * (xr[i] - mu)
        # dx = istd * dxhat - istd/M * s1 - (x - mu) * istd**3/M * s2
        a = dx.dtype.type(istd)
        b = dx.dtype.type(-istd * s1 / m)
        c = dx.dtype.type(-istd * istd * istd * s2 / m)
        muf = dx.dtype.type(mu)
        dr = dx[n, g]
        for i in range(m):
            dr[i] = a * (gr[i] * sc[i]) + b + c * (xr[i] - muf)


@njit_kernel(parallel=True)
def group_norm_backward_params(x, dout, mean, inv_std, dscale, dshift):
    """dscale[g, m] = sum_n dout * xhat and dshift[g, m] = sum_n dout; both (G, M) float64."""
    n_img, n_grp, m = x.shape
    blocks_per_group = (m + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    for blk in prange(n_grp * blocks_per_group):
        g = blk // blocks_per_group
        lo = (blk - g * blocks_per_group) * COLUMN_BLOCK
        hi = min(lo + COLUMN_BLOCK, m)
        acc_s = np.zeros(hi - lo)
        acc_b = np.zeros(hi - lo)
        for n in range(n_img):
            mu = mean[n, g]
            istd = inv_std[n, g]
            xr = x[n, g]
            gr = dout[n, g]
            for i in range(lo, hi):
                d = gr[i]
                acc_b[i - lo] += d
                acc_s[i - lo] += d * ((xr[i] - mu) * istd)
        for i in range(lo, hi):
            dscale[g, i] = acc_s[i - lo]
            dshift[g, i] = acc_b[i - lo]
