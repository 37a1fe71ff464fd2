"""Convolution kernels (NCHW, zero padding, cross-correlation as in every deep-learning library).

The im2col way to compute ``out[n, f, oh, ow] = b[f] + sum_{c,kh,kw} W[f, c, kh, kw] *
xp[n, c, oh*sh + kh, ow*sw + kw]`` (``xp`` is x inside a zero border of ``(ph, pw)``); one input
channel at stride 1 has its own kernels in ``conv_one_channel.py``.

- **im2col, any channel count and stride** (``pad_channels_last``, ``im2col_rows``,
  ``rows_to_nchw``, ``col2im_rows``): a chunk of images is copied into a padded channels-last
  buffer ``(B, Hp, Wp*C)``; the column matrix has one row per output pixel ``(b, oh, ow)`` and
  columns ordered ``(kh, kw, c)``, so each copy is a contiguous run of ``C`` (``KW*C`` at
  stride 1). The caller multiplies with numpy (BLAS); the backward's products read dout in its
  NCHW layout directly, so only the forward's product needs a layout kernel (``rows_to_nchw``).

All output and workspace arrays are allocated by the caller. Kernels are generic over float32
and float64. The im2col kernels (``pad_channels_last``, ``im2col_rows``, ``rows_to_nchw``,
``col2im_rows``) are serial: the layer runs whole chunks (copies and products) in parallel,
one chunk per thread (``layernet/_blas.py``).
"""

from __future__ import annotations

from ._jit import njit_kernel

# --------------------------------------------------------------------------- im2col (any C)


@njit_kernel
def pad_channels_last(x, n0, ph, pw, xpc):
    """Copy images ``n0 .. n0+B-1`` of x (N, C, H, W) into xpc (B, Hp, Wp*C), channels last.

    xpc[b, h + ph, (w + pw)*C + c] = x[n0 + b, c, h, w]. Only the interior is written: the
    caller zeroes the border once and reuses the buffer.
    """
    n_chan, height, width = x.shape[1], x.shape[2], x.shape[3]
    for b in range(xpc.shape[0]):
        for c in range(n_chan):
            for h in range(height):
                src = x[n0 + b, c, h]
                dst = xpc[b, h + ph]
                for w_ in range(width):
                    dst[(w_ + pw) * n_chan + c] = src[w_]


@njit_kernel
def im2col_rows(xpc, n_chan, kh_n, kw_n, sh, sw, oh_n, ow_n, cols):
    """Column matrix of a padded channels-last chunk.

    xpc (B, Hp, Wp*C) -> cols (B*OH*OW, KH*KW*C): row (b*OH + oh)*OW + ow holds the input
    window of that output pixel, columns ordered (kh, kw, c).
    """
    run = kw_n * n_chan
    for b in range(xpc.shape[0]):
        for oh in range(oh_n):
            for ow in range(ow_n):
                row = cols[(b * oh_n + oh) * ow_n + ow]
                for kh in range(kh_n):
                    src = xpc[b, oh * sh + kh]
                    if sw == 1:  # the KW taps of a row are one contiguous run
                        s = src[ow * n_chan : ow * n_chan + run]
                        d = row[kh * run : kh * run + run]
                        for i in range(run):
                            d[i] = s[i]
                    else:
                        for kw in range(kw_n):
                            start = (ow * sw + kw) * n_chan
                            s = src[start : start + n_chan]
                            d = row[kh * run + kw * n_chan : kh * run + kw * n_chan + n_chan]
                            for i in range(n_chan):
                                d[i] = s[i]


@njit_kernel
def rows_to_nchw(mat, bias, n0, out):
    """out[n0 + b, f, p] = mat[b*P + p, f] + bias[f] for the B images of a chunk.

    mat (B*P, F) is the product cols @ W_mat; out (N, F, P) with P = OH*OW; bias (F,).
    """
    n_filt, n_pix = out.shape[1], out.shape[2]
    for b in range(mat.shape[0] // n_pix):
        for f in range(n_filt):
            dst = out[n0 + b, f]
            bf = bias[f]
            for p in range(n_pix):
                dst[p] = mat[b * n_pix + p, f] + bf


@njit_kernel
def col2im_rows(dcols, kh_n, kw_n, sh, sw, oh_n, ow_n, ph, pw, dxpc, n0, dx):
    """Adjoint of ``im2col_rows`` followed by the adjoint of the padding.

    dcols (B*OH*OW, KH*KW*C): gradient w.r.t. the columns; every entry is added back to the
    input pixel it was copied from, in dxpc (B, Hp, Wp*C) (workspace, zeroed here); the interior
    is then written, channels first again, to dx[n0 + b] (dx is (N, C, H, W)).
    Serial: the layer runs its chunks in parallel instead (``layernet/_blas.py``), and a
    parallel Numba kernel may not be entered from two threads at once.
    """
    n_chan, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    run = kw_n * n_chan
    zero = dx.dtype.type(0)
    for b in range(dxpc.shape[0]):
        g = dxpc[b]
        for h in range(g.shape[0]):
            grow = g[h]
            for i in range(grow.shape[0]):
                grow[i] = zero
        for oh in range(oh_n):
            for ow in range(ow_n):
                row = dcols[(b * oh_n + oh) * ow_n + ow]
                for kh in range(kh_n):
                    dst = g[oh * sh + kh]
                    if sw == 1:
                        d = dst[ow * n_chan : ow * n_chan + run]
                        s = row[kh * run : kh * run + run]
                        for i in range(run):
                            d[i] += s[i]
                    else:
                        for kw in range(kw_n):
                            start = (ow * sw + kw) * n_chan
                            d = dst[start : start + n_chan]
                            s = row[kh * run + kw * n_chan : kh * run + kw * n_chan + n_chan]
                            for i in range(n_chan):
                                d[i] += s[i]
        for c in range(n_chan):
            for h in range(height):
                src = g[h + ph]
                dst = dx[n0 + b, c, h]
                for w_ in range(width):
                    dst[w_] = src[(w_ + pw) * n_chan + c]
