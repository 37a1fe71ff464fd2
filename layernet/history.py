"""The training history: per-epoch rows and per-step losses of one run (``TrainingHistory``).

Conventions:

- Epochs and steps count from 1: epoch 1 is the first pass over the data, step ``s`` is the
  ``s``-th optimizer update since the start of training (across resumes).
- A history row holds ``HISTORY_COLUMNS``: ``train_loss``/``train_acc`` are the means over the
  epoch's training examples of the loss and accuracy seen *during* the epoch (training-mode
  forward, weights still changing: Keras' running average, weighted by batch size);
  ``val_loss``/``val_acc`` are computed after the epoch in eval mode; ``lr`` is the learning rate
  used during the epoch (its first step's, for a schedule updated every step); ``time_s`` its
  wall time. A missing value (no validation data) is NaN in memory and an empty cell in the CSV.
- Named metrics (``layernet.metrics.METRICS``) add the columns ``train_<name>`` and
  ``val_<name>`` after ``time_s``.
- A step row (``STEP_COLUMNS``) holds the step's loss and the ``lr`` that step used.
- ``monitor_mode`` says whether a monitored column is better high or low.
The CSV files the trainer writes from it are ``layernet/csv_files.py``'s.
"""

from __future__ import annotations

import math

import numpy as np

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s")
STEP_COLUMNS = ("step", "epoch", "loss", "lr")
INT_COLUMNS = {"epoch", "step"}


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """``"max"`` or ``"min"``: auto means max for a metric ending in ``acc`` or ``accuracy``, min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max', found {mode!r}")
    if mode != "auto":
        return mode
    return "max" if monitor.endswith(("acc", "accuracy")) else "min"


class TrainingHistory:
    """The trainer's record of one training run, growing as it trains: per-epoch rows (dicts
    over ``HISTORY_COLUMNS``) and per-step losses; saved in checkpoints and as ``history.csv`` /
    ``steps.csv``. (Plots read those files back as ``layernet.plot.RunCurves``.)

    ``history["val_acc"]`` is the list of that column over epochs; ``history.step_losses`` the
    list of every step's loss; ``history.as_dict()`` all columns as lists (Keras' ``history.history``).
    """

    def __init__(self, extra_columns=()):
        self.columns = HISTORY_COLUMNS + tuple(extra_columns)  # extra: named metrics' columns, at the end
        self.rows: list[dict] = []
        self.steps: list[tuple[int, int, float]] = []  # (step, epoch, loss)
        self.step_lrs: list[float] = []  # the lr each step used (NaN when unknown: older checkpoints)

    def append(self, row: dict) -> None:
        missing = [c for c in self.columns if c not in row]
        if missing:
            raise ValueError(f"TrainingHistory.append: row lacks column(s) {', '.join(missing)}")
        self.rows.append({c: row[c] for c in self.columns})

    def add_step(self, step: int, epoch: int, loss: float, lr: float = math.nan) -> None:
        self.steps.append((int(step), int(epoch), float(loss)))
        self.step_lrs.append(float(lr))

    def step_rows(self) -> list[tuple]:
        """``(step, epoch, loss, lr)`` per step: the rows of steps.csv (``STEP_COLUMNS``)."""
        lrs = self.step_lrs + [math.nan] * (len(self.steps) - len(self.step_lrs))
        return [(*step, lr) for step, lr in zip(self.steps, lrs)]

    def __getitem__(self, column: str) -> list:
        if column not in self.columns:
            raise KeyError(f"TrainingHistory has no column {column!r}; columns are {', '.join(self.columns)}")
        return [row[column] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def step_losses(self) -> list[float]:
        return [loss for _, _, loss in self.steps]

    def as_dict(self) -> dict[str, list]:
        """Every column as a list, plus ``"step_loss"``: the per-step losses."""
        return {**{c: self[c] for c in self.columns}, "step_loss": self.step_losses}

    def best(self, monitor: str, mode: str = "auto"):
        """``(epoch, value)`` of the best finite ``monitor`` value, or ``(None, None)``."""
        best = (None, None)
        sign = 1.0 if monitor_mode(monitor, mode) == "max" else -1.0
        for row in self.rows:
            value = row.get(monitor)
            if value is None or not math.isfinite(value):
                continue
            if best[1] is None or sign * value > sign * best[1]:
                best = (row["epoch"], value)
        return best

    # ------------------------------------------------------------------ arrays (checkpoints)
    def to_arrays(self, prefix: str = "history/") -> dict[str, np.ndarray]:
        """Plain numeric arrays: ``history/<column>`` per column and ``steps/<column>``."""
        arrays = {}
        for c in self.columns:
            dtype = np.int64 if c in INT_COLUMNS else np.float64
            arrays[f"{prefix}{c}"] = np.array([row[c] for row in self.rows], dtype=dtype)
        rows = self.step_rows()
        arrays["steps/step"] = np.array([s for s, _, _, _ in rows], dtype=np.int64)
        arrays["steps/epoch"] = np.array([e for _, e, _, _ in rows], dtype=np.int64)
        arrays["steps/loss"] = np.array([loss for _, _, loss, _ in rows], dtype=np.float64)
        arrays["steps/lr"] = np.array([lr for _, _, _, lr in rows], dtype=np.float64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str = "history/") -> "TrainingHistory":
        history = cls([k[len(prefix):] for k in arrays if k.startswith(prefix) and k[len(prefix):] not in HISTORY_COLUMNS])
        n = len(arrays[f"{prefix}epoch"])
        for i in range(n):
            history.rows.append({
                c: int(arrays[f"{prefix}{c}"][i]) if c in INT_COLUMNS else float(arrays[f"{prefix}{c}"][i])
                for c in history.columns
            })
        lrs = arrays["steps/lr"] if "steps/lr" in arrays else np.full(len(arrays["steps/step"]), np.nan)  # older checkpoints
        history.steps = [
            (int(s), int(e), float(loss))
            for s, e, loss in zip(arrays["steps/step"], arrays["steps/epoch"], arrays["steps/loss"])
        ]
        history.step_lrs = [float(lr) for lr in lrs]
        return history
