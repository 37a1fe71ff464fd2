"""Watching a metric across epochs: ``improves`` and ``EarlyStopping`` (Keras semantics).

An epoch *improves* on the best value so far when, in mode ``max``, ``value > best + min_delta``
(in mode ``min``: ``value < best - min_delta``). The first finite value always improves; NaN never
does. ``mode="auto"`` is max for a metric ending in ``acc`` and min otherwise.

``EarlyStopping(monitor="val_loss", patience=5)``: after each epoch ``update(row)``; once
``patience`` epochs in a row have not improved, ``stopped`` is True. Its state (``best``,
``wait``) is saved in checkpoints, so a resumed run stops where the uninterrupted one would.
"""

from __future__ import annotations

import math

from .metrics import HISTORY_COLUMNS, monitor_mode


def improves(value: float, best: float, mode: str, min_delta: float = 0.0) -> bool:
    """True when ``value`` beats ``best`` (NaN: none yet) by more than ``min_delta`` in ``mode``."""
    if math.isnan(value):
        return False
    if math.isnan(best):
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


def check_monitor(owner: str, monitor) -> str:
    """``monitor`` if it names a metric column of the history (``val_acc``, ``train_loss`` ...)."""
    if monitor not in HISTORY_COLUMNS[1:]:
        raise ValueError(f"{owner}: monitor must be one of {', '.join(HISTORY_COLUMNS[1:])}, found {monitor!r}")
    return monitor


class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, mode: str = "auto", min_delta: float = 0.0):
        self.monitor = check_monitor("EarlyStopping", monitor)
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive int, found {patience!r}")
        if not (isinstance(min_delta, (int, float)) and min_delta >= 0):
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, found {min_delta!r}")
        self.patience, self.min_delta = patience, float(min_delta)
        self.mode = monitor_mode(monitor, mode)
        self.best, self.wait = math.nan, 0

    @classmethod
    def from_config(cls, config) -> "EarlyStopping | None":
        """None -> None; a dict ``{monitor, patience, mode, min_delta}``; an EarlyStopping as is."""
        if config is None or isinstance(config, EarlyStopping):
            return config
        allowed = ("monitor", "patience", "mode", "min_delta")
        unknown = sorted(set(config) - set(allowed))
        if unknown:
            raise ValueError(f"early_stopping: unknown key '{unknown[0]}'; expected some of {', '.join(allowed)}")
        return cls(**config)

    def update(self, row: dict) -> bool:
        """Take an epoch's history row; returns whether it improved."""
        value = row[self.monitor]
        if improves(value, self.best, self.mode, self.min_delta):
            self.best, self.wait = value, 0
            return True
        self.wait += 1
        return False

    @property
    def stopped(self) -> bool:
        return self.wait >= self.patience

    def reason(self) -> str:
        return f"early stopping: {self.monitor} did not improve for {self.patience} epochs (best {self.best:.4g})"

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, mode={self.mode!r}, "
                f"min_delta={self.min_delta})")
