"""The general convolution path: dilation and groups, by im2col per group (issue 15).

Used by ``Conv2d`` only when ``dilation != 1`` or ``groups != 1``; the fast paths in
``kernels/conv.py`` handle the ordinary case. With the input zero-padded to ``xp (N, C, Hp, Wp)``,
group g's channels ``c0 = g * Cg .. c0 + Cg - 1`` and a dilation (dh, dw), the column matrix of
the group holds, for output pixel r = (n, i, j) and tap k = (c, a, b) (C order, so a weight
``W[f, c, a, b]`` of the group reshaped to (Fg, Cg*KH*KW) lines up with it):

    cols[r, k] = xp[n, c0 + c, i*sh + a*dh, j*sw + b*dw]

so out_g = cols @ W_g^T, dW_g = dout_g^T @ cols and dcols = dout_g @ W_g, whose entries are added
back to the pixels they were read from (col2im). ``prange`` over images: each image's rows and
its part of ``dxp`` belong to one thread, so results do not depend on the thread count.
"""

from __future__ import annotations

from numba import prange

from ._jit import njit_kernel


@njit_kernel(parallel=True)
def im2col_group(xp, c0, cg, kh, kw, sh, sw, dh, dw, oh, ow, cols):
    """xp (N, C, Hp, Wp) -> cols (N*OH*OW, cg*KH*KW) of channels c0 .. c0 + cg - 1 (see the module docstring)."""
    for n in prange(xp.shape[0]):
        for i in range(oh):
            for j in range(ow):
                row = cols[(n * oh + i) * ow + j]
                k = 0
                for c in range(cg):
                    plane = xp[n, c0 + c]
                    for a in range(kh):
                        src = plane[i * sh + a * dh]
                        for b in range(kw):
                            row[k] = src[j * sw + b * dw]
                            k += 1


@njit_kernel(parallel=True)
def col2im_group(dcols, c0, cg, kh, kw, sh, sw, dh, dw, oh, ow, dxp):
    """The adjoint of ``im2col_group``: dxp[n, c0 + c, i*sh + a*dh, j*sw + b*dw] += dcols[r, k].

    dcols (N*OH*OW, cg*KH*KW); dxp (N, C, Hp, Wp), accumulated into (the caller zeroes it once).
    """
    for n in prange(dxp.shape[0]):
        for i in range(oh):
            for j in range(ow):
                row = dcols[(n * oh + i) * ow + j]
                k = 0
                for c in range(cg):
                    plane = dxp[n, c0 + c]
                    for a in range(kh):
                        dst = plane[i * sh + a * dh]
                        for b in range(kw):
                            dst[j * sw + b * dw] += row[k]
                            k += 1
