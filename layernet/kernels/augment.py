"""Data-augmentation kernel: random crop of a zero-padded image, horizontal flip, cutout, in one pass.

The caller draws every random number (``layernet/data/augment.py``) and this kernel only moves
pixels, so the result is a function of those numbers alone. For image b of ``x (B, C, H, W)``,
with p = ``padding``, (dy, dx) in [0, 2p] the crop's corner in the padded image and ``flip[b]``:

    out[b, c, i, j] = x[b, c, i + dy - p, jj + dx - p]     (0 outside the image: the padding)
    jj = W - 1 - j when flipped, else j                      (crop first, then flip the crop)

then, with cutout size s > 0, the rows [y0, y0 + s) and columns [x0, x0 + s) (clipped to the
image) are set to 0 in every channel. ``prange`` over images: each writes only its own output.
"""

from __future__ import annotations

from numba import prange

from ._jit import njit_kernel


@njit_kernel(parallel=True)
def augment_batch(x, padding, dy, dx, flip, cut, y0, x0, out):
    """x, out (B, C, H, W); dy, dx, y0, x0 (B,) int64; flip (B,) bool; padding, cut ints (0: none)."""
    n_img, n_chan, h, w = x.shape
    zero = out.dtype.type(0)
    for b in prange(n_img):
        oy = dy[b] - padding
        ox = dx[b] - padding
        for c in range(n_chan):
            for i in range(h):
                si = i + oy
                row_in = 0 <= si < h
                for j in range(w):
                    jj = w - 1 - j if flip[b] else j
                    sj = jj + ox
                    if row_in and 0 <= sj < w:
                        out[b, c, i, j] = x[b, c, si, sj]
                    else:
                        out[b, c, i, j] = zero
        if cut > 0:
            r0 = max(y0[b], 0)
            r1 = min(y0[b] + cut, h)
            c0 = max(x0[b], 0)
            c1 = min(x0[b] + cut, w)
            for c in range(n_chan):
                for i in range(r0, r1):
                    for j in range(c0, c1):
                        out[b, c, i, j] = zero
