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
row kernels run ``prange`` over the N*G rows; the parameter gradients run ``prange`` over a fixed
number of chunks of samples, each adding whole rows into its own partial sums (the caller adds the
chunks), so results do not depend on the thread count.
Sums accumulate in float64 for float32 data as well.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import njit_kernel

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
def group_norm_backward_params(x, dout, mean, inv_std, dscale_part, dshift_part):
    """Partial sums over n of dout * xhat and of dout, one per chunk of samples.

    x, dout (N, G, M); written: dscale_part, dshift_part (P, G, M) float64, where chunk p holds the
    sums over samples n = p, p + P, p + 2P, ...; the caller adds the P partials (``.sum(axis=0)``).
    P is chosen by the caller, not by the thread count, so results do not depend on it; each chunk
    reads whole contiguous rows, and its accumulators stay in cache.
    """
    n_img, n_grp, m = x.shape
    parts = dscale_part.shape[0]
    for p in prange(parts):
        acc_s = dscale_part[p]
        acc_b = dshift_part[p]
        acc_s[:] = 0.0
        acc_b[:] = 0.0
        for n in range(p, n_img, parts):
            for g in range(n_grp):
                mu = mean[n, g]
                istd = inv_std[n, g]
                xr = x[n, g]
                gr = dout[n, g]
                sr = acc_s[g]
                br = acc_b[g]
                for i in range(m):
                    d = gr[i]
                    br[i] += d
                    sr[i] += d * ((xr[i] - mu) * istd)
