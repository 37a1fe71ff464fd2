"""Pooling kernels (max and average, no padding, any kernel and stride).

The caller views the input as a stack of planes, ``x (P, H, W)`` with ``P = N*C``, and
allocates every output with numpy. ``prange`` runs over planes: each plane of ``out`` and of
``dx`` is written by exactly one thread, so overlapping windows (stride < kernel) add their
gradients without races and results do not depend on the number of threads.

Output size (floor): ``OH = (H - KH) // SH + 1``, ``OW = (W - KW) // SW + 1``.

Max pooling stores, per output pixel, the position of the window's maximum *inside the window*
(``i*KW + j``), so the index array can be ``uint8`` for windows of up to 256 elements (a quarter
of the traffic of a flat int32 index). Tie rule: the first maximum in row-major window order
wins (a strict ``>`` comparison), as in PyTorch. Unlike PyTorch, a NaN is not propagated unless it
is the window's first element (a NaN test in the comparison made the 2x2 kernel 7x slower).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import njit_kernel

#: Measured on the 2-core machines (128x32x28x28 float32, 2x2 max pool): the single-threaded
#: kernels were as fast as or faster than ``parallel=True`` (both Numba threading layers), and far
#: faster when the cores are shared, because a memory-bound pass gains little from a second thread
#: while a parallel region waits for its slowest thread. ``prange`` stays, so flipping this flag
#: is all it takes to parallelise (still deterministic: one thread per plane).
PARALLEL = False


@njit_kernel(parallel=PARALLEL)
def maxpool_forward(x, kh, kw, sh, sw, out, argmax):
    """Max pooling.

    x (P, H, W) -> out (P, OH, OW): the maximum of each KH x KW window at stride (SH, SW).
    argmax (P, OH, OW), an integer array (uint8 when KH*KW <= 256): the position ``i*KW + j``
    of the first maximum in the window (row-major order).
    """
    n_planes, oh_n, ow_n = out.shape
    for p in prange(n_planes):
        for oh in range(oh_n):
            h0 = oh * sh
            dst = out[p, oh]
            idx = argmax[p, oh]
            for ow in range(ow_n):
                w0 = ow * sw
                best = x[p, h0, w0]
                pos = 0
                for i in range(kh):
                    row = x[p, h0 + i]
                    for j in range(kw):
                        v = row[w0 + j]
                        if v > best:
                            best = v
                            pos = i * kw + j
                dst[ow] = best
                idx[ow] = pos


@njit_kernel(parallel=PARALLEL)
def maxpool_forward_2x2(x, out, argmax):
    """Max pooling with a 2x2 window at stride 2, the common case, unrolled.

    x (P, H, W) -> out (P, H//2, W//2), argmax as in ``maxpool_forward`` (0..3).
    Same tie rule: the first maximum in the order (0,0), (0,1), (1,0), (1,1).
    """
    n_planes, oh_n, ow_n = out.shape
    for p in prange(n_planes):
        for oh in range(oh_n):
            top = x[p, 2 * oh]
            bot = x[p, 2 * oh + 1]
            dst = out[p, oh]
            idx = argmax[p, oh]
            for ow in range(ow_n):
                a = top[2 * ow]
                b = top[2 * ow + 1]
                c = bot[2 * ow]
                d = bot[2 * ow + 1]
                best = a
                pos = 0
                if b > best:
                    best = b
                    pos = 1
                if c > best:
                    best = c
                    pos = 2
                if d > best:
                    best = d
                    pos = 3
                dst[ow] = best
                idx[ow] = pos


@njit_kernel(parallel=PARALLEL)
def maxpool_backward(dout, argmax, kh, kw, sh, sw, dx):
    """Gradient of max pooling: each output's dout goes to the input pixel that was its max.

    dout, argmax (P, OH, OW); dx (P, H, W) is overwritten (the caller may pass ``np.empty``):
    zero, then ``dx[p, oh*SH + i, ow*SW + j] += dout[p, oh, ow]`` with ``(i, j)`` from argmax.
    Overlapping windows that share a maximum add their gradients. Zeroing a plane just before
    scattering into it keeps the plane in cache (measured faster than a 2x2-specialised version
    that writes every pixel once).
    """
    n_planes, oh_n, ow_n = dout.shape
    zero = dx.dtype.type(0)
    # window position k -> (row, column) by table lookup: an integer division per pixel costs
    # more than the rest of the loop
    row_of = np.empty(kh * kw, dtype=np.int64)
    col_of = np.empty(kh * kw, dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            row_of[i * kw + j] = i
            col_of[i * kw + j] = j
    for p in prange(n_planes):
        plane = dx[p]
        plane[:, :] = zero
        for oh in range(oh_n):
            src = dout[p, oh]
            idx = argmax[p, oh]
            for ow in range(ow_n):
                k = idx[ow]
                plane[oh * sh + row_of[k], ow * sw + col_of[k]] += src[ow]


@njit_kernel(parallel=PARALLEL)
def avgpool_forward(x, kh, kw, sh, sw, out):
    """Average pooling: x (P, H, W) -> out (P, OH, OW), the mean of each KH x KW window."""
    n_planes, oh_n, ow_n = out.shape
    scale = 1.0 / (kh * kw)
    for p in prange(n_planes):
        for oh in range(oh_n):
            h0 = oh * sh
            dst = out[p, oh]
            for ow in range(ow_n):
                w0 = ow * sw
                s = 0.0
                for i in range(kh):
                    row = x[p, h0 + i]
                    for j in range(kw):
                        s += row[w0 + j]
                dst[ow] = s * scale


@njit_kernel(parallel=PARALLEL)
def avgpool_backward(dout, kh, kw, sh, sw, dx):
    """Gradient of average pooling: each input pixel of a window receives dout / (KH*KW).

    dout (P, OH, OW); dx (P, H, W) is overwritten (zeroed per plane, then accumulated, so
    overlapping windows add up).
    """
    n_planes, oh_n, ow_n = dout.shape
    scale = 1.0 / (kh * kw)
    zero = dx.dtype.type(0)
    for p in prange(n_planes):
        plane = dx[p]
        plane[:, :] = zero
        for oh in range(oh_n):
            h0 = oh * sh
            src = dout[p, oh]
            for ow in range(ow_n):
                w0 = ow * sw
                g = src[ow] * scale
                for i in range(kh):
                    row = plane[h0 + i]
                    for j in range(kw):
                        row[w0 + j] += g
