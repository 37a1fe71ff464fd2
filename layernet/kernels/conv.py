"""Convolution kernels (NCHW, zero padding, cross-correlation as in every deep-learning library).

Two ways to compute ``out[n, f, oh, ow] = b[f] + sum_{c,kh,kw} W[f, c, kh, kw] *
xp[n, c, oh*sh + kh, ow*sw + kw]`` (``xp`` is x inside a zero border of ``(ph, pw)``):

- **Direct, one input channel, stride 1** (``direct_forward``, ``direct_backward``): every
  kernel tap ``(kh, kw)`` is one long multiply-add loop over the whole output plane. The plane is
  kept "wide", with the row pitch ``Wp`` of the padded input, so that tap's input is a single
  contiguous run ``xp_flat[kh*Wp + kw : kh*Wp + kw + L]`` with ``L = (OH - 1)*Wp + OW``; the
  ``Wp - OW`` extra columns of each wide row are computed and thrown away. No im2col. The
  forward adds four taps per pass over the plane, and the backward takes four taps' weight
  gradients (dot products) per pass (128x1x28x28 -> 32 filters, 2 cores, against one tap per
  pass: forward 5x5 5.6-6.1 -> 3.9 ms, 7x7 8.1-10.3 -> 6.1-6.8 ms; weight gradient 5x5 5.0-6.2
  -> 3.9-4.7 ms, 7x7 8.4-9.3 -> 6.2-6.8 ms).
- **im2col, any channel count and stride** (``pad_channels_last``, ``im2col_rows``,
  ``rows_to_nchw``, ``col2im_rows``): a chunk of images is copied into a padded channels-last
  buffer ``(B, Hp, Wp*C)``; the column matrix has one row per output pixel ``(b, oh, ow)`` and
  columns ordered ``(kh, kw, c)``, so each copy is a contiguous run of ``C`` (``KW*C`` at
  stride 1). The caller multiplies with numpy (BLAS); the backward's products read dout in its
  NCHW layout directly, so only the forward's product needs a layout kernel (``rows_to_nchw``).

All output and workspace arrays are allocated by the caller. Kernels are generic over float32
and float64. The direct kernels run ``prange`` over images, and every image's
outputs are written by one thread, so results do not depend on the number of threads. The
im2col kernels (``pad_channels_last``, ``im2col_rows``, ``rows_to_nchw``, ``col2im_rows``) are serial: the layer runs whole chunks (copies and products) in parallel,
one chunk per thread (``layernet/_blas.py``).
"""

from __future__ import annotations

from numba import prange

from ._jit import njit_kernel

# --------------------------------------------------------------------------- direct (C = 1)


@njit_kernel
def _tap_offset(t, kw_n, wp):
    """Where tap t = kh*KW + kw reads in a flattened padded plane of row pitch Wp: kh*Wp + kw."""
    return (t // kw_n) * wp + t % kw_n


@njit_kernel(parallel=True)
def direct_forward(xp, w, b, wp, out, acc):
    """Stride-1 convolution of one-channel images.

    xp (N, Hp*Wp): zero-padded input planes, flattened; w (F, KH, KW); b (F,);
    wp: the padded width Wp; out (N, F, OH, OW) is written;
    acc (N, L) workspace, L = (OH - 1)*Wp + OW (one wide output plane per image).
    """
    n_img, n_filt, oh_n, ow_n = out.shape
    kh_n, kw_n = w.shape[1], w.shape[2]
    n_taps = kh_n * kw_n
    length = (oh_n - 1) * wp + ow_n
    for n in prange(n_img):
        xf = xp[n]
        a = acc[n]
        for f in range(n_filt):
            bias = b[f]
            for i in range(length):
                a[i] = bias
            # taps t = kh*KW + kw in groups of four per pass over the plane: one load and one
            # store of a[i] per four multiply-adds (one per multiply-add tap by tap)
            t = 0
            while t + 4 <= n_taps:
                o0, o1 = _tap_offset(t, kw_n, wp), _tap_offset(t + 1, kw_n, wp)
                o2, o3 = _tap_offset(t + 2, kw_n, wp), _tap_offset(t + 3, kw_n, wp)
                s0, s1 = xf[o0 : o0 + length], xf[o1 : o1 + length]
                s2, s3 = xf[o2 : o2 + length], xf[o3 : o3 + length]
                w0, w1 = w[f, t // kw_n, t % kw_n], w[f, (t + 1) // kw_n, (t + 1) % kw_n]
                w2, w3 = w[f, (t + 2) // kw_n, (t + 2) % kw_n], w[f, (t + 3) // kw_n, (t + 3) % kw_n]
                for i in range(length):
                    a[i] += w0 * s0[i] + w1 * s1[i] + w2 * s2[i] + w3 * s3[i]
                t += 4
            while t < n_taps:
                o0 = _tap_offset(t, kw_n, wp)
                s0 = xf[o0 : o0 + length]
                w0 = w[f, t // kw_n, t % kw_n]
                for i in range(length):
                    a[i] += w0 * s0[i]
                t += 1
            for oh in range(oh_n):
                row = a[oh * wp : oh * wp + ow_n]
                dst = out[n, f, oh]
                for ow in range(ow_n):
                    dst[ow] = row[ow]


@njit_kernel(parallel=True)
def direct_backward(xp, w, dout, wp, need_dx, dw_part, dxp, dwide):
    """Gradients of ``direct_forward``.

    xp (N, Hp*Wp) padded input; w (F, KH, KW); dout (N, F, OH, OW); wp the padded width.
    dw_part (N, F, KH, KW) is written with each image's weight gradient (the caller sums over N
    in a fixed order): dW[f, kh, kw] = sum over output pixels of dout * the input under that tap.
    dxp (N, Hp*Wp) is written with the gradient w.r.t. the padded input if ``need_dx``: each
    output pixel's dout, times each tap's weight, flows back to the input pixel under that tap.
    dwide (N, L) workspace, L = (OH - 1)*Wp + OW: dout in wide rows with zeros in the gaps.
    """
    n_img, n_filt, oh_n, ow_n = dout.shape
    kh_n, kw_n = w.shape[1], w.shape[2]
    n_taps = kh_n * kw_n
    length = (oh_n - 1) * wp + ow_n
    zero = xp.dtype.type(0)
    for n in prange(n_img):
        xf = xp[n]
        d = dwide[n]
        g = dxp[n]
        for i in range(length):
            d[i] = zero
        if need_dx:
            for i in range(g.shape[0]):
                g[i] = zero
        for f in range(n_filt):
            for oh in range(oh_n):
                src = dout[n, f, oh]
                row = d[oh * wp : oh * wp + ow_n]
                for ow in range(ow_n):
                    row[ow] = src[ow]
            # dW: one dot product per tap, four taps per pass (d[i] is loaded once for four)
            t = 0
            while t + 4 <= n_taps:
                o0, o1 = _tap_offset(t, kw_n, wp), _tap_offset(t + 1, kw_n, wp)
                o2, o3 = _tap_offset(t + 2, kw_n, wp), _tap_offset(t + 3, kw_n, wp)
                x0, x1 = xf[o0 : o0 + length], xf[o1 : o1 + length]
                x2, x3 = xf[o2 : o2 + length], xf[o3 : o3 + length]
                s0 = s1 = s2 = s3 = zero
                for i in range(length):
                    di = d[i]
                    s0 += di * x0[i]
                    s1 += di * x1[i]
                    s2 += di * x2[i]
                    s3 += di * x3[i]
                dw_part[n, f, t // kw_n, t % kw_n] = s0
                dw_part[n, f, (t + 1) // kw_n, (t + 1) % kw_n] = s1
                dw_part[n, f, (t + 2) // kw_n, (t + 2) % kw_n] = s2
                dw_part[n, f, (t + 3) // kw_n, (t + 3) % kw_n] = s3
                t += 4
            while t < n_taps:
                o0 = _tap_offset(t, kw_n, wp)
                x0 = xf[o0 : o0 + length]
                s0 = zero
                for i in range(length):
                    s0 += d[i] * x0[i]
                dw_part[n, f, t // kw_n, t % kw_n] = s0
                t += 1
            if need_dx:  # each output pixel's gradient flows back to the input under every tap
                for kh in range(kh_n):
                    for kw in range(kw_n):
                        wv = w[f, kh, kw]
                        start = kh * wp + kw
                        gs = g[start : start + length]
                        for i in range(length):
                            gs[i] += wv * d[i]


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
