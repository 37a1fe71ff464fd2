"""Metrics and the training history: accuracy, the per-epoch ``TrainingHistory``, and its CSV files.

Conventions:

- Epochs and steps count from 1: epoch 1 is the first pass over the data, step ``s`` is the
  ``s``-th optimizer update since the start of training (across resumes).
- A history row holds ``HISTORY_COLUMNS``: ``train_loss``/``train_acc`` are the means over the
  epoch's training examples of the loss and accuracy seen *during* the epoch (training-mode
  forward, weights still changing: Keras' running average, weighted by batch size);
  ``val_loss``/``val_acc`` are computed after the epoch in eval mode; ``lr`` is the learning rate
  used during the epoch (its first step's, for a schedule updated every step); ``time_s`` its
  wall time. A missing value (no validation data) is NaN in memory and an empty cell in the CSV.
- Named metrics (``METRICS``: ``accuracy``, ``top5_accuracy`` ...) add the columns ``train_<name>``
  and ``val_<name>`` after ``time_s``; per-class accuracy and the confusion matrix of a split are
  ``confusion_counts``/``per_class_accuracy``.
- A step row (``STEP_COLUMNS``) holds the step's loss and the ``lr`` that step used.
- Floats are written with ``repr`` (shortest round-trip form), so a CSV read back gives the same
  float64 values bit for bit; ``time_s`` is rounded to milliseconds.
- CSV rows are appended, flushed and fsynced (``CsvLog``); a whole file is rewritten atomically
  (``write_csv``), which is how a resumed run makes ``history.csv`` match its checkpoint.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ._io import atomic_write

HISTORY_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s")
STEP_COLUMNS = ("step", "epoch", "loss", "lr")
_INT_COLUMNS = {"epoch", "step"}


def accuracy(scores, y) -> float:
    """Fraction of rows whose highest score is the true class.

    ``scores`` (N, C); ``y`` integer labels (N,) or targets of the scores' shape (one-hot: the
    argmax of each row is the class). Ties in ``scores`` go to the lowest class index (argmax).
    Sequence scores (N, T, C) with labels (N, T): the fraction of steps predicted right.
    """
    scores = np.asarray(scores)
    y = np.asarray(y)
    if scores.ndim == 3 and y.shape == scores.shape[:2] and len(scores):
        right, counted = count_correct_steps(scores, y)
        return right / counted
    if scores.ndim != 2 or len(scores) == 0:
        raise ValueError(f"accuracy: expected scores of shape (N, C) with N >= 1, found shape {scores.shape}")
    if y.shape == scores.shape:
        y = y.argmax(axis=1)
    if y.shape != (len(scores),):
        raise ValueError(f"accuracy: expected labels of shape ({len(scores)},) for scores {scores.shape}, found {y.shape}")
    return float(np.mean(scores.argmax(axis=1) == y))


def count_correct(scores, y) -> int:
    """Number of rows of ``scores`` (N, C) whose argmax is the label (see ``accuracy``)."""
    scores = np.asarray(scores)
    y = np.asarray(y)
    if y.shape == scores.shape:
        y = y.argmax(axis=1)
    return int(np.count_nonzero(scores.argmax(axis=1) == y))


def count_correct_steps(scores, y, ignore_index=None) -> tuple[int, int]:
    """``(right, counted)`` for sequence scores (N, T, C) and labels (N, T): how many counted steps
    (label != ``ignore_index``) have the label as their argmax, and how many steps count."""
    scores, y = np.asarray(scores), np.asarray(y)
    if scores.ndim != 3 or y.shape != scores.shape[:2]:
        raise ValueError(f"accuracy: expected scores (N, T, C) and labels (N, T), found {scores.shape} and {y.shape}")
    counted = np.ones(y.shape, dtype=bool) if ignore_index is None else y != ignore_index
    right = (scores.argmax(axis=2) == y) & counted
    return int(np.count_nonzero(right)), int(np.count_nonzero(counted))


def sequence_correct(scores, y, ignore_index=None) -> float:
    """The trainer's per-batch count for sequence scores (N, T, C): N times the fraction of counted
    steps predicted right, so that summing over batches and dividing by the number of examples gives
    the fraction of counted steps predicted right (exactly when every batch counts the same number of
    steps per example, as for text windows; otherwise a batch-size-weighted mean of batch fractions)."""
    right, counted = count_correct_steps(scores, y, ignore_index)
    return len(y) * right / counted if counted else 0.0


def count_top_k(scores, y, k: int) -> int:
    """Number of rows of ``scores`` (N, C) whose label is among the ``k`` highest scores.

    Ties at the k-th score count in the label's favour only as far as ``argpartition`` puts it
    among the k (an arbitrary but deterministic choice); with k >= C every row counts.
    """
    scores = np.asarray(scores)
    y = np.asarray(y)
    if y.shape == scores.shape:
        y = y.argmax(axis=1)
    if k >= scores.shape[1]:
        return len(scores)
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return int(np.count_nonzero((top == y[:, None]).any(axis=1)))


#: Metrics by name (``trainer.metrics`` in configs, ``Trainer(metrics=[...])``): each counts the
#: examples of a batch it scores as right, so epochs and evaluations add counts and divide once.
#: ``accuracy`` is always computed (the ``train_acc``/``val_acc`` columns); each other one adds
#: the history columns ``train_<name>`` and ``val_<name>``.
METRICS = {
    "accuracy": count_correct,
    "top3_accuracy": lambda scores, y: count_top_k(scores, y, 3),
    "top5_accuracy": lambda scores, y: count_top_k(scores, y, 5),
}


def check_metrics(names) -> tuple[str, ...]:
    """The metric names, ``accuracy`` first and each once; ValueError naming an unknown one."""
    from .registry import did_you_mean

    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"Trainer: metrics must be a list of metric names ({', '.join(METRICS)}), found {names!r}")
    for name in names:
        if name not in METRICS:
            raise ValueError(f"Trainer: unknown metric {name!r}{did_you_mean(name, list(METRICS))}; "
                             f"known: {', '.join(METRICS)}")
    return tuple(dict.fromkeys(["accuracy", *names]))


def metric_columns(names) -> tuple[str, ...]:
    """History columns the named metrics add (``accuracy`` has its own, ``train_acc``/``val_acc``)."""
    return tuple(f"{split}_{name}" for name in names if name != "accuracy" for split in ("train", "val"))


def metric_counts(names, scores, y, ignore_index=None) -> dict[str, float]:
    """``{name: examples counted right}`` for a batch; all 0 when ``scores`` are not (N, C) class scores.

    Sequence scores (N, T, C) with labels (N, T): ``accuracy`` is ``sequence_correct`` (steps whose
    label is ``ignore_index`` do not count), the other metrics 0.
    """
    scores, y = np.asarray(scores), np.asarray(y)
    if scores.ndim == 3 and y.shape == scores.shape[:2]:
        return {name: sequence_correct(scores, y, ignore_index) if name == "accuracy" else 0 for name in names}
    if not (scores.ndim == 2 and (y.ndim == 1 or y.shape == scores.shape)):
        return {name: 0 for name in names}
    return {name: METRICS[name](scores, y) for name in names}


def confusion_counts(y_true, y_pred, num_classes: int) -> np.ndarray:
    """``M[i, j]``: examples of true class i predicted as class j, int64 (K, K)."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> list[float]:
    """Recall of each class from a confusion matrix: the diagonal over the row sums (NaN for an absent class)."""
    totals = matrix.sum(axis=1)
    return [float(matrix[i, i] / totals[i]) if totals[i] else math.nan for i in range(len(matrix))]


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
            dtype = np.int64 if c in _INT_COLUMNS else np.float64
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
                c: int(arrays[f"{prefix}{c}"][i]) if c in _INT_COLUMNS else float(arrays[f"{prefix}{c}"][i])
                for c in history.columns
            })
        lrs = arrays["steps/lr"] if "steps/lr" in arrays else np.full(len(arrays["steps/step"]), np.nan)  # older checkpoints
        history.steps = [
            (int(s), int(e), float(loss))
            for s, e, loss in zip(arrays["steps/step"], arrays["steps/epoch"], arrays["steps/loss"])
        ]
        history.step_lrs = [float(lr) for lr in lrs]
        return history


# ---------------------------------------------------------------------- CSV files
def format_value(column: str, value) -> str:
    """One CSV cell: ints as ints, NaN/None as an empty cell, floats in round-trip ``repr``."""
    if value is None:
        return ""
    if column in _INT_COLUMNS:
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return ""
    if column == "time_s":
        return f"{value:.3f}"
    return repr(value)


def format_row(columns, row) -> str:
    if isinstance(row, dict):
        row = [row[c] for c in columns]
    return ",".join(format_value(c, v) for c, v in zip(columns, row)) + "\n"


def write_csv(path, columns, rows) -> None:
    """Write a whole CSV file (header and ``rows``: dicts or sequences) atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(",".join(columns) + "\n")
        for row in rows:
            handle.write(format_row(columns, row))


def read_csv(path) -> list[dict]:
    """Rows of a CSV written here, as dicts of int/float (empty cells -> NaN).

    A last line without its newline (a write cut short by a crash) is ignored.
    """
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    header = lines[0].split(",")
    rows = []
    for line in lines[1:-1]:  # the piece after the final newline is empty or a partial line
        cells = line.split(",")
        if len(cells) != len(header):
            raise ValueError(f"{path}: malformed row {line!r} (expected {len(header)} cells)")
        rows.append({
            c: int(v) if c in _INT_COLUMNS else (float(v) if v else math.nan) for c, v in zip(header, cells)
        })
    return rows


class CsvLog:
    """An append-only CSV file: ``append(row)`` writes and flushes a line; ``sync()`` also fsyncs.

    Opening an existing file appends to it (the header is written only to an empty file);
    ``sync_every_row=True`` (history.csv) makes every ``append`` durable at once; steps.csv is
    fsynced once per epoch.
    """

    def __init__(self, path, columns, *, sync_every_row: bool = True):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.sync_every_row = sync_every_row
        self._file = open(self.path, "a", encoding="utf-8")
        if self._file.tell() == 0:
            self._file.write(",".join(self.columns) + "\n")
            self.sync()

    def append(self, row) -> None:
        self._file.write(format_row(self.columns, row))
        if self.sync_every_row:
            self.sync()
        else:
            self._file.flush()  # visible to readers (tail -f, plots) at once; durable at the next sync()

    def sync(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
