"""``EarlyStopping(monitor="val_loss", patience=5)``: stop when a metric stops improving (Keras semantics).

After each epoch ``update(row)`` takes the history row; once ``patience`` epochs in a row have not
improved (see ``layernet.callbacks.monitor.improves``), ``stopped`` is True and the callback sets
``trainer.stop_training``. Its state (``best``, ``wait``) is saved in checkpoints, so a resumed run
stops where the uninterrupted one would, and resuming a run it stopped does nothing.
"""

from __future__ import annotations

import math

from ..history import monitor_mode
from .base import Callback
from .monitor import check_monitor, improves


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs."""

    state_key = "early_stopping"

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

    # ------------------------------------------------------------------ callback hooks
    def check(self, has_val: bool) -> None:
        if not has_val and self.monitor.startswith("val_"):
            raise ValueError(f"Trainer: early_stopping monitors '{self.monitor}', "
                             "which needs validation data (x_val, y_val)")

    def on_train_begin(self, logs=None):
        if self.stopped:  # a resumed run that this callback had already ended
            self.trainer.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.update(logs)
        if self.stopped:
            self.trainer.stop_training = True

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.wait = float(state["best"]), int(state["wait"])

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, mode={self.mode!r}, "
                f"min_delta={self.min_delta})")
