"""Forward and backward of ``Conv2d``'s general path (dilation, groups); the kernels are in
``layernet/kernels/conv_general.py``, the layer and its conventions in ``layers/conv.py``."""

from __future__ import annotations

import numpy as np

from ..kernels.conv_general import col2im_group, im2col_group


def _pad(x, ph, pw):
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def general_forward(x, W, b, stride, padding, dilation, groups, oh, ow):
    """x (N, C, H, W), W (F, C/groups, KH, KW), b (F,) -> out (N, F, OH, OW); one GEMM per group."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n = x.shape[0]
    f, cg, kh, kw = W.shape
    fg = f // groups
    xp = _pad(x, ph, pw)
    cols = np.empty((n * oh * ow, cg * kh * kw), dtype=x.dtype)
    out = np.empty((n, f, oh, ow), dtype=x.dtype)
    for g in range(groups):
        im2col_group(xp, g * cg, cg, kh, kw, sh, sw, dh, dw, oh, ow, cols)
        w_mat = W[g * fg:(g + 1) * fg].reshape(fg, -1)
        prod = cols @ w_mat.T                                    # (N*OH*OW, Fg)
        out[:, g * fg:(g + 1) * fg] = prod.reshape(n, oh, ow, fg).transpose(0, 3, 1, 2)
    out += b.reshape(1, f, 1, 1)
    return out


def general_backward(x, W, dout, stride, padding, dilation, groups, need_dx: bool):
    """(dW (F, C/groups, KH, KW), dx (N, C, H, W) or None) for dout (N, F, OH, OW)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, _, h, w = x.shape
    f, cg, kh, kw = W.shape
    fg = f // groups
    oh, ow = dout.shape[2:]
    xp = _pad(x, ph, pw)
    cols = np.empty((n * oh * ow, cg * kh * kw), dtype=x.dtype)
    dW = np.empty_like(W)
    dxp = np.zeros_like(xp) if need_dx else None
    for g in range(groups):
        im2col_group(xp, g * cg, cg, kh, kw, sh, sw, dh, dw, oh, ow, cols)
        drows = np.ascontiguousarray(dout[:, g * fg:(g + 1) * fg].transpose(0, 2, 3, 1)).reshape(-1, fg)
        dW[g * fg:(g + 1) * fg] = (drows.T @ cols).reshape(fg, cg, kh, kw)
        if need_dx:
            dcols = drows @ W[g * fg:(g + 1) * fg].reshape(fg, -1)
            col2im_group(dcols, g * cg, cg, kh, kw, sh, sw, dh, dw, oh, ow, dxp)
    dx = np.ascontiguousarray(dxp[:, :, ph:ph + h, pw:pw + w]) if need_dx else None
    return dW, dx
