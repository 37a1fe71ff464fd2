"""Kernels of the one-input-channel, stride-1 convolution (``layers/conv_one_channel.py``).

The layer computes each image's convolution as matrix products with the image's columns in the
(K, P) layout, K = KH*KW taps by P = OH*OW output pixels:

    cols[t, oh, ow] = xp[oh + kh, ow + kw]          for tap t = kh*KW + kw

(``xp`` is the image inside a zero border of ``(ph, pw)``), so ``W (F, K) @ cols (K, P)`` is the
image's output plane in NCHW order, ``dout (F, P) @ cols^T`` its weight gradient and
``W^T @ dout`` the gradient of its columns, which ``one_channel_col2im`` adds back to the input
pixels. Both kernels are serial: the layer runs chunks of images as jobs over the BLAS threads
(``layernet/_blas.py``), each job writing only its own images.
"""

from __future__ import annotations

from ._jit import njit_kernel


@njit_kernel
def one_channel_columns(xp, n0, kh_n, kw_n, cols):
    """The columns of images ``n0 .. n0+B-1``.

    xp (N, Hp, Wp) zero-padded one-channel images; cols (B, R, OH, OW) with R >= KH*KW: row
    t = kh*KW + kw of image b is written with ``xp[n0 + b, oh + kh, ow + kw]``; rows from KH*KW
    on are left as they are (the layer keeps a row of ones there for the bias).
    """
    oh_n, ow_n = cols.shape[2], cols.shape[3]
    for b in range(cols.shape[0]):
        img = xp[n0 + b]
        for kh in range(kh_n):
            for kw in range(kw_n):
                tap = cols[b, kh * kw_n + kw]
                for oh in range(oh_n):
                    src = img[oh + kh, kw : kw + ow_n]
                    dst = tap[oh]
                    for ow in range(ow_n):
                        dst[ow] = src[ow]


@njit_kernel
def one_channel_col2im(dcols, n0, kh_n, kw_n, ph, pw, dx):
    """The adjoint of ``one_channel_columns`` and of the padding, for images ``n0 .. n0+B-1``.

    dcols (B, R, OH, OW), R >= KH*KW: the gradient w.r.t. the columns (rows from KH*KW on are
    ignored); dx (N, 1, H, W): image n0 + b is overwritten with the sum, over the taps, of each
    column entry added back to the input pixel it was read from,
    ``dx[n0 + b, 0, oh + kh - ph, ow + kw - pw] += dcols[b, kh*KW + kw, oh, ow]``; entries that
    were read from the padding are dropped. Taps are added in order t = 0, 1, ...
    """
    oh_n, ow_n = dcols.shape[2], dcols.shape[3]
    h_n, w_n = dx.shape[2], dx.shape[3]
    zero = dx.dtype.type(0)
    for b in range(dcols.shape[0]):
        img = dx[n0 + b, 0]
        for h in range(h_n):
            row = img[h]
            for w in range(w_n):
                row[w] = zero
        for kh in range(kh_n):
            # output rows oh and columns ow whose tap (kh, kw) reads inside the image
            oh_lo, oh_hi = max(0, ph - kh), min(oh_n, h_n + ph - kh)
            for kw in range(kw_n):
                ow_lo, ow_hi = max(0, pw - kw), min(ow_n, w_n + pw - kw)
                tap = dcols[b, kh * kw_n + kw]
                for oh in range(oh_lo, oh_hi):
                    src = tap[oh, ow_lo:ow_hi]
                    dst = img[oh + kh - ph, ow_lo + kw - pw : ow_hi + kw - pw]
                    for i in range(ow_hi - ow_lo):
                        dst[i] += src[i]
