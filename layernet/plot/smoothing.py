"""Smoothing noisy training curves (per-step losses): bias-corrected EMA or trailing moving average."""

from __future__ import annotations

import numpy as np


def smooth(values, weight: float = 0.9, method: str = "ema", window: int = 10) -> np.ndarray:
    """Smooth a noisy curve, same length as ``values``.

    - ``method="ema"``: exponential moving average with bias correction (as Adam's moments and
      TensorBoard): ``m_t = weight * m_{t-1} + (1 - weight) * x_t`` from ``m_0 = 0``, output
      ``m_t / (1 - weight**t)``. The first output is ``x_1`` exactly; ``weight=0`` returns ``values``.
    - ``method="mean"``: trailing moving average over the last ``min(window, t)`` values.

    Non-finite values are skipped (they do not enter the average; their output is NaN).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"smooth: expected a 1-D array, found shape {x.shape}")
    out = np.full(x.shape, np.nan)
    finite = np.isfinite(x)
    if method == "ema":
        if not 0.0 <= weight < 1.0:
            raise ValueError(f"smooth: weight must be in [0, 1), found {weight}")
        m, t = 0.0, 0
        for i in np.flatnonzero(finite):
            t += 1
            m = weight * m + (1.0 - weight) * x[i]
            out[i] = m / (1.0 - weight**t)
    elif method == "mean":
        if int(window) != window or window < 1:
            raise ValueError(f"smooth: window must be a positive int, found {window}")
        kept = x[finite]
        sums = np.concatenate([[0.0], np.cumsum(kept)])
        ends = np.arange(1, len(kept) + 1)
        starts = np.maximum(0, ends - int(window))
        out[finite] = (sums[ends] - sums[starts]) / (ends - starts)
    else:
        raise ValueError(f"smooth: method must be 'ema' or 'mean', found {method!r}")
    return out


def auto_weight(count: int) -> float:
    """EMA weight for ``count`` points: an effective window ``1 / (1 - weight)`` of about 1/50 of the
    curve (so the smoothed curve lags little), within [0.6, 0.98]."""
    return float(np.clip(1.0 - 50.0 / max(count, 1), 0.6, 0.98))
