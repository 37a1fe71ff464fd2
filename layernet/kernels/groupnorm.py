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
``dscale[g, m] = sum_n g * xhat``, ``dshift[g, m] = sum_n g``.

Passes over memory, which is what these kernels spend their time on: the forward reads a row
once for its statistics (sum and sum of squares around the row's first value, in float64) and
once more to write out; the backward reads x and dout once for the row sums *and* the parameter
gradients' partial sums, and once more to write dx. The forward runs ``prange`` over the N*G
rows; the backward over a fixed number of chunks of samples (samples p, p + P, p + 2P, ...), each
adding into its own partial sums of the parameter gradients (the caller adds the P chunks in
float64). Both fixed, so results do not depend on the thread count. Row sums are float64; a
partial parameter sum, over at most N/P samples, is in the data's dtype.

Measured, LayerNorm((64, 16, 16)) fwd + bwd on (128, 64, 16, 16) float32, 2 threads, in one
process: four passes forward and a separate parameter-gradient kernel (seven passes backward) took
4.6 ms (forward 1.3, parameters 1.4, dx 1.6); these kernels 2.8-3.2 ms (forward 1.2-1.3, backward
1.3-1.6). ``python -m benchmarks.modern`` (fresh processes, quiet machine): LayerNorm 5.05 -> 3.43
ms, GroupNorm 4.75 -> 2.39 ms; PyTorch 1.98 and 1.12, so still 1.7-2.1x slower.
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
    The statistics take one pass: sums of d = x - x[0] and of d**2 (shifted by the row's first
    value, so the variance does not cancel for rows far from zero).
    """
    n_img, n_grp, m = x.shape
    for r in prange(n_img * n_grp):
        n = r // n_grp
        g = r - n * n_grp
        row = x[n, g]
        pivot = float(row[0])
        s = 0.0
        q = 0.0
        for i in range(m):
            d = row[i] - pivot
            s += d
            q += d * d
        shifted_mean = s / m
        var = max(q / m - shifted_mean * shifted_mean, 0.0)
        mu = pivot + shifted_mean
        istd = 1.0 / math.sqrt(var + eps)
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
def group_norm_backward(x, dout, scale, mean, inv_std, need_dx, dx, dscale_part, dshift_part):
    """dx and the parameter gradients' partial sums of the normalisation (see the module docstring).

    x, dout (N, G, M); scale (G, M); mean, inv_std (N, G). Written: dx (N, G, M) if ``need_dx``;
    dscale_part, dshift_part (P, G, M) in x's dtype: chunk p holds the sums over samples
    n = p, p + P, p + 2P, ... of dout * xhat and of dout (the caller adds the P chunks).
    """
    n_img, n_grp, m = x.shape
    parts = dscale_part.shape[0]
    zero = x.dtype.type(0)
    for p in prange(parts):
        acc_s = dscale_part[p]
        acc_b = dshift_part[p]
        for g in range(n_grp):
            for i in range(m):
                acc_s[g, i] = zero
                acc_b[g, i] = zero
        for n in range(p, n_img, parts):
            for g in range(n_grp):
                xr = x[n, g]
                gr = dout[n, g]
                sc = scale[g]
                sr = acc_s[g]
                br = acc_b[g]
                mu = mean[n, g]
                istd = inv_std[n, g]
                muf = x.dtype.type(mu)
                isf = x.dtype.type(istd)
                s1 = 0.0   # sum(dxhat)
                s2 = 0.0   # sum(dxhat * (x - mu)); times istd it is sum(dxhat * xhat)
                for i in range(m):
                    d = gr[i]
                    centred = xr[i] - muf
                    dh = d * sc[i]
                    s1 += dh
                    s2 += dh * centred
                    br[i] += d
                    sr[i] += d * (centred * isf)
                if need_dx:
                    # dx = istd * dxhat - istd/M * s1 - (x - mu) * istd**3/M * s2
                    a = dx.dtype.type(istd)
                    b = dx.dtype.type(-istd * s1 / m)
                    c = dx.dtype.type(-istd * istd * istd * s2 / m)
                    dr = dx[n, g]
                    for i in range(m):
                        dr[i] = a * (gr[i] * sc[i]) + b + c * (xr[i] - muf)
