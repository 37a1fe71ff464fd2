"""Metrics of a model's scores: accuracy, top-k, per-step (sequence) accuracy, named metrics
(``METRICS``: ``accuracy``, ``top5_accuracy`` ...) and a split's confusion matrix.

Named metrics add the history columns ``train_<name>`` and ``val_<name>``; per-class accuracy and
the confusion matrix of a split are ``confusion_counts``/``per_class_accuracy``. The training
history itself is ``layernet/history.py`` and its CSV files ``layernet/csv_files.py`` (both also
importable from here, as before).
"""

from __future__ import annotations

import math

import numpy as np

from .csv_files import CsvLog, format_row, format_value, read_csv, write_csv  # noqa: F401 (the old import paths)
from .history import HISTORY_COLUMNS, STEP_COLUMNS, TrainingHistory, monitor_mode  # noqa: F401


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
