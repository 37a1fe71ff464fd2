"""Batch-normalisation kernels: per-channel statistics and the normalising affine map.

The caller views the input as ``x (N, C, L)``: ``(N, C, H*W)`` for spatial batch norm,
``(N, D, 1)`` for (N, D) input. Statistics run over N and L for each channel c, so with
``M = N*L`` values per channel:

    mean[c] = sum(x[:, c, :]) / M
    var[c]  = sum((x[:, c, :] - mean[c])**2) / M        (biased: divides by M, not M - 1)
    xhat    = (x - mean) * inv_std,   inv_std = 1 / sqrt(var + eps)
    out     = gamma * xhat + beta

``prange`` runs over channels; each channel's values are read in two or three passes in a row
(mean, variance, write), so after the first pass they come from cache, and nothing of size
N*C*L is stored besides ``out``: backward recomputes ``xhat`` from ``x``, ``mean``, ``inv_std``.
Sums accumulate in float64 for float32 data as well. Per-channel vectors (gamma, beta, mean,
var, inv_std, dgamma, dbeta) are float64 arrays of length C; the big arrays keep the input's
dtype. Each channel is handled by one thread, so results do not depend on the thread count.
"""

from __future__ import annotations

import math

from numba import prange

from ._jit import njit_kernel

#: Parallel over channels. Measured on the 2-core machines with ``python -m benchmarks --only layers``
#: (128x32x28x28 float32, fwd+bwd, PyTorch in the same run): serial 6.91 ms (0.70x PyTorch),
#: parallel 4.04 ms (0.55x); LeNet-BN train step, one process per library: 1.21x and 1.21x PyTorch
#: with serial kernels, 1.18x and 1.05x with parallel ones (two runs each). An earlier session chose
#: serial kernels from runs on a machine shared with other jobs, where a parallel region waits for
#: its slowest thread. Each channel is handled by one thread either way, so results do not depend
#: on the setting or the thread count.
PARALLEL = True


@njit_kernel(parallel=PARALLEL)
def batchnorm_forward_train(x, gamma, beta, eps, out, mean, var):
    """Training-mode batch norm with batch statistics.

    x (N, C, L); gamma, beta (C,) float64; eps float.
    Written: out (N, C, L) = gamma * (x - mean) / sqrt(var + eps) + beta;
    mean (C,), var (C,) float64: the batch mean and the *biased* batch variance.
    """
    n_img, n_chan, length = x.shape
    count = n_img * length
    for c in prange(n_chan):
        s = 0.0
        for n in range(n_img):
            row = x[n, c]
            for i in range(length):
                s += row[i]
        mu = s / count
        q = 0.0
        for n in range(n_img):
            row = x[n, c]
            for i in range(length):
                d = row[i] - mu
                q += d * d
        v = q / count
        mean[c] = mu
        var[c] = v
        _affine_channel(x, c, mu, gamma[c] / math.sqrt(v + eps), beta[c], out)


@njit_kernel(parallel=PARALLEL)
def batchnorm_forward_eval(x, center, scale, shift, out):
    """Eval-mode batch norm as one affine map per channel (statistics are constants).

    x (N, C, L); center = running_mean, scale = gamma / sqrt(running_var + eps), shift = beta,
    all (C,) float64. Written: out (N, C, L) = (x - center[c]) * scale[c] + shift[c].
    """
    for c in prange(x.shape[1]):
        _affine_channel(x, c, center[c], scale[c], shift[c], out)


@njit_kernel
def _affine_channel(x, c, center, scale, shift, out):
    """out[:, c, :] = (x[:, c, :] - center) * scale + shift.

    Subtracting the centre first (rather than folding it into the shift) keeps float32
    accurate when the mean is large compared with the spread.
    """
    n_img, length = x.shape[0], x.shape[2]
    m = out.dtype.type(center)
    sc = out.dtype.type(scale)
    sh = out.dtype.type(shift)
    for n in range(n_img):
        src = x[n, c]
        dst = out[n, c]
        for i in range(length):
            dst[i] = (src[i] - m) * sc + sh


@njit_kernel(parallel=PARALLEL)
def batchnorm_backward(x, dout, mean, inv_std, gamma, training, dx, dgamma, dbeta):
    """Gradients of batch norm (compact form).

    x, dout (N, C, L); mean, inv_std, gamma (C,) float64.
    With M = N*L, g = dout and xhat = (x - mean) * inv_std:

        dbeta[c]  = sum(g)                  dgamma[c] = sum(g * xhat)
        training: dx = gamma * inv_std / M * (M * g - dbeta - xhat * dgamma)
        eval:     dx = gamma * inv_std * g  (mean and inv_std are constants)

    which is cs231n's dx = (1/M) * inv_std * (M*dxhat - sum(dxhat) - xhat*sum(dxhat*xhat))
    with dxhat = gamma * g. Written: dx (N, C, L); dgamma, dbeta (C,) float64.
    """
    n_img, n_chan, length = x.shape
    count = n_img * length
    for c in prange(n_chan):
        mu = mean[c]
        istd = inv_std[c]
        sg = 0.0
        sgx = 0.0
        for n in range(n_img):
            xr = x[n, c]
            gr = dout[n, c]
            for i in range(length):
                g = gr[i]
                sg += g
                sgx += g * (xr[i] - mu)
        sgx *= istd
        dbeta[c] = sg
        dgamma[c] = sgx
        k = gamma[c] * istd
        if training:
            # dx = k * (g - sg/M - xhat * sgx/M) = a*g + b*(x - mu) + d, xhat = (x - mu) * istd
            b = -k * istd * sgx / count
            d = -k * sg / count
        else:
            b = 0.0
            d = 0.0
        af = dx.dtype.type(k)
        bf = dx.dtype.type(b)
        df = dx.dtype.type(d)
        mf = dx.dtype.type(mu)
        for n in range(n_img):
            xr = x[n, c]
            gr = dout[n, c]
            dr = dx[n, c]
            for i in range(length):
                dr[i] = af * gr[i] + bf * (xr[i] - mf) + df
