"""Common processing after loading: ``limit``, the validation split and normalisation.

Order: ``limit`` keeps the first N training examples; ``val_size`` examples are then held out of
what is left by a seeded permutation (``np.random.default_rng(seed)``; both parts keep the file's
order); the normalisation statistics come from the remaining training part only and are applied
unchanged to validation and test, so no information leaks from held-out data.

Normalisations: ``"none"``; ``"scale"``: x / s, with s the set's largest raw value (255 for
uint8 image sets, 16 for digits) or, when the set has none, the largest ``|x|`` of the training
part; ``"standard"``: (x - mean) / std per channel (axis 1) over the training part (the biased
std, numpy's default; a constant channel gets std 1), accumulated in float64 and applied in float32.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import invalid_argument
from ..registry import did_you_mean
from .dataset import Dataset

NORMALIZATIONS = ("none", "scale", "standard")


def apply_limit(ds: Dataset, limit) -> None:
    """Keep only the first ``limit`` training examples (all of them if there are fewer)."""
    if limit is None:
        return
    if not isinstance(limit, numbers.Integral) or isinstance(limit, bool) or limit < 1:
        raise invalid_argument("load_dataset", "limit", "a positive int or None", limit)
    ds.x_train, ds.y_train = ds.x_train[:limit], ds.y_train[:limit]


def split_validation(ds: Dataset, val_size, seed: int) -> None:
    """Move ``val_size`` training examples (an int, or a fraction in (0, 1)) to the validation split."""
    if isinstance(val_size, bool) or not isinstance(val_size, numbers.Real) or val_size < 0 or (
        not isinstance(val_size, numbers.Integral) and not 0 < val_size < 1
    ):
        raise invalid_argument("load_dataset", "val_size", "an int >= 0 or a fraction in (0, 1)", val_size)
    n = len(ds.y_train)
    count = int(val_size) if isinstance(val_size, numbers.Integral) else int(round(val_size * n))
    if count == 0:
        return
    if ds.x_val is not None:
        raise ValueError(
            f"{ds.name}: val_size={val_size!r} but the data set already has a validation split "
            f"({len(ds.y_val)} examples); set val_size to 0"
        )
    if count >= n:
        raise ValueError(
            f"{ds.name}: val_size={val_size!r} leaves no training examples: the training split has only {n} "
            f"(after limit); use a smaller val_size"
        )
    if ds.contiguous:  # consecutive windows of one text: the tail, so no window overlaps training ones
        val, train = np.arange(n - count, n), np.arange(n - count)
    else:
        order = np.random.default_rng(seed).permutation(n)
        val, train = np.sort(order[:count]), np.sort(order[count:])
    ds.x_val, ds.y_val = ds.x_train[val], ds.y_train[val]
    ds.x_train, ds.y_train = ds.x_train[train], ds.y_train[train]


def normalize(ds: Dataset, method: str, scale: float | None) -> None:
    """Normalise every split in place with statistics of the training split (see module docstring)."""
    if method not in NORMALIZATIONS:
        raise ValueError(
            f"Invalid value for argument `normalize` of load_dataset: expected one of "
            f"{', '.join(NORMALIZATIONS)}{did_you_mean(method, NORMALIZATIONS)}. Received: normalize={method!r}"
        )
    if method == "none":
        ds.normalization = {"method": "none"}
        return
    if ds.vocabulary is not None:
        raise ValueError(f"{ds.name}: expected normalize: none (the inputs are character indices), found "
                         f"normalize: {method}")
    x = ds.x_train
    if method == "scale":
        s = float(scale) if scale else float(np.abs(x).max())
        s = s if s > 0 else 1.0
        shift, divide = np.float32(0.0), np.float32(s)
        ds.normalization = {"method": "scale", "scale": s}
    else:
        axes = (0,) + tuple(range(2, x.ndim))           # every axis but the channel axis
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean, std = x.mean(axis=axes, dtype=np.float64), x.std(axis=axes, dtype=np.float64)
        std[std == 0] = 1.0
        shift, divide = mean.reshape(shape).astype(np.float32), std.reshape(shape).astype(np.float32)
        ds.normalization = {"method": "standard", "mean": mean, "std": std}
    for split in ("train", "val", "test"):
        values = getattr(ds, f"x_{split}")
        if values is not None:
            setattr(ds, f"x_{split}", ((values - shift) / divide).astype(np.float32))


SEQUENCES = ("rows",)


def sequence_shape(input_shape, sequence) -> tuple:
    """The per-example shape after ``to_sequences``: (C, H, W) -> (H, C*W) for ``"rows"``."""
    if sequence is None:
        return tuple(input_shape)
    if sequence not in SEQUENCES or len(input_shape) != 3:
        raise ValueError(f"sequence: {sequence} expects images (C, H, W), found inputs of shape {tuple(input_shape)}")
    c, h, w = input_shape
    return (h, c * w)


def to_sequences(ds: Dataset, sequence) -> None:
    """``sequence="rows"``: images (N, C, H, W) become sequences (N, H, C*W) in place, row by row
    (T = H steps, each the row's pixels of every channel; (N, H, W) for one channel). Applied
    after normalisation. None leaves the data as it is."""
    if sequence is None:
        return
    if sequence not in SEQUENCES:
        raise ValueError(f"Invalid value for argument `sequence` of load_dataset: expected 'rows' or None. "
                         f"Received: sequence={sequence!r}")
    if ds.x_train.ndim != 4:
        raise ValueError(f"{ds.name}: sequence: rows expects images (N, C, H, W), found inputs of shape "
                         f"{ds.x_train.shape}")
    for split in ("train", "val", "test"):
        x = getattr(ds, f"x_{split}")
        if x is not None:
            n, c, h, w = x.shape
            setattr(ds, f"x_{split}", np.ascontiguousarray(x.transpose(0, 2, 1, 3).reshape(n, h, c * w)))
