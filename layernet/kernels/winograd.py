"""Winograd F(2x2, 3x3) convolution kernels: 3x3 filters, stride 1, any zero padding.

The output is cut into 2x2 tiles; tile t of image b at tile row/column (th, tw) reads the 4x4
input patch ``d`` whose top-left corner is input pixel ``(2*th - ph, 2*tw - pw)`` (zeros outside
the image). With the transforms of Lavin & Gray (2016)

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

a tile's output is ``Y = A^T [ sum_c (G g[f, c] G^T) * (B^T d[c] B) ] A`` (``*`` elementwise),
which is exactly the 3x3 cross-correlation: 16 multiplies per tile, filter and channel instead of
36. The channel sum of each of the 16 elements k = 4*i + j is one matrix product, so a chunk of
images costs 16 GEMMs ``M[k] = U[k] @ V[k]`` with ``U (16, F, C)`` the transformed filters and
``V (16, C, T)`` the transformed input tiles (T = tiles of the chunk, ``t = (b*TH + th)*TW + tw``).
Everything stays channels-first (NCHW): ``V`` and ``M`` keep the tile index last, so the
transforms read and write image rows, and no layout copy is needed.

Backward, with ``Mg = A dY A^T`` (the gradient w.r.t. ``M``, per tile) from ``winograd_dout``:
the filters' gradient is ``dU[k] = Mg[k] @ V[k]^T`` (then ``dg = G^T dU G``, in numpy) and the
input's is ``dV[k] = U[k]^T @ Mg[k]``, scattered back through ``B dV B^T`` by
``winograd_input_grad`` (tiles overlap by two pixels, so each image is summed by one thread).

All kernels run ``prange`` over the images of the chunk; each writes only its own image's tiles,
so results do not depend on the number of threads. Generic over float32 and float64. The
rounding differs from a direct sum (the transforms add and subtract inputs before multiplying);
tests/test_conv.py compares with PyTorch and checks float64 gradients.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import njit_kernel


@njit_kernel(parallel=True)
def winograd_input(x, n0, ph, pw, th_n, tw_n, v):
    """V = B^T d B for every 4x4 input tile of images ``n0 .. n0+B-1`` of x (N, C, H, W).

    v (16, C, B*TH*TW) is written: v[4*i + j, c, t] is element (i, j) of tile t's transform.
    Per image and channel: the plane is copied into a zero-bordered (2*TH + 2, 2*TW + 2)
    buffer, B^T is applied down the columns of every tile row at once (whole rows, vectorised),
    then B along each tile's columns, writing each v[k, c] run of TH*TW tiles in order.
    """
    n_chan, height, width = x.shape[1], x.shape[2], x.shape[3]
    n_img = v.shape[2] // (th_n * tw_n)
    rows, cols = 2 * th_n + 2, 2 * tw_n + 2
    h_end, w_end = min(height, rows - ph), min(width, cols - pw)
    for b in prange(n_img):
        plane = np.zeros((rows, cols), x.dtype)
        tmp = np.empty((4, th_n, cols), x.dtype)
        for c in range(n_chan):
            img = x[n0 + b, c]
            for h in range(h_end):
                dst = plane[h + ph]
                src = img[h]
                for w_ in range(w_end):
                    dst[w_ + pw] = src[w_]
            for th in range(th_n):  # B^T d: rows 2*th .. 2*th + 3 combined, whole rows at a time
                p0, p1, p2, p3 = plane[2 * th], plane[2 * th + 1], plane[2 * th + 2], plane[2 * th + 3]
                t0, t1, t2, t3 = tmp[0, th], tmp[1, th], tmp[2, th], tmp[3, th]
                for j in range(cols):
                    t0[j] = p0[j] - p2[j]
                    t1[j] = p1[j] + p2[j]
                    t2[j] = p2[j] - p1[j]
                    t3[j] = p1[j] - p3[j]
            base = b * th_n * tw_n
            for i in range(4):  # (B^T d) B: columns 2*tw .. 2*tw + 3 of each tile
                v0, v1 = v[4 * i, c], v[4 * i + 1, c]
                v2, v3 = v[4 * i + 2, c], v[4 * i + 3, c]
                for th in range(th_n):
                    r = tmp[i, th]
                    o = base + th * tw_n
                    for tw in range(tw_n):
                        a0, a1, a2, a3 = r[2 * tw], r[2 * tw + 1], r[2 * tw + 2], r[2 * tw + 3]
                        v0[o + tw] = a0 - a2
                        v1[o + tw] = a1 + a2
                        v2[o + tw] = a2 - a1
                        v3[o + tw] = a1 - a3


@njit_kernel(parallel=True)
def winograd_output(m, bias, n0, th_n, tw_n, out):
    """out[n0 + b, f] tiles = A^T M A + bias[f], from m (16, F, B*TH*TW); out (N, F, OH, OW).

    Tiles that hang over the bottom or right edge (odd OH or OW) write only their inside part.
    """
    n_filt, oh_n, ow_n = out.shape[1], out.shape[2], out.shape[3]
    n_img = m.shape[2] // (th_n * tw_n)
    for b in prange(n_img):
        plane = np.empty((2 * th_n, 2 * tw_n), out.dtype)
        base = b * th_n * tw_n
        for f in range(n_filt):
            bf = bias[f]
            for th in range(th_n):
                o = base + th * tw_n
                top, bot = plane[2 * th], plane[2 * th + 1]
                for tw in range(tw_n):
                    t = o + tw
                    # A^T M: s_j = m0j + m1j + m2j (top row), z_j = m1j - m2j - m3j (bottom row)
                    s0 = m[0, f, t] + m[4, f, t] + m[8, f, t]
                    s1 = m[1, f, t] + m[5, f, t] + m[9, f, t]
                    s2 = m[2, f, t] + m[6, f, t] + m[10, f, t]
                    s3 = m[3, f, t] + m[7, f, t] + m[11, f, t]
                    z0 = m[4, f, t] - m[8, f, t] - m[12, f, t]
                    z1 = m[5, f, t] - m[9, f, t] - m[13, f, t]
                    z2 = m[6, f, t] - m[10, f, t] - m[14, f, t]
                    z3 = m[7, f, t] - m[11, f, t] - m[15, f, t]
                    top[2 * tw] = s0 + s1 + s2 + bf
                    top[2 * tw + 1] = s1 - s2 - s3 + bf
                    bot[2 * tw] = z0 + z1 + z2 + bf
                    bot[2 * tw + 1] = z1 - z2 - z3 + bf
            dst = out[n0 + b, f]
            for h in range(oh_n):
                src, row = plane[h], dst[h]
                for w_ in range(ow_n):
                    row[w_] = src[w_]


@njit_kernel(parallel=True)
def winograd_dout(dout, n0, th_n, tw_n, mg):
    """Mg = A dY A^T for every 2x2 tile of dout[n0 .. n0+B-1] (N, F, OH, OW) -> mg (16, F, B*TH*TW).

    Tile entries outside an odd-sized output count as zero. Per image and filter: A along the
    rows of every tile row at once (whole rows), then A^T along each tile's two columns.
    """
    n_filt, oh_n, ow_n = dout.shape[1], dout.shape[2], dout.shape[3]
    n_img = mg.shape[2] // (th_n * tw_n)
    cols = 2 * tw_n
    for b in prange(n_img):
        plane = np.zeros((2 * th_n, cols), dout.dtype)
        rows = np.empty((4, th_n, cols), dout.dtype)
        base = b * th_n * tw_n
        for f in range(n_filt):
            src = dout[n0 + b, f]
            for h in range(oh_n):
                dst, s_row = plane[h], src[h]
                for w_ in range(ow_n):
                    dst[w_] = s_row[w_]
            for th in range(th_n):  # A dY: (y0, y0 + y1, y0 - y1, -y1) of the tile's two rows
                y0, y1 = plane[2 * th], plane[2 * th + 1]
                r0, r1, r2, r3 = rows[0, th], rows[1, th], rows[2, th], rows[3, th]
                for j in range(cols):
                    r0[j] = y0[j]
                    r1[j] = y0[j] + y1[j]
                    r2[j] = y0[j] - y1[j]
                    r3[j] = -y1[j]
            for i in range(4):  # (A dY) A^T: the same on the tile's two columns
                g0, g1 = mg[4 * i, f], mg[4 * i + 1, f]
                g2, g3 = mg[4 * i + 2, f], mg[4 * i + 3, f]
                for th in range(th_n):
                    r = rows[i, th]
                    o = base + th * tw_n
                    for tw in range(tw_n):
                        a0, a1 = r[2 * tw], r[2 * tw + 1]
                        g0[o + tw] = a0
                        g1[o + tw] = a0 + a1
                        g2[o + tw] = a0 - a1
                        g3[o + tw] = -a1


@njit_kernel(parallel=True)
def winograd_input_grad(dv, n0, ph, pw, th_n, tw_n, dx):
    """Adjoint of ``winograd_input``: dx[n0 + b] = sum over tiles of B dV B^T, placed where the
    tile read (parts in the padding are dropped). dv (16, C, B*TH*TW); dx (N, C, H, W) is written
    for the chunk's images. Tiles overlap by two pixels; each image is summed by one thread in a
    fixed order: B^T's adjoint along the columns into one row buffer per tile row and element
    row i, then along the rows into a zero-bordered plane, whose interior is dx.
    """
    n_chan, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    n_img = dv.shape[2] // (th_n * tw_n)
    rows_n, cols = 2 * th_n + 2, 2 * tw_n + 2
    h_end, w_end = min(height, rows_n - ph), min(width, cols - pw)
    zero = dx.dtype.type(0)
    for b in prange(n_img):
        plane = np.empty((rows_n, cols), dx.dtype)
        q = np.empty((4, th_n, cols), dx.dtype)
        base = b * th_n * tw_n
        for c in range(n_chan):
            for i in range(4):  # dV B^T: (a0, a1 - a2 + a3, a1 + a2 - a0, -a3) at columns 2*tw + 0..3
                d0, d1 = dv[4 * i, c], dv[4 * i + 1, c]
                d2, d3 = dv[4 * i + 2, c], dv[4 * i + 3, c]
                for th in range(th_n):
                    r = q[i, th]
                    for j in range(cols):
                        r[j] = zero
                    o = base + th * tw_n
                    for tw in range(tw_n):
                        a0, a1, a2, a3 = d0[o + tw], d1[o + tw], d2[o + tw], d3[o + tw]
                        r[2 * tw] += a0
                        r[2 * tw + 1] += a1 - a2 + a3
                        r[2 * tw + 2] += a1 + a2 - a0
                        r[2 * tw + 3] -= a3
            for h in range(rows_n):
                prow = plane[h]
                for j in range(cols):
                    prow[j] = zero
            for th in range(th_n):  # B (dV B^T): the same along the rows, whole rows at a time
                q0, q1, q2, q3 = q[0, th], q[1, th], q[2, th], q[3, th]
                p0, p1, p2, p3 = plane[2 * th], plane[2 * th + 1], plane[2 * th + 2], plane[2 * th + 3]
                for j in range(cols):
                    p0[j] += q0[j]
                    p1[j] += q1[j] - q2[j] + q3[j]
                    p2[j] += q1[j] + q2[j] - q0[j]
                    p3[j] -= q3[j]
            img = dx[n0 + b, c]
            for h in range(height):
                row = img[h]
                if h < h_end:
                    src = plane[h + ph]
                    for w_ in range(width):
                        row[w_] = src[w_ + pw] if w_ < w_end else zero
                else:
                    for w_ in range(width):
                        row[w_] = zero
