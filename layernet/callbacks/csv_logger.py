"""``CSVLogger(directory)``: ``history.csv`` (one row per epoch) and ``steps.csv`` (one row per step).

Both files are rewritten atomically from the trainer's in-memory history when ``fit`` starts (so a
resumed run's files match its checkpoint), then appended as training goes: a step row after each
step (flushed), a history row after each epoch (fsynced, with ``steps.csv``). It runs after
``ModelCheckpoint``, so with ``every_epochs=1`` ``history.csv`` never runs ahead of ``last.npz``.
Formats: ``layernet.metrics`` (``HISTORY_COLUMNS`` plus any named metrics' columns, ``STEP_COLUMNS``).
"""

from __future__ import annotations

from pathlib import Path

from ..csv_files import CsvLog, write_csv
from ..history import STEP_COLUMNS
from .base import Callback


class CSVLogger(Callback):
    """Writes ``directory/history.csv`` and ``directory/steps.csv``."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self._history = self._steps = None

    def on_train_begin(self, logs=None):
        history = self.trainer.history
        self.directory.mkdir(parents=True, exist_ok=True)
        history_path, steps_path = self.directory / "history.csv", self.directory / "steps.csv"
        write_csv(history_path, history.columns, history.rows)
        write_csv(steps_path, STEP_COLUMNS, history.step_rows())
        self._history = CsvLog(history_path, history.columns)
        self._steps = CsvLog(steps_path, STEP_COLUMNS, sync_every_row=False)

    def on_batch_end(self, step, logs=None):
        self._steps.append((step, logs["epoch"], logs["loss"], logs["lr"]))

    def on_epoch_end(self, epoch, logs=None):
        self._history.append(logs)
        self._steps.sync()

    def close(self) -> None:
        for log in (self._history, self._steps):
            if log is not None:
                log.close()
        self._history = self._steps = None

    def __repr__(self) -> str:
        return f"CSVLogger({str(self.directory)!r})"
