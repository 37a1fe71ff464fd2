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

The transforms work a row of tiles at a time (image b, tile row th): every entry of a small
matrix product is a weighted sum of whole rows of values (all TW tiles' channels, or filters),
``_combine``, which skips zero coefficients and takes three rows per pass over the destination,
and the first half of the input transform (B^T down the columns) is shared by the overlapping
patches of the row. Generic over float32 and float64.
"""

from __future__ import annotations

import numpy as np

from ._jit import njit_kernel


@njit_kernel
def _nonzeros(mat):
    """(count (R,), index (R, K), value (R, K)): the nonzero entries of each row of mat (R, K)."""
    rows, cols = mat.shape
    count = np.zeros(rows, np.int64)
    index = np.zeros((rows, cols), np.int64)
    value = np.zeros((rows, cols), mat.dtype)
    for i in range(rows):
        for j in range(cols):
            if mat[i, j] != 0:
                index[i, count[i]] = j
                value[i, count[i]] = mat[i, j]
                count[i] += 1
    return count, index, value


@njit_kernel
def _combine(dst, src, offsets, coefs, count, accumulate):
    """dst[q] (+)= sum_{t < count} coefs[t] * src[offsets[t] + q] for every q < len(dst): assigned
    unless ``accumulate`` (zeros when count is 0), three source rows per pass over dst."""
    n = dst.shape[0]
    if count == 0 and not accumulate:
        for q in range(n):
            dst[q] = 0
    t = 0
    while t < count:
        add = accumulate or t > 0
        if count - t >= 3:
            c0, c1, c2 = coefs[t], coefs[t + 1], coefs[t + 2]
            s0, s1 = src[offsets[t] : offsets[t] + n], src[offsets[t + 1] : offsets[t + 1] + n]
            s2 = src[offsets[t + 2] : offsets[t + 2] + n]
            if add:
                for q in range(n):
                    dst[q] += c0 * s0[q] + c1 * s1[q] + c2 * s2[q]
            else:
                for q in range(n):
                    dst[q] = c0 * s0[q] + c1 * s1[q] + c2 * s2[q]
            t += 3
        elif count - t == 2:
            c0, c1 = coefs[t], coefs[t + 1]
            s0, s1 = src[offsets[t] : offsets[t] + n], src[offsets[t + 1] : offsets[t + 1] + n]
            if add:
                for q in range(n):
                    dst[q] += c0 * s0[q] + c1 * s1[q]
            else:
                for q in range(n):
                    dst[q] = c0 * s0[q] + c1 * s1[q]
            t += 2
        else:
            c0 = coefs[t]
            s0 = src[offsets[t] : offsets[t] + n]
            if add:
                for q in range(n):
                    dst[q] += c0 * s0[q]
            else:
                for q in range(n):
                    dst[q] = c0 * s0[q]
            t += 1


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
    count, index, value = _nonzeros(bt)
    column = np.empty(a, np.int64)  # where column l of every tile of a row starts in a phased row
    for l in range(a):
        column[l] = ((l % m) * wt + l // m) * n_chan
    rows = np.empty((a, width), xpc.dtype)  # B^T applied down the columns of a tile row's a input rows
    flat_rows = rows.reshape(a * width)
    offsets = np.empty(a, np.int64)
    for b in range(xpc.shape[0]):
        image = xpc[b].reshape(xpc.shape[1] * width)
        for th in range(th_n):
            for i in range(a):
                for t in range(count[i]):
                    offsets[t] = (th * m + index[i, t]) * width
                _combine(rows[i], image, offsets, value[i], count[i], False)
            base = (b * th_n + th) * run
            for i in range(a):  # then B along each tile's a columns, all TW tiles at once
                for j in range(a):
                    for t in range(count[j]):
                        offsets[t] = i * width + column[index[j, t]]
                    _combine(v[a * i + j, base : base + run], flat_rows, offsets, value[j], count[j], False)


@njit_kernel
def output_tiles(mm, at, bias, n0, th_n, tw_n, out):
    """out[n0 + b, f] tiles = A^T M A + bias[f] from mm (a*a, T*F); ``at`` is A^T (m, a)."""
    m, a = at.shape
    n_filt, oh_n, ow_n = out.shape[1], out.shape[2], out.shape[3]
    run = tw_n * n_filt  # a row of tiles' values of one element: (tile, filter)
    count, index, value = _nonzeros(at)
    flat_mm = mm.reshape(mm.shape[0] * mm.shape[1])
    half = np.empty((m, a, run), mm.dtype)  # A^T M for a row of tiles
    flat_half = half.reshape(m * a * run)
    y = np.empty((m, m, run), mm.dtype)
    place = _tile_columns(ow_n, m, run, n_filt)
    offsets = np.empty(a, np.int64)
    for b in range(mm.shape[1] // (th_n * run)):
        for th in range(th_n):
            base = (b * th_n + th) * run
            for p in range(m):
                for j in range(a):
                    for t in range(count[p]):
                        offsets[t] = (a * index[p, t] + j) * mm.shape[1] + base
                    _combine(half[p, j], flat_mm, offsets, value[p], count[p], False)
            for p in range(m):
                for s in range(m):
                    dst = y[p, s]
                    for tw in range(tw_n):
                        for f in range(n_filt):
                            dst[tw * n_filt + f] = bias[f]
                    for t in range(count[s]):
                        offsets[t] = (p * a + index[s, t]) * run
                    _combine(dst, flat_half, offsets, value[s], count[s], True)
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
    count, index, value = _nonzeros(np.ascontiguousarray(at.T))  # A's rows: the columns of A^T
    dy = np.zeros((m, m, run), dout.dtype)  # a row of tiles, (tile, filter) last; zeros beyond OW stay
    flat_dy = dy.reshape(m * m * run)
    place = _tile_columns(ow_n, m, run, n_filt)
    half = np.empty((a, m, run), dout.dtype)  # A dY
    flat_half = half.reshape(a * m * run)
    offsets = np.empty(a, np.int64)
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
                            dy[p, s, q] = 0
            for i in range(a):
                for s in range(m):
                    for t in range(count[i]):
                        offsets[t] = (index[i, t] * m + s) * run
                    _combine(half[i, s], flat_dy, offsets, value[i], count[i], False)
            base = (b * th_n + th) * run
            for i in range(a):
                for j in range(a):
                    for t in range(count[j]):
                        offsets[t] = (i * m + index[j, t]) * run
                    _combine(mg[a * i + j, base : base + run], flat_half, offsets, value[j], count[j], False)


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
    count, index, value = _nonzeros(np.ascontiguousarray(bt.T))  # B's rows: the columns of B^T
    column = np.empty(a, np.int64)
    for l in range(a):
        column[l] = ((l % m) * wt + l // m) * n_chan
    flat_dv = dv.reshape(dv.shape[0] * dv.shape[1])
    rows = np.empty((a, row_len), dv.dtype)  # dV B^T, phase-major like the padded rows
    flat_rows = rows.reshape(a * row_len)
    place = _phased_columns(width, pw, m, wt, n_chan)
    offsets = np.empty(a, np.int64)
    for b in range(dxpc.shape[0]):
        g = dxpc[b]
        for h in range(g.shape[0]):
            grow = g[h]
            for q in range(row_len):
                grow[q] = 0
        for th in range(th_n):
            base = (b * th_n + th) * run
            for i in range(a):
                dst = rows[i]
                for q in range(row_len):
                    dst[q] = 0
                for l in range(a):  # the tiles' column l gets sum_j B^T[j, l] dV[i, j]
                    for t in range(count[l]):
                        offsets[t] = (a * i + index[l, t]) * dv.shape[1] + base
                    _combine(dst[column[l] : column[l] + run], flat_dv, offsets, value[l], count[l], True)
            for l in range(a):  # B^T's adjoint down the columns: patch row l += sum_i B^T[i, l] rows[i]
                for t in range(count[l]):
                    offsets[t] = index[l, t] * row_len
                _combine(g[th * m + l], flat_rows, offsets, value[l], count[l], True)
        for c in range(n_chan):
            for h in range(height):
                src = g[h + ph, c:]
                dst = dx[n0 + b, c, h]
                for w_ in range(width):
                    dst[w_] = src[place[w_]]
