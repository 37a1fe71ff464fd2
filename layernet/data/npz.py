"""A user's own data set in one ``.npz`` file (``np.savez``), named by the option ``path``.

Arrays: ``x_train``, ``y_train`` (required) and optionally ``x_val``/``y_val`` and
``x_test``/``y_test`` (each pair complete). Inputs: numeric, finite, (N, D) flat or (N, C, H, W)
images ((N, H, W) is read as one channel); every split with the same per-example shape. Labels:
(N,) integers in ``0 .. num_classes - 1`` (floats are accepted when they hold whole numbers);
``num_classes`` defaults to the largest label + 1. Every violation raises a one-line ValueError
naming the file and the array. ``normalize="scale"`` divides uint8 inputs by 255, others by the
largest ``|x|`` of the training split.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import load_npz
from .._validation import check_int, invalid_argument
from ..registry import DATASETS, did_you_mean
from .dataset import Dataset
from .source import Source

SPLITS = ("train", "val", "test")


def check_inputs(where: str, name: str, x: np.ndarray) -> np.ndarray:
    """``x`` as float32 (N, D) or (N, C, H, W), after the dtype, rank and finiteness checks."""
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"{where}: '{name}' should hold real numbers, found dtype {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim not in (2, 4):
        raise ValueError(f"{where}: '{name}' should have shape (N, D) or (N, C, H, W), found {x.shape}")
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.argmax(bad.reshape(len(x), -1).any(axis=1)))
            raise ValueError(f"{where}: '{name}' has {int(bad.sum())} NaN or inf values (the first in example {first})")
    return x.astype(np.float32)


def check_labels(where: str, name: str, y: np.ndarray, num_classes: int | None) -> np.ndarray:
    """``y`` as int64 (N,) after the rank, integer and range checks."""
    if y.ndim != 1:
        hint = " (one-hot labels? store y.argmax(axis=1))" if y.ndim == 2 else ""
        raise ValueError(f"{where}: '{name}' should have shape (N,), found {y.shape}{hint}")
    if np.issubdtype(y.dtype, np.floating):
        fractional = ~np.isfinite(y) | (y != np.round(y))
        if fractional.any():
            i = int(np.argmax(fractional))
            raise ValueError(f"{where}: '{name}' should hold integer class labels, found {y[i]} at index {i}")
    elif y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: '{name}' should hold integer class labels, found dtype {y.dtype}")
    y = y.astype(np.int64)
    high = num_classes - 1 if num_classes is not None else None
    outside = (y < 0) | (y > high) if high is not None else (y < 0)
    if outside.any():
        i = int(np.argmax(outside))
        expected = f"0..{high}" if high is not None else ">= 0"
        raise ValueError(f"{where}: '{name}' has label {y[i]} at index {i}, outside {expected}")
    return y


@DATASETS.register("npz")
class NpzDataset(Source):
    """Arrays from the user's .npz file; options ``path`` (required), ``num_classes``, ``class_names``."""

    def __init__(self, path=None, num_classes: int | None = None, class_names: list | None = None):
        if path is None:
            raise invalid_argument("dataset npz", "path", "the .npz file holding x_train and y_train", path)
        self.path = Path(path).expanduser()
        self.num_classes = None if num_classes is None else check_int("dataset npz", "num_classes", num_classes)
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        if self.class_names is not None and self.num_classes is None:
            self.num_classes = len(self.class_names)
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise invalid_argument("dataset npz", "class_names", f"{self.num_classes} names", class_names)
        self.scale = None

    def read(self, directory=None, seed=0):
        where = str(self.path)
        arrays = load_npz(self.path)
        known = {f"{xy}_{split}" for xy in "xy" for split in SPLITS}
        for name in ("x_train", "y_train"):
            if name not in arrays:
                unknown = [a for a in arrays if a not in known]   # only those can be misspellings
                raise ValueError(
                    f"{where}: missing array '{name}'{did_you_mean(name, unknown)}; "
                    f"found: {', '.join(sorted(arrays)) or 'no arrays'}"
                )
        splits = {}
        for split in SPLITS:
            xn, yn = f"x_{split}", f"y_{split}"
            if (xn in arrays) != (yn in arrays):
                have, lack = (xn, yn) if xn in arrays else (yn, xn)
                raise ValueError(f"{where}: has '{have}' but no '{lack}'; give both or neither")
            if xn not in arrays:
                continue
            x = check_inputs(where, xn, arrays[xn])
            y = check_labels(where, yn, arrays[yn], self.num_classes)
            if len(x) != len(y):
                raise ValueError(f"{where}: '{xn}' has {len(x)} examples but '{yn}' has {len(y)}")
            if split != "train" and x.shape[1:] != splits["train"][0].shape[1:]:
                raise ValueError(
                    f"{where}: '{xn}' examples have shape {x.shape[1:]}, "
                    f"but x_train's have {splits['train'][0].shape[1:]}"
                )
            splits[split] = (x, y)
        if len(splits["train"][1]) == 0:
            raise ValueError(f"{where}: 'x_train' has no examples")
        self.scale = 255.0 if arrays["x_train"].dtype == np.uint8 else None
        num_classes = self.num_classes or int(max(y.max() for _, y in splits.values() if len(y))) + 1
        names = self.class_names or [str(c) for c in range(num_classes)]
        (xtr, ytr), (xva, yva), (xte, yte) = (splits.get(s, (None, None)) for s in SPLITS)
        return Dataset(xtr, ytr, xva, yva, xte, yte, num_classes, names, self.type_name)

    def expected_files(self, root=None):
        return [self.path]
