"""Winograd convolution kernels F(m x m, r x r): the tile transforms, for 6x6 tiles or smaller.

The output is cut into m x m tiles; tile (th, tw) of an image reads the a x a input patch
(a = m + r - 1) whose top-left corner is input pixel ``(m*th - ph, m*tw - pw)`` (zeros outside
the image). With the 1-D transforms of Lavin & Gray (2016) as *data* (``layers/conv_winograd.py``
builds them: B^T (a, a), G (a, r), A^T (m, a)) a tile's output is

    Y = A^T [ sum_c (G g[f, c] G^T) * (B^T d[c] B) ] A        (``*`` elementwise)

which is exactly the r x r cross-correlation with a*a multiplies per tile, filter and channel
instead of m*m*r*r. The channel sum of each of the a*a elements k = a*i + j is one matrix
product: ``M[k] (T, F) = V[k] (T, C) @ U[k] (C, F)`` with the chunk's T tiles as the long
dimension (the shape OpenBLAS multiplies fastest: ~105-110 GFLOP/s a core for T = 128,
C = F = 32, against ~55 for (F, C) @ (C, T)).

Layout: a chunk holds B whole images, and everything in it is channels-last with the B images
side by side in every pixel, so each 1-D transform (``_lin``) runs over B*C (or B*F) contiguous
values at once, or over whole rows:

- ``xb`` (Hb, Wb, B, C), the padded input, Hb = m*(TH - 1) + a, Wb = m*(TW - 1) + a;
- ``v`` (a*a, TH*TW*B, C), the transformed input tiles, row ``t*B + b`` for tile
  ``t = th*TW + tw`` of image b;
- ``mm`` / ``mg`` (a*a, TH*TW*B, F), the products and, in backward, the gradient w.r.t. them;
- ``yb`` (m*TH, m*TW, B, F), the output (or dout) as whole tiles.

Each transform is two passes: one per tile row over whole rows (down the columns), one per tile
(along its rows). Backward: ``Mg = A dY A^T`` per tile (``dout_tiles``); the caller forms
dU[k] = V[k]^T @ Mg[k] and dV[k] = Mg[k] @ U[k]^T, and ``input_grad`` adds ``B dV B^T`` back
(tiles overlap by r - 1 pixels; always summed in the same order).

The kernels are serial (``Conv2d`` runs one chunk per thread through ``_blas.batched``, whose
jobs must not enter Numba's parallel pool) and generic over float32 and float64. The transform
matrices are dense (2, 4 or 6 columns; zero coefficients are multiplied too). Each kernel writes
only its own chunk's images, so results do not depend on the thread count.
"""

from __future__ import annotations

from ._jit import njit_kernel


@njit_kernel
def _lin(mat, src, s0, ss, dst, d0, ds, n, add):
    """dst[d0 + ds*j + c] = sum_l mat[j, l] * src[s0 + ss*l + c] for j < mat.shape[0], c < n
    (``add``: added to dst instead).

    One 1-D transform applied to n values at once (a pixel's channels, or whole rows): src and
    dst are flat arrays, the l-th input and j-th output runs of n values start ``ss`` and ``ds``
    apart. mat has 2, 4 or 6 columns; each output is one vectorised pass over n with every input
    term unrolled (zero coefficients are multiplied too: cheaper than branching around them).
    The runs are taken as slices: indexing ``src[s0 + c]`` directly keeps LLVM from vectorising
    (negative-index wraparound checks), 35x slower for n = 32.

    Compile time counts too (the first LeNet-BN step of a fresh install compiles every kernel it
    uses): a variant computing all six outputs of a 6x6 matrix in one pass was 5% faster on the 3x3
    layers (single-threaded, fresh processes) but cost 9 s of compilation (the LeNet 5x5 layer's
    first fwd+bwd compiled in 14.3 s with it, 5.5 s without), so it is gone. Every caller passes
    ``add`` explicitly: an omitted default is another signature, compiled again.
    """
    n_in = mat.shape[1]
    x0, x1 = src[s0 : s0 + n], src[s0 + ss : s0 + ss + n]
    if n_in == 2:
        for j in range(mat.shape[0]):
            o = dst[d0 + ds * j : d0 + ds * j + n]
            c0, c1 = mat[j, 0], mat[j, 1]
            if add:
                for c in range(n):
                    o[c] += c0 * x0[c] + c1 * x1[c]
            else:
                for c in range(n):
                    o[c] = c0 * x0[c] + c1 * x1[c]
        return
    x2, x3 = src[s0 + 2 * ss : s0 + 2 * ss + n], src[s0 + 3 * ss : s0 + 3 * ss + n]
    if n_in == 4:
        for j in range(mat.shape[0]):
            o = dst[d0 + ds * j : d0 + ds * j + n]
            c0, c1, c2, c3 = mat[j, 0], mat[j, 1], mat[j, 2], mat[j, 3]
            if add:
                for c in range(n):
                    o[c] += c0 * x0[c] + c1 * x1[c] + c2 * x2[c] + c3 * x3[c]
            else:
                for c in range(n):
                    o[c] = c0 * x0[c] + c1 * x1[c] + c2 * x2[c] + c3 * x3[c]
        return
    x4, x5 = src[s0 + 4 * ss : s0 + 4 * ss + n], src[s0 + 5 * ss : s0 + 5 * ss + n]
    for j in range(mat.shape[0]):  # n_in == 6
        o = dst[d0 + ds * j : d0 + ds * j + n]
        c0, c1, c2, c3, c4, c5 = mat[j, 0], mat[j, 1], mat[j, 2], mat[j, 3], mat[j, 4], mat[j, 5]
        if add:
            for c in range(n):
                o[c] += c0 * x0[c] + c1 * x1[c] + c2 * x2[c] + c3 * x3[c] + c4 * x4[c] + c5 * x5[c]
        else:
            for c in range(n):
                o[c] = c0 * x0[c] + c1 * x1[c] + c2 * x2[c] + c3 * x3[c] + c4 * x4[c] + c5 * x5[c]


@njit_kernel
def input_tiles(x, n0, ph, pw, m, bt, xb, t1, v):
    """V = B^T d B for every a x a input tile of the B images ``n0 .. n0+B-1`` of x (N, C, H, W).

    bt (a, a) is B^T; v (a*a, TH*TW*B, C) is written: v[a*i + j, t*B + b] = element (i, j) of
    tile t = th*TW + tw of image b. Workspaces xb (Hb, Wb, B, C), the padded images with the
    chunk's images side by side in every pixel (zero border from the caller; only the interior is
    written), and t1 (a, Wb, B, C). Per tile row: B^T down the columns (one pass over whole rows),
    then B along each tile's columns (one pass per tile and element row, B*C values at once).
    """
    n_chan, height, width = x.shape[1], x.shape[2], x.shape[3]
    a = bt.shape[0]
    hb, wb, n_img = xb.shape[0], xb.shape[1], xb.shape[2]
    th_n, tw_n = (hb - a) // m + 1, (wb - a) // m + 1
    h_end, w_end = min(height, hb - ph), min(width, wb - pw)
    n_rows = v.shape[1]
    run = n_img * n_chan  # one pixel of every image of the chunk
    row = wb * run
    xf, t1f, vf = xb.reshape(-1), t1.reshape(-1), v.reshape(-1)
    for b in range(n_img):
        for c in range(n_chan):
            for h in range(h_end):
                src, dst = x[n0 + b, c, h], xb[h + ph]
                for w_ in range(w_end):
                    dst[w_ + pw, b, c] = src[w_]
    for th in range(th_n):
        _lin(bt, xf, m * th * row, row, t1f, 0, row, row, False)  # B^T d: down the columns, whole rows
        for tw in range(tw_n):  # (B^T d) B: along each tile's rows
            t = th * tw_n + tw
            for i in range(a):
                _lin(bt, t1f, i * row + m * tw * run, run, vf, (a * i * n_rows + t * n_img) * n_chan,
                     n_rows * n_chan, run, False)


@njit_kernel
def output_tiles(mm, bias, n0, at, yb, t2, out):
    """out[n0 + b] = A^T M A + bias for the chunk's B images, from mm (a*a, TH*TW*B, F) (rows as
    in ``input_tiles``); out (N, F, OH, OW).

    at (m, a) is A^T; workspaces yb (m*TH, m*TW, B, F) and t2 (a, m*TW, B, F): M A of every tile
    of a tile row side by side, then A^T down its columns, whole rows at once. Tiles that hang over
    the bottom or right edge write only their inside part.
    """
    n_filt, oh_n, ow_n = out.shape[1], out.shape[2], out.shape[3]
    m, a = at.shape
    th_n, tw_n, n_img = yb.shape[0] // m, yb.shape[1] // m, yb.shape[2]
    n_rows = mm.shape[1]
    run = n_img * n_filt
    yrow = m * tw_n * run
    mf, yf, t2f = mm.reshape(-1), yb.reshape(-1), t2.reshape(-1)
    for th in range(th_n):
        for tw in range(tw_n):  # M A: along each tile's rows
            t = th * tw_n + tw
            for i in range(a):
                _lin(at, mf, (a * i * n_rows + t * n_img) * n_filt, n_rows * n_filt, t2f, i * yrow + m * tw * run, run, run,
                     False)
        _lin(at, t2f, 0, yrow, yf, m * th * yrow, yrow, yrow, False)  # A^T (M A): down the columns
    for b in range(n_img):  # back to NCHW, plus the bias
        for f in range(n_filt):
            bf = bias[f]
            for h in range(oh_n):
                src, dst = yb[h], out[n0 + b, f, h]
                for w_ in range(ow_n):
                    dst[w_] = src[w_, b, f] + bf


@njit_kernel
def dout_tiles(dout, n0, at, yb, t2, mg):
    """Mg = A dY A^T for every m x m tile of the B images dout[n0 .. n0+B-1] (N, F, OH, OW)
    -> mg (a*a, TH*TW*B, F) (rows as in ``input_tiles``).

    at (m, a) is A^T; workspaces yb (m*TH, m*TW, B, F), whose part outside OH x OW the caller
    zeroed (tile entries outside an odd-sized output count as zero), and t2 (a, m*TW, B, F).
    Per tile row: A down the columns (whole rows), then A^T along each tile's rows.
    """
    n_filt, oh_n, ow_n = dout.shape[1], dout.shape[2], dout.shape[3]
    m, a = at.shape
    th_n, tw_n, n_img = yb.shape[0] // m, yb.shape[1] // m, yb.shape[2]
    a_mat = at.T.copy()  # A (a, m)
    n_rows = mg.shape[1]
    run = n_img * n_filt
    yrow = m * tw_n * run
    gf, yf, t2f = mg.reshape(-1), yb.reshape(-1), t2.reshape(-1)
    for b in range(n_img):
        for f in range(n_filt):
            for h in range(oh_n):
                src, dst = dout[n0 + b, f, h], yb[h]
                for w_ in range(ow_n):
                    dst[w_, b, f] = src[w_]
    for th in range(th_n):
        _lin(a_mat, yf, m * th * yrow, yrow, t2f, 0, yrow, yrow, False)  # A dY: down the columns
        for tw in range(tw_n):  # (A dY) A^T: along each tile's rows
            t = th * tw_n + tw
            for i in range(a):
                _lin(a_mat, t2f, i * yrow + m * tw * run, run, gf, (a * i * n_rows + t * n_img) * n_filt,
                     n_rows * n_filt, run, False)


@njit_kernel
def input_grad(dv, n0, ph, pw, m, bt, xb, t1, dx):
    """Adjoint of ``input_tiles``: dx[n0 + b] = sum over tiles of B dV B^T, placed where the tile
    read (parts in the padding are dropped). dv (a*a, TH*TW*B, C); dx (N, C, H, W) is written for
    the chunk's B images. Workspaces xb (Hb, Wb, B, C) (all of it is overwritten: not the
    zero-bordered buffer of ``input_tiles``) and t1 (a, Wb, B, C). Tiles overlap by r - 1 pixels;
    the sums run in one fixed order: dV B^T of each tile of a tile row added into t1 (left to
    right), then B down t1's columns added into the image rows (top to bottom).
    """
    n_chan, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    a = bt.shape[0]
    hb, wb, n_img = xb.shape[0], xb.shape[1], xb.shape[2]
    th_n, tw_n = (hb - a) // m + 1, (wb - a) // m + 1
    h_end, w_end = min(height, hb - ph), min(width, wb - pw)
    b_mat = bt.T.copy()  # B (a, a)
    n_rows = dv.shape[1]
    run = n_img * n_chan
    row = wb * run
    df, xf, t1f = dv.reshape(-1), xb.reshape(-1), t1.reshape(-1)
    zero = dx.dtype.type(0)
    xb[:] = zero
    for th in range(th_n):
        t1[:] = zero
        for tw in range(tw_n):  # dV B^T: along each tile's rows
            t = th * tw_n + tw
            for i in range(a):
                _lin(b_mat, df, (a * i * n_rows + t * n_img) * n_chan, n_rows * n_chan,
                     t1f, i * row + m * tw * run, run, run, True)
        _lin(b_mat, t1f, 0, row, xf, m * th * row, row, row, True)  # B (dV B^T): down the columns
    for b in range(n_img):
        for c in range(n_chan):
            for h in range(height):
                dst = dx[n0 + b, c, h]
                if h < h_end:
                    src = xb[h + ph]
                    for w_ in range(width):
                        dst[w_] = src[w_ + pw, b, c] if w_ < w_end else zero
                else:
                    dst[:] = zero
