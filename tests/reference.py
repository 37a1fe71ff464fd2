"""Slow, obvious reference implementations (nested loops) to check the fast kernels against."""

import numpy as np


# --------------------------------------------------------------------------- convolution
def conv_forward_naive(x, w, b, stride, pad):
    """cs231n's conv_forward_naive with (h, w) pairs: x (N, C, H, W), w (F, C, KH, KW), b (F,)."""
    (sh, sw), (ph, pw) = stride, pad
    n_img, _, height, width = x.shape
    n_filt, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh, ow = (height + 2 * ph - kh) // sh + 1, (width + 2 * pw - kw) // sw + 1
    out = np.zeros((n_img, n_filt, oh, ow), dtype=np.result_type(x, w))
    for n in range(n_img):
        for f in range(n_filt):
            for i in range(oh):
                for j in range(ow):
                    window = xp[n, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def conv_backward_naive(dout, x, w, stride, pad):
    """Gradients (dx, dw, db) of conv_forward_naive, looping over every output pixel."""
    (sh, sw), (ph, pw) = stride, pad
    height, width = x.shape[2], x.shape[3]
    _, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    n_img, n_filt, oh, ow = dout.shape
    for n in range(n_img):
        for f in range(n_filt):
            for i in range(oh):
                for j in range(ow):
                    rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    db = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, ph : ph + height, pw : pw + width], dw, db


# --------------------------------------------------------------------------- pooling, batch norm
def maxpool_naive(x, kernel, stride):
    """Max pooling by loops over every window: returns out and dx for a given dout via a closure.

    x (N, C, H, W); kernel, stride (h, w) pairs. Returns (out, backward) where backward(dout)
    gives dx, routing each gradient to the first maximum in row-major window order.
    """
    (kh, kw), (sh, sw) = kernel, stride
    n_img, n_chan, height, width = x.shape
    oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((n_img, n_chan, oh, ow), dtype=x.dtype)
    where = np.zeros((n_img, n_chan, oh, ow, 2), dtype=int)
    for n in range(n_img):
        for c in range(n_chan):
            for i in range(oh):
                for j in range(ow):
                    window = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)  # first maximum
                    out[n, c, i, j] = window[a, b]
                    where[n, c, i, j] = (i * sh + a, j * sw + b)

    def backward(dout):
        dx = np.zeros_like(x)
        for n in range(n_img):
            for c in range(n_chan):
                for i in range(oh):
                    for j in range(ow):
                        a, b = where[n, c, i, j]
                        dx[n, c, a, b] += dout[n, c, i, j]
        return dx

    return out, backward


def avgpool_naive(x, kernel, stride, dout):
    """Average pooling by loops: returns (out, dx) for x (N, C, H, W) and dout (N, C, OH, OW)."""
    (kh, kw), (sh, sw) = kernel, stride
    n_img, n_chan, height, width = x.shape
    oh, ow = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((n_img, n_chan, oh, ow), dtype=x.dtype)
    dx = np.zeros_like(x)
    for n in range(n_img):
        for c in range(n_chan):
            for i in range(oh):
                for j in range(ow):
                    out[n, c, i, j] = x[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw].mean()
                    dx[n, c, i * sh : i * sh + kh, j * sw : j * sw + kw] += dout[n, c, i, j] / (kh * kw)
    return out, dx


def batchnorm_train_naive(x, gamma, beta, eps, dout):
    """Training batch norm the long way (cs231n's staged graph): returns (out, dx, dgamma, dbeta, mean, var).

    x (N, D) or (N, C, H, W); statistics per feature over every other axis; var is biased.
    """
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
    m = x.size // x.shape[1]
    mean = x.mean(axis=axes)
    xc = x - mean.reshape(shape)
    var = (xc**2).mean(axis=axes)
    std = np.sqrt(var + eps)
    xhat = xc / std.reshape(shape)
    out = gamma.reshape(shape) * xhat + beta.reshape(shape)
    # backward through each stage of the graph
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    dxhat = dout * gamma.reshape(shape)
    dxc = dxhat / std.reshape(shape)
    dstd = -(dxhat * xc).sum(axis=axes) / std**2
    dvar = dstd / (2 * std)
    dxc = dxc + 2 * xc * dvar.reshape(shape) / m
    dmean = -dxc.sum(axis=axes)
    dx = dxc + dmean.reshape(shape) / m
    return out, dx, dgamma, dbeta, mean, var
