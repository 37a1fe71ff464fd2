"""Plain numpy layers, written the textbook way (cs231n's fast_layers), as a baseline column.

Each function pair is ``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache) -> grads``.
No Numba, no tricks beyond what the cs231n notes show: im2col through a strided window view and
one matrix product; col2im as a loop over the kernel taps; pooling and batch norm as array
expressions. Not used by the library.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_forward(x, w, b, pad):
    """x (N, C, H, W), w (F, C, KH, KW), stride 1, zero padding ``pad`` -> out (N, F, OH, OW)."""
    f, c, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, (kh, kw), axis=(2, 3))  # (N, C, OH, OW, KH, KW)
    n, _, oh, ow = windows.shape[:4]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)
    out = cols @ w.reshape(f, -1).T + b
    return out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2), (xp.shape, cols, w, pad)


def conv_backward(dout, cache):
    """-> (dx, dw, db) for ``conv_forward``; col2im adds each tap's slab back into the padded dx."""
    xp_shape, cols, w, pad = cache
    f, c, kh, kw = w.shape
    n, _, oh, ow = dout.shape
    dmat = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    db = dmat.sum(axis=0)
    dw = (dmat.T @ cols).reshape(w.shape)
    dcols = (dmat @ w.reshape(f, -1)).reshape(n, oh, ow, c, kh, kw)
    dxp = np.zeros(xp_shape, dtype=dout.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + oh, j:j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    dx = dxp[:, :, pad:xp_shape[2] - pad, pad:xp_shape[3] - pad]
    return dx, dw, db


def maxpool_forward(x):
    """2x2 stride-2 max pooling by a reshape (H and W even)."""
    n, c, h, w = x.shape
    out = x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
    return out, (x, out)


def maxpool_backward(dout, cache):
    """The gradient goes to every position equal to its window's max (ties share it)."""
    x, out = cache
    n, c, h, w = x.shape
    mask = x.reshape(n, c, h // 2, 2, w // 2, 2) == out[:, :, :, None, :, None]
    return (mask * dout[:, :, :, None, :, None]).reshape(x.shape)


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Spatial batch norm in training mode, statistics over N, H, W."""
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean) * inv_std
    return gamma[None, :, None, None] * xhat + beta[None, :, None, None], (xhat, inv_std, gamma)


def batchnorm_backward(dout, cache):
    """The compact form dx = inv_std/M * (M dxhat - sum dxhat - xhat sum(dxhat xhat))."""
    xhat, inv_std, gamma = cache
    m = dout.shape[0] * dout.shape[2] * dout.shape[3]
    dbeta = dout.sum(axis=(0, 2, 3))
    dgamma = (dout * xhat).sum(axis=(0, 2, 3))
    dxhat = dout * gamma[None, :, None, None]
    dx = inv_std / m * (m * dxhat - dxhat.sum(axis=(0, 2, 3), keepdims=True)
                        - xhat * (dxhat * xhat).sum(axis=(0, 2, 3), keepdims=True))
    return dx, dgamma, dbeta


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def softmax_ce_forward(scores, y):
    """Mean cross-entropy of softmax(scores) and the gradient (probabilities minus one-hot) / N."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    n = scores.shape[0]
    loss = -log_p[np.arange(n), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1
    return loss, dscores / n
