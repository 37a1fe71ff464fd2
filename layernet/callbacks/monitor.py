"""Watching a metric across epochs: when a value *improves* on the best so far.

In mode ``max`` a value improves when ``value > best + min_delta`` (mode ``min``:
``value < best - min_delta``). The first finite value always improves; NaN never does.
``mode="auto"`` is max for a metric ending in ``acc``/``accuracy`` and min otherwise
(``layernet.history.monitor_mode``).
"""

from __future__ import annotations

import math

from ..history import HISTORY_COLUMNS


def improves(value: float, best: float, mode: str, min_delta: float = 0.0) -> bool:
    """True when ``value`` beats ``best`` (NaN: none yet) by more than ``min_delta`` in ``mode``."""
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


def check_monitor(owner: str, monitor, columns=HISTORY_COLUMNS) -> str:
    """``monitor`` if it names a metric column of the history (``val_acc``, ``train_loss`` ...)."""
    names = [c for c in columns if c != "epoch"]
    if monitor not in names:
        raise ValueError(f"{owner}: monitor must be one of {', '.join(names)}, found {monitor!r}")
    return monitor
