"""One input channel at stride 1 for ``Conv2d`` (the first layer of an MNIST net): per-image products.

With an image's columns ``cols (K, P)`` (K = KH*KW taps, P = OH*OW output pixels, built by
``one_channel_columns`` in ``layernet/kernels/conv_one_channel.py``), per image n:

    out[n] (F, P)  = [W | b] (F, K+1) @ [cols; 1] (K+1, P)     (a row of ones carries the bias)
    [dW_n | db_n]  = dout[n] (F, P) @ [cols; 1]^T               (dW, db sum them in image order)
    dcols (K, P)   = W^T (K, F) @ dout[n] (F, P)                (``one_channel_col2im`` -> dx[n])

The products write the NCHW output directly: no transposes. Chunks of images (``CHUNK_VALUES``)
run as jobs over the BLAS threads (``_blas.batched``; the column copies are serial Numba kernels
inside the jobs), each job writing only its own images, so results do not depend on the thread
count.
``Conv2d`` (``layers/conv.py``) decides when this path is taken (``Conv2d._one_channel``).

Why products, not a direct kernel: the direct kernel this replaced (each tap one long multiply-add
over a "wide" output plane, four taps per pass, ``prange`` over images) ran at ~35 GFLOP/s, and a
register-blocked one (4 filters x 4 taps per pass) reached 49-60 (1 thread, 128x1x28x28 -> 32,
forward: 3.3 ms for 5x5, 5.3 for 7x7). These products run at ~100 GFLOP/s per thread (OpenBLAS
0.3.31, SkylakeX kernels, on Zen 4) once each is small enough (``PRODUCT_MACS``), the column
copies cost a fifth of them: forward 2.4 ms for 5x5, 4.2-4.6 for 7x7 on 1 thread.

Measured, 2-core Zen 4 shared with other jobs, float32, ``benchmarks.alone`` cases
``conv_first_K_28`` (Conv2d(1, 32, K, padding=K//2), batch 128, fwd + bwd without dx), each
library alone in a fresh process, rounds alternating (median ms, 4 rounds, load 0.7-1.1):

    python -c "from benchmarks.alone import bench_alone; print(bench_alone(
        [(lib, 'conv_first_5_28', None) for lib in ('layernet', 'torch')], 4))"

    K   direct kernel   these products   torch 2.13   torch, warm allocator
    5        9.2             3.95           16.8             3.8
    7       12.8             5.5            18.4             4.6

torch's step here pays ~9400 page faults for its fresh 12.8 MB buffers (~2 us each on this
machine; none in layernet); "warm allocator" is torch with MALLOC_MMAP_THRESHOLD_ and
MALLOC_TRIM_THRESHOLD_ at 4 GB, its kernels' own speed. At load 2-2.8: 6.3 vs 56 ms (K = 5), 10.0
vs 68 (K = 7); the direct kernel 9.9 and 19.1. One thread each (``run(lib, case, 1)``,
OPENBLAS_NUM_THREADS=1), load 2.5-2.9, 3 rounds: 6.2 vs 27.3 (warm allocator 6.7) for K = 5, 9.8
vs 30.2 (9.4) for K = 7: per thread, on a par with torch's own kernels.
"""

from __future__ import annotations

import numpy as np

from .._blas import batched, workers
from ..kernels.conv_one_channel import one_channel_col2im, one_channel_columns

#: Most column values ((K+1)*P per image) per chunk, 1 MB of float32 (a Zen 4 core's L2): 12
#: images of 5x5 columns, 6 of 7x7. Chosen by timing Conv2d(1, 32, 5, padding=2) fwd+bwd without
#: dx, 128x1x28x28, 2 threads, shared machine at load 0.8-0.9 (medians of 30): 131072 values
#: 3.3-3.7 ms, 262144 3.05-3.08, 524288 3.1-4.1, 1048576 3.9-4.5, 4194304 6.3-6.6.
CHUNK_VALUES = 262144
#: Largest product, in multiply-adds (rows * inner * columns), before it is split along its
#: output columns. Single-threaded OpenBLAS 0.3.31 (SkylakeX kernels on Zen 4), float32, F = 32
#: filters, P = 784 pixels: products up to 0.90M multiply-adds ran at 89-108 GFLOP/s, from 0.95M
#: on at 48-62 (dW with K = 49: 53 GFLOP/s whole, 102 split in two; forward 86 -> 103).
PRODUCT_MACS = 800_000


def _spans(rows, inner, cols):
    """[(lo, hi), ...]: the output columns split into equal spans of at most PRODUCT_MACS."""
    parts = max(1, -(-rows * inner * cols // PRODUCT_MACS))
    edges = [cols * i // parts for i in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:]))


def pad_plane(x, padding):
    """x (N, 1, H, W) -> xp (N, H + 2*ph, W + 2*pw), zero border."""
    (ph, pw), (n, _, h, w) = padding, x.shape
    xp = np.zeros((n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    xp[:, ph : ph + h, pw : pw + w] = x[:, 0]
    return xp


def _plan(n, kh, kw, oh, ow):
    """The chunks' first images ``starts`` (n_chunks + 1 edges) and the largest chunk: at most
    CHUNK_VALUES column values per chunk, and a multiple of the BLAS threads' count of chunks of
    equal size (within one image), so that each thread gets the same number of images."""
    threads = workers()
    most = max(1, CHUNK_VALUES // ((kh * kw + 1) * oh * ow))
    n_chunks = min(n, threads * -(-n // (threads * most)))
    starts = [n * i // n_chunks for i in range(n_chunks + 1)]
    return starts, -(-n // n_chunks)


def one_channel_forward(xp, W, b, out):
    """out (N, F, OH, OW) = the stride-1 convolution of the padded planes xp (N, Hp, Wp) with
    W (F, 1, KH, KW) and b (F,)."""
    n, f, oh, ow = out.shape
    kh, kw = W.shape[2:]
    k, p = kh * kw, oh * ow
    starts, chunk = _plan(n, kh, kw, oh, ow)
    wb = np.empty((f, k + 1), dtype=out.dtype)
    wb[:, :k], wb[:, k] = W.reshape(f, k), b
    cols = [np.empty((chunk, k + 1, oh, ow), dtype=out.dtype) for _ in range(min(workers(), len(starts) - 1))]
    for c in cols:
        c[:, k] = 1  # the bias row, never overwritten
    out3 = out.reshape(n, f, p)
    spans = _spans(f, k + 1, p)

    def job(i, wk):
        n0, nb = starts[i], starts[i + 1] - starts[i]
        one_channel_columns(xp, n0, kh, kw, cols[wk][:nb])
        c3 = cols[wk][:nb].reshape(nb, k + 1, p)
        for lo, hi in spans:
            np.matmul(wb, c3[:, :, lo:hi], out=out3[n0 : n0 + nb, :, lo:hi])

    batched(job, len(starts) - 1)


def one_channel_backward(xp, W, dout, padding, needs_input_grad, bias=True):
    """``(dW (F, 1, KH, KW), db (F,) or None, dx (N, 1, H, W) or None)`` of ``one_channel_forward``
    for dout (N, F, OH, OW). With ``bias``, db comes from the same products as dW (the row of ones
    again: one pass over dout instead of two); dx only if ``needs_input_grad``."""
    n, f, oh, ow = dout.shape
    kh, kw = W.shape[2:]
    k, p = kh * kw, oh * ow
    r = k + 1 if bias else k  # column rows: the taps, and the row of ones for db
    (ph, pw), h, w = padding, xp.shape[1] - 2 * padding[0], xp.shape[2] - 2 * padding[1]
    starts, chunk = _plan(n, kh, kw, oh, ow)
    cols = [np.empty((chunk, r, oh, ow), dtype=dout.dtype) for _ in range(min(workers(), len(starts) - 1))]
    for c in cols:
        c[:, k:] = 1
    dw_parts = np.empty((n, f, r), dtype=dout.dtype)
    dout3 = dout.reshape(n, f, p)
    w_t = np.ascontiguousarray(W.reshape(f, k).T)  # (K, F)
    dx = np.empty((n, 1, h, w), dtype=dout.dtype) if needs_input_grad else None
    dw_spans, dx_spans = _spans(f, p, r), _spans(k, f, p)

    def job(i, wk):
        n0, nb = starts[i], starts[i + 1] - starts[i]
        c3 = cols[wk][:nb].reshape(nb, r, p)
        d3 = dout3[n0 : n0 + nb]
        one_channel_columns(xp, n0, kh, kw, cols[wk][:nb])
        for lo, hi in dw_spans:
            np.matmul(d3, c3[:, lo:hi].transpose(0, 2, 1), out=dw_parts[n0 : n0 + nb, :, lo:hi])
        if dx is not None:
            for lo, hi in dx_spans:  # the taps' columns' gradient, over them (no longer needed)
                np.matmul(w_t, d3[:, :, lo:hi], out=c3[:, :k, lo:hi])
            one_channel_col2im(cols[wk][:nb], n0, kh, kw, ph, pw, dx)

    batched(job, len(starts) - 1)
    dwb = dw_parts.sum(axis=0)  # in image order, whatever the thread count
    dW = np.ascontiguousarray(dwb[:, :k]).reshape(f, 1, kh, kw)
    return dW, (dwb[:, k].copy() if bias else None), dx
