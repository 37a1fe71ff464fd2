"""The ``Dataset`` container that every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(repr=False)
class Dataset:
    """Train / validation / test arrays of one data set, ready for a model.

    Shapes: images ``x`` are float32 (N, C, H, W), flat data float32 (N, D), sequences float32
    (N, T, D) (``sequence="rows"``) or int64 indices (N, T) (text); labels ``y`` are int64 (N,), or
    (N, T) for a class per step (text), with values in ``0 .. num_classes - 1``. ``x_val``/``y_val`` and ``x_test``/``y_test``
    are ``None`` when the split does not exist. ``normalization`` records what was applied to ``x``
    (``{"method": "standard", "mean": ..., "std": ...}`` with per-channel arrays, or
    ``{"method": "scale", "scale": 255.0}``, or ``{"method": "none"}``), so new inputs can be
    treated the same way.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    num_classes: int
    class_names: list[str]
    name: str
    normalization: dict = field(default_factory=lambda: {"method": "none"})
    #: the characters of a text data set, in index order (``layernet.data.text``); None otherwise
    vocabulary: list[str] | None = None
    #: True when the examples are consecutive pieces of one stream (text windows): the validation
    #: split is then the tail of the training examples instead of a random draw
    contiguous: bool = False

    @property
    def label_shape(self) -> tuple[int, ...]:
        """Shape of one example's labels: () for a class per example, (T,) for a class per step."""
        return tuple(self.y_train.shape[1:])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one example, e.g. (1, 8, 8) for digits or (2,) for the spiral."""
        return tuple(self.x_train.shape[1:])

    def splits(self):
        """Yield ``(split_name, x, y)`` for each split that exists: train, val, test."""
        for split in ("train", "val", "test"):
            x = getattr(self, f"x_{split}")
            if x is not None:
                yield split, x, getattr(self, f"y_{split}")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{split}={len(y)}" for split, _, y in self.splits())
        return (
            f"Dataset(name={self.name!r}, {sizes}, input_shape={self.input_shape}, "
            f"num_classes={self.num_classes}, normalization={self.normalization['method']!r})"
        )
