"""Winograd F(2x2, 3x3) for ``Conv2d``: the forward and backward of a 3x3 stride-1 convolution.

Per chunk of images: the input tiles, the filters (``winograd_filters``) and, in backward, dout
are transformed, and the 16 transformed positions are 16 matrix products (2.25x fewer multiplies
than a direct 3x3 product). The tile transforms are the Numba kernels of
``layernet/kernels/winograd.py``; the filter transform G and the matrix products are here.
``Conv2d`` (``layers/conv.py``) decides when this path is taken (``WINOGRAD_MIN_CHANNELS``,
``WINOGRAD_MIN_SIZE``) and how many images a chunk holds (``Conv2d._winograd_plan``).
"""

from __future__ import annotations

import numpy as np

from .._blas import batched
from ..kernels.winograd import winograd_dout, winograd_input, winograd_input_grad, winograd_output

#: Winograd's filter transform G (4x3); U = G g G^T for each 3x3 filter g.
_WINOGRAD_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def winograd_filters(W):
    """U (16, F, C): G g G^T of every filter g = W[f, c], element (a, b) at index 4*a + b."""
    g = _WINOGRAD_G.astype(W.dtype)
    f, c = W.shape[:2]
    return np.ascontiguousarray(np.einsum("ai,fcij,bj->abfc", g, W, g).reshape(16, f, c))


def winograd_forward(x, W, b, out, padding, plan):
    """out (N, F, OH, OW) = the 3x3 stride-1 convolution of x (N, C, H, W) with W (F, C, 3, 3) and b (F,),
    zero ``padding`` (ph, pw); ``plan`` is ``Conv2d._winograd_plan``'s (tile rows, tile columns, images per chunk)."""
    (ph, pw), (n, c), f = padding, x.shape[:2], W.shape[0]
    th, tw, chunk = plan
    ut = winograd_filters(W)
    vbuf = np.empty(16 * c * chunk * th * tw, dtype=x.dtype)
    mbuf = np.empty(16 * f * chunk * th * tw, dtype=x.dtype)
    for n0 in range(0, n, chunk):
        tiles = min(chunk, n - n0) * th * tw
        v, m = vbuf[: 16 * c * tiles].reshape(16, c, tiles), mbuf[: 16 * f * tiles].reshape(16, f, tiles)
        winograd_input(x, n0, ph, pw, th, tw, v)
        batched(lambda k, _: np.matmul(ut[k], v[k], out=m[k]), 16)  # M[k] = U[k] @ V[k]
        winograd_output(m, b, n0, th, tw, out)


def winograd_backward(x, W, dout, padding, plan, needs_input_grad):
    """``(dW, dx)`` of ``winograd_forward`` for dout (N, F, OH, OW); dx is None unless ``needs_input_grad``."""
    (ph, pw), (n, c), f = padding, x.shape[:2], W.shape[0]
    th, tw, chunk = plan
    u = np.ascontiguousarray(winograd_filters(W).transpose(0, 2, 1))  # (16, C, F)
    vbuf = np.empty(16 * c * chunk * th * tw, dtype=x.dtype)
    gbuf = np.empty(16 * f * chunk * th * tw, dtype=x.dtype)
    dvbuf = np.empty_like(vbuf) if needs_input_grad else None
    du = np.zeros((16, f, c), dtype=x.dtype)
    dx = np.empty(x.shape, dtype=x.dtype) if needs_input_grad else None
    for n0 in range(0, n, chunk):
        tiles = min(chunk, n - n0) * th * tw
        v, mg = vbuf[: 16 * c * tiles].reshape(16, c, tiles), gbuf[: 16 * f * tiles].reshape(16, f, tiles)
        winograd_input(x, n0, ph, pw, th, tw, v)
        winograd_dout(dout, n0, th, tw, mg)
        batched(lambda k, _: np.add(du[k], mg[k] @ v[k].T, out=du[k]), 16)  # dU[k] += Mg[k] @ V[k]^T
        if dx is not None:
            dv = dvbuf[: 16 * c * tiles].reshape(16, c, tiles)
            batched(lambda k, _: np.matmul(u[k], mg[k], out=dv[k]), 16)  # dV[k] = U[k]^T @ Mg[k]
            winograd_input_grad(dv, n0, ph, pw, th, tw, dx)
    g = _WINOGRAD_G.astype(x.dtype)
    dW = np.ascontiguousarray(np.einsum("ai,abfc,bj->fcij", g, du.reshape(4, 4, f, c), g))
    return dW, dx
