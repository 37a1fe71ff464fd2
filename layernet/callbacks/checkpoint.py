"""``ModelCheckpoint``: the run's ``last.npz`` and ``best.npz``, and which epoch was best.

``ModelCheckpoint(directory, monitor="val_acc", every_epochs=1, keep_best=True)``, after each epoch:

- ``best_value``/``best_epoch`` follow ``monitor`` (``improves`` with ``min_delta=0``); when it improves
  and ``keep_best``, ``best.npz`` is written;
- ``last.npz`` is written every ``every_epochs`` epochs and whenever training stops (the last epoch,
  a callback's ``stop_training``, a Ctrl-C between epochs); on a Ctrl-C mid-epoch
  (``on_interrupt``) it holds the state after the last finished step and the epoch's position.

Every file is the trainer's whole state (``Trainer.save_checkpoint``, atomic). ``directory=None``
tracks the best epoch without writing files. Without validation data a ``val_`` monitor falls back
to the ``train_`` metric, with a warning. It runs after the other callbacks of an epoch, so the
checkpoint holds their state after that epoch.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

from ..history import monitor_mode
from .base import Callback
from .monitor import check_monitor, improves


class ModelCheckpoint(Callback):
    """Writes ``directory/last.npz`` and ``directory/best.npz``; see the module docstring."""

    state_key = "model_checkpoint"

    def __init__(self, directory=None, monitor: str = "val_acc", every_epochs: int = 1, keep_best: bool = True):
        self.directory = None if directory is None else Path(directory)
        self.monitor = check_monitor("Trainer", monitor)
        self.every_epochs, self.keep_best = int(every_epochs), bool(keep_best)
        self.best_value, self.best_epoch = math.nan, 0

    def check(self, has_val: bool) -> None:
        if not has_val and self.monitor.startswith("val_"):
            warnings.warn(f"Trainer: no validation data; the best checkpoint monitors "
                          f"'train_{self.monitor[4:]}' instead of '{self.monitor}'", stacklevel=4)
            self.monitor = "train_" + self.monitor[4:]

    def on_train_begin(self, logs=None):
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        trainer = self.trainer
        improved = improves(logs[self.monitor], self.best_value, monitor_mode(self.monitor))
        if improved:
            self.best_value, self.best_epoch = logs[self.monitor], epoch
        if improved and self.keep_best and self.directory is not None:
            trainer.save_checkpoint(self.directory / "best.npz")
        last = epoch == trainer.epochs or trainer.stop_training or trainer.stop_flag.requested
        if last or epoch % self.every_epochs == 0:
            self.write_last()

    def on_interrupt(self, logs=None):
        self.write_last(logs["partial"])

    def write_last(self, partial=None) -> None:
        if self.directory is not None:
            self.trainer.save_checkpoint(self.directory / "last.npz", partial)
            self.trainer.last_checkpoint = (self.trainer.epoch, self.trainer.step)

    def state_dict(self) -> dict:
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "monitor": self.monitor}

    def load_state_dict(self, state: dict) -> None:
        self.best_value, self.best_epoch = float(state["best_value"]), int(state["best_epoch"])

    def __repr__(self) -> str:
        return (f"ModelCheckpoint({str(self.directory)!r}, monitor={self.monitor!r}, every_epochs={self.every_epochs}, "
                f"keep_best={self.keep_best})")
