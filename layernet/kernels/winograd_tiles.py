"""Winograd F(m x m, r x r) tile transforms for any m and r, channels last (the shared mechanism of
``layers/conv_winograd_tiles.py``; the matrices come from ``winograd_matrices.py``).

A stride-1 cross-correlation with an r x r filter is cut into m x m output tiles. With a = m + r - 1,
tile t reads an a x a input patch d (per channel) and

    Y[f] = A^T [ sum_c U[f, c] * V[c] ] A,   U[f, c] = G g[f, c] G^T,   V[c] = B^T d[c] B

(``*`` elementwise), so each of the a*a elements k = a*i + j of the tile is one matrix product
over channels: ``M[k] (T, F) = V[k] (T, C) @ U[k] (C, F)`` for a chunk of T tiles.

Layouts (one chunk of images, serial kernels: the layer runs one chunk per thread through
``layernet/_blas.py``):

- ``xpc (B, Hq, m*Wt*C)``: the chunk's images padded, channels last and *phase-major*
  (``pad_phased``): padded column w = u*m + s (phase s = w mod m) is stored at
  ``(s*Wt + u)*C``. Hq = TH*m + r - 1 rows and Wt = TW + ceil((r - 1) / m) columns per phase, so
  every tile's patch is inside (zeros beyond the image and its padding). Tile t = (b*TH + th)*TW + tw
  reads rows th*m .. th*m + a - 1 and columns tw*m .. tw*m + a - 1 of image b; its column
  tw*m + l is phase l mod m, position tw + l // m, so the l-th columns of all TW tiles of a row
  are one contiguous run of TW*C values.
- ``v (a*a, T*C)``, ``mm (a*a, T*F)``: transformed tiles, element k's row holding tile t's
  channels (or filters) at t*C .. t*C + C - 1; the caller views them as (a*a, T, C) and (a*a, T, F)
  for the products. Flat rows keep every inner loop a contiguous run the compiler vectorises.
- ``out``/``dout``/``dx`` are NCHW. Tiles that hang over the bottom or right edge of an output
  whose size is not a multiple of m are computed in full and written only inside.

The transforms work a row of tiles at a time (image b, tile row th): each small matrix product
is done one coefficient at a time over a whole row of values (all TW tiles' channels, or
filters), which the compiler vectorises, and the first half of the input transform (B^T down
the columns) is shared by the overlapping patches of the row. Zero coefficients (half of B^T's)
are skipped. Generic over float32 and float64.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit_kernel


@njit_kernel
def _phased_columns(width, pw, m, wt, n_chan):
    """Where image column w (0 <= w < width) of channel 0 lies in a phase-major padded row:
    ((w' mod m)*Wt + w' // m)*C with w' = w + pw (channel c is c further)."""
    place = np.empty(width, np.int64)
    for w_ in range(width):
        col = w_ + pw
        place[w_] = ((col % m) * wt + col // m) * n_chan
    return place


@njit_kernel
def _tile_columns(ow_n, m, run, n_filt):
    """Where output column w of filter 0 lies in a row of tiles' (m, TW*F) block of one tile row
    p: (w mod m)*TW*F + (w // m)*F (filter f is f further)."""
    place = np.empty(ow_n, np.int64)
    for w_ in range(ow_n):
        place[w_] = (w_ % m) * run + (w_ // m) * n_filt
    return place


@njit_kernel
def pad_phased(x, n0, ph, pw, m, xpc):
    """Copy images ``n0 .. n0+B-1`` of x (N, C, H, W) into xpc (B, Hq, m*Wt*C), padded, channels
    last and phase-major: x[n0 + b, c, h, w] goes to row h + ph at ((w' mod m)*Wt + w' // m)*C + c
    with w' = w + pw. Only the interior is written: the caller zeroes the buffer once and reuses it."""
    n_chan, height, width = x.shape[1], x.shape[2], x.shape[3]
    place = _phased_columns(width, pw, m, xpc.shape[2] // (m * n_chan), n_chan)
    for b in range(xpc.shape[0]):
        for c in range(n_chan):
            for h in range(height):
                src = x[n0 + b, c, h]
                dst = xpc[b, h + ph, c:]
                for w_ in range(width):
                    dst[place[w_]] = src[w_]


@njit_kernel
def input_tiles(xpc, n_chan, m, bt, th_n, tw_n, v):
    """v[a*i + j, t*C + c] = (B^T d B)[i, j] for the patch d of tile t, channel c (B^T is ``bt`` (a, a));
    xpc is ``pad_phased``'s."""
    a = bt.shape[0]
    width = xpc.shape[2]
    wt = width // (m * n_chan)
    run = tw_n * n_chan
    rows = np.empty((a, width), xpc.dtype)  # B^T applied down the columns of a tile row's a input rows
    zero = xpc.dtype.type(0)
    for b in range(xpc.shape[0]):
        for th in range(th_n):
            for i in range(a):
                dst = rows[i]
                for q in range(width):
                    dst[q] = zero
                for l in range(a):
                    coef = bt[i, l]
                    if coef != 0:
                        src = xpc[b, th * m + l]
                        for q in range(width):
                            dst[q] += coef * src[q]
            base = (b * th_n + th) * run
            for i in range(a):  # then B along each tile's a columns, all TW tiles at once
                for j in range(a):
                    dst = v[a * i + j, base : base + run]
                    for q in range(run):
                        dst[q] = zero
                    for l in range(a):
                        coef = bt[j, l]
                        if coef != 0:
                            start = ((l % m) * wt + l // m) * n_chan
                            src = rows[i, start : start + run]
                            for q in range(run):
                                dst[q] += coef * src[q]


@njit_kernel
def output_tiles(mm, at, bias, n0, th_n, tw_n, out):
    """out[n0 + b, f] tiles = A^T M A + bias[f] from mm (a*a, T*F); ``at`` is A^T (m, a)."""
    m, a = at.shape
    n_filt, oh_n, ow_n = out.shape[1], out.shape[2], out.shape[3]
    run = tw_n * n_filt  # a row of tiles' values of one element: (tile, filter)
    half = np.empty((m, a, run), mm.dtype)  # A^T M for a row of tiles
    y = np.empty((m, m, run), mm.dtype)
    place = _tile_columns(ow_n, m, run, n_filt)
    zero = mm.dtype.type(0)
    for b in range(mm.shape[1] // (th_n * run)):
        for th in range(th_n):
            base = (b * th_n + th) * run
            for p in range(m):
                for j in range(a):
                    dst = half[p, j]
                    for q in range(run):
                        dst[q] = zero
                    for i in range(a):
                        coef = at[p, i]
                        if coef != 0:
                            src = mm[a * i + j, base : base + run]
                            for q in range(run):
                                dst[q] += coef * src[q]
            for p in range(m):
                for s in range(m):
                    dst = y[p, s]
                    for tw in range(tw_n):
                        for f in range(n_filt):
                            dst[tw * n_filt + f] = bias[f]
                    for j in range(a):
                        coef = at[s, j]
                        if coef != 0:
                            src = half[p, j]
                            for q in range(run):
                                dst[q] += coef * src[q]
            for p in range(min(m, oh_n - th * m)):  # back to NCHW: whole output rows
                yp = y[p].reshape(m * run)
                for f in range(n_filt):
                    row = out[n0 + b, f, th * m + p]
                    src = yp[f:]
                    for w_ in range(ow_n):
                        row[w_] = src[place[w_]]


@njit_kernel
def dout_tiles(dout, n0, at, th_n, tw_n, mg):
    """mg[a*i + j, t*F + f] = (A dY A^T)[i, j]: the gradient w.r.t. M of the m x m tile dY of
    dout[n0 + b, f] (N, F, OH, OW), entries outside the output counted as zero."""
    m, a = at.shape
    n_filt, oh_n, ow_n = dout.shape[1], dout.shape[2], dout.shape[3]
    run = tw_n * n_filt
    dy = np.zeros((m, m, run), dout.dtype)  # a row of tiles, (tile, filter) last; zeros beyond OW stay
    place = _tile_columns(ow_n, m, run, n_filt)
    half = np.empty((a, m, run), dout.dtype)  # A dY
    zero = dout.dtype.type(0)
    for b in range(mg.shape[1] // (th_n * run)):
        for th in range(th_n):
            for p in range(m):
                if th * m + p < oh_n:
                    dyp = dy[p].reshape(m * run)
                    for f in range(n_filt):
                        row = dout[n0 + b, f, th * m + p]
                        dst = dyp[f:]
                        for w_ in range(ow_n):
                            dst[place[w_]] = row[w_]
                else:
                    for s in range(m):
                        for q in range(run):
                            dy[p, s, q] = zero
            for i in range(a):
                for s in range(m):
                    dst = half[i, s]
                    for q in range(run):
                        dst[q] = zero
                    for p in range(m):
                        coef = at[p, i]
                        if coef != 0:
                            src = dy[p, s]
                            for q in range(run):
                                dst[q] += coef * src[q]
            base = (b * th_n + th) * run
            for i in range(a):
                for j in range(a):
                    dst = mg[a * i + j, base : base + run]
                    for q in range(run):
                        dst[q] = zero
                    for s in range(m):
                        coef = at[s, j]
                        if coef != 0:
                            src = half[i, s]
                            for q in range(run):
                                dst[q] += coef * src[q]


@njit_kernel
def input_grad_tiles(dv, m, bt, th_n, tw_n, ph, pw, dxpc, n0, dx):
    """Adjoint of ``input_tiles`` and of ``pad_phased``: every tile's B dV B^T (dv (a*a, T*C)) is added
    back where its patch was read, in dxpc (B, Hq, m*Wt*C) (workspace, zeroed here; tiles overlap by
    r - 1 pixels, summed in a fixed order), whose interior is then written channels first to
    dx[n0 + b] (dx is (N, C, H, W))."""
    a = bt.shape[0]
    n_chan, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    row_len = dxpc.shape[2]
    wt = row_len // (m * n_chan)
    run = tw_n * n_chan
    rows = np.empty((a, row_len), dv.dtype)  # dV B^T, phase-major like the padded rows
    place = _phased_columns(width, pw, m, wt, n_chan)
    zero = dv.dtype.type(0)
    for b in range(dxpc.shape[0]):
        g = dxpc[b]
        for h in range(g.shape[0]):
            grow = g[h]
            for q in range(row_len):
                grow[q] = zero
        for th in range(th_n):
            base = (b * th_n + th) * run
            for i in range(a):
                dst = rows[i]
                for q in range(row_len):
                    dst[q] = zero
                for j in range(a):
                    src = dv[a * i + j, base : base + run]
                    for l in range(a):
                        coef = bt[j, l]
                        if coef != 0:
                            start = ((l % m) * wt + l // m) * n_chan
                            d = dst[start : start + run]
                            for q in range(run):
                                d[q] += coef * src[q]
            for l in range(a):  # B^T's adjoint down the columns: patch row l += sum_i B^T[i, l] rows[i]
                d = g[th * m + l]
                for i in range(a):
                    coef = bt[i, l]
                    if coef != 0:
                        src = rows[i]
                        for q in range(row_len):
                            d[q] += coef * src[q]
        for c in range(n_chan):
            for h in range(height):
                src = g[h + ph, c:]
                dst = dx[n0 + b, c, h]
                for w_ in range(width):
                    dst[w_] = src[place[w_]]
