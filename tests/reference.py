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

