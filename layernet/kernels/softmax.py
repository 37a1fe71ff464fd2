"""Softmax kernels: the fused softmax + cross-entropy used by the loss, and a plain softmax.

Numerical stability (log-sum-exp with the row maximum): for a row s of C scores with
m = max_j s_j,

    softmax(s)_j = exp(s_j - m) / sum_k exp(s_k - m)
    -log softmax(s)_y = log(sum_k exp(s_k - m)) - (s_y - m)

Every exponent is <= 0, so nothing overflows, and the sum is >= 1 (the maximum contributes
exp(0) = 1), so the log never sees 0: scores of +-1e4 give a finite loss and gradient.

Rows are independent: ``prange`` runs over rows and every output row is written by exactly one
thread, so results do not depend on the number of threads. Sums are accumulated in float64
for float32 and float64 inputs alike; outputs are stored in the arrays' own dtype.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import njit_kernel


@njit_kernel
def _shifted_exp(row, dst):
    """dst_j = exp(row_j - m) with m = max(row), the log-sum-exp shift; returns (m, sum_j dst_j)."""
    m = row[0]
    for j in range(1, row.shape[0]):
        if row[j] > m:
            m = row[j]
    total = 0.0
    for j in range(row.shape[0]):
        e = np.exp(row[j] - m)
        dst[j] = e
        total += e
    return m, total


@njit_kernel
def _softmax_cross_entropy_row(row, label, grad, inv_n):
    """One row of the fused kernel: writes grad (C,) = (softmax(row) - onehot(label)) * inv_n and
    returns -log softmax(row)_label."""
    m, total = _shifted_exp(row, grad)
    scale = inv_n / total
    for j in range(row.shape[0]):
        grad[j] = grad[j] * scale
    grad[label] -= inv_n
    return np.log(total) - (row[label] - m)


@njit_kernel(parallel=True)
def _softmax_cross_entropy_parallel(scores, y, loss_rows, dscores):
    inv_n = 1.0 / scores.shape[0]
    for i in prange(scores.shape[0]):
        loss_rows[i] = _softmax_cross_entropy_row(scores[i], y[i], dscores[i], inv_n)


@njit_kernel
def _softmax_cross_entropy_serial(scores, y, loss_rows, dscores):
    inv_n = 1.0 / scores.shape[0]
    for i in range(scores.shape[0]):
        loss_rows[i] = _softmax_cross_entropy_row(scores[i], y[i], dscores[i], inv_n)


#: Below this many scores the fused loss runs on one thread. Waking Numba's pool costs more than
#: the work: in a training step, right after the BLAS products, the parallel kernel took
#: 0.26-0.35 ms for the MLP's 128x10 scores and the serial one 0.02 ms (``python -m benchmarks``
#: breakdown, 2 cores). Both give bit-identical results: every row is computed the same way.
PARALLEL_MIN_SCORES = 1 << 16


def softmax_cross_entropy(scores, y, loss_rows, dscores):
    """Fused softmax + cross-entropy, loss and gradient in one pass over each row.

    scores (N, C) float32 or float64; y (N,) integer labels in [0, C) (checked by the caller).
    Writes loss_rows (N,): -log softmax(scores_i)_{y_i}, and dscores (N, C), the gradient of the
    batch mean (1/N) sum_i loss_rows_i w.r.t. the scores: (softmax(scores_i) - onehot(y_i)) / N.
    Rows run in parallel when there are at least ``PARALLEL_MIN_SCORES`` scores.
    """
    if scores.size >= PARALLEL_MIN_SCORES:
        _softmax_cross_entropy_parallel(scores, y, loss_rows, dscores)
    else:
        _softmax_cross_entropy_serial(scores, y, loss_rows, dscores)


@njit_kernel(parallel=True)
def softmax(scores, out):
    """Row-wise softmax: scores (N, C) -> out (N, C), out_ij = exp(s_ij - m_i) / sum_k exp(s_ik - m_i)."""
    n, c = scores.shape
    for i in prange(n):
        dst = out[i]
        _, total = _shifted_exp(scores[i], dst)
        scale = 1.0 / total
        for j in range(c):
            dst[j] = dst[j] * scale
