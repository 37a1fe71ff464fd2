"""Confusion matrix: how often class i (true, row) was predicted as class j (column)."""

from __future__ import annotations

import numpy as np


def _labels(name: str, values) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"confusion_matrix: {name} must be 1-D integer labels, found shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        if not (np.issubdtype(values.dtype, np.floating) and np.all(values == np.round(values))):
            raise ValueError(f"confusion_matrix: {name} must hold integer class labels, found dtype {values.dtype}")
    return values.astype(np.int64)


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts ``M[i, j]`` = number of examples of true class i predicted as class j, int64 (K, K).

    ``y_true``: (N,) integer labels. ``y_pred``: (N,) integer labels, or (N, K) scores whose argmax
    is the prediction. ``num_classes`` defaults to ``max(label) + 1``. Rows sum to the class counts,
    the trace is the number of correct predictions.
    """
    if np.ndim(y_pred) == 2:
        y_pred = np.argmax(np.asarray(y_pred), axis=1)
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix: y_true has {y_true.size} labels, y_pred {y_pred.size}")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(
                f"confusion_matrix: {name} has labels outside [0, {num_classes}) "
                f"(found {values.min()}..{values.max()})"
            )
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion(y_true, y_pred, class_names=None, ax=None, title: str | None = None):
    """Draw the confusion matrix with every count written in its cell; returns the Figure.

    Rows are true classes, columns predicted classes; colours follow the counts. ``class_names``
    (one per class) label the ticks; their number fixes the number of classes.
    """
    num_classes = len(class_names) if class_names is not None else None
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    K = matrix.shape[0]
    names = [str(name) for name in class_names] if class_names is not None else [str(k) for k in range(K)]
    if ax is None:
        import matplotlib.pyplot as plt

        size = min(12.0, max(4.0, 0.55 * K + 2.0))
        fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    image = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="count")
    threshold = matrix.max() / 2.0
    fontsize = "small" if K <= 12 else "x-small"
    for i in range(K):
        for j in range(K):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=fontsize)
    ax.set_xticks(range(K), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(matrix.sum())
    accuracy = np.trace(matrix) / total if total else float("nan")
    ax.set_title(title or f"confusion matrix ({total} examples, accuracy {100 * accuracy:.1f}%)", fontsize="medium")
    return ax.figure
