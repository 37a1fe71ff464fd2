"""``load_dataset``: one call from a data set's name to train/val/test arrays ready for a model."""

from __future__ import annotations

import inspect
import numbers

from .._validation import invalid_argument
from ..registry import DATASETS, did_you_mean
from .dataset import Dataset
from .prepare import apply_limit, normalize as apply_normalization, split_validation, to_sequences
from .source import Source


def make_source(dataset: str, options: dict) -> Source:
    """The registered ``Source`` for ``dataset`` built with its ``options``; ValueError for unknown ones."""
    if not isinstance(dataset, str):
        raise ValueError(f"dataset: expected a name such as 'digits', found {dataset!r}")
    cls = DATASETS.get(dataset)
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = [p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind in named and p.name != "self"]
    for key in options:
        if key not in accepted:
            takes = f"its options are: {', '.join(accepted)}" if accepted else "it takes no options"
            raise ValueError(f"unknown option '{key}' for dataset '{dataset}'{did_you_mean(key, accepted)}; {takes}")
    return cls(**options)


def load_dataset(dataset: str, *, root=None, download: bool = False, val_size=0, normalize: str = "none",
                 limit: int | None = None, seed: int = 0, sequence: str | None = None, **options) -> Dataset:
    """Load the registered data set ``dataset`` and prepare its splits.

    Args:
        dataset: "digits", "spiral", "mnist", "fashion_mnist", "cifar10" or "npz".
        root: the directory holding the data set's files; ``None`` -> ``$LAYERNET_DATA/<name>``, else
            ``$XDG_CACHE_HOME/layernet/<name>``, else ``~/.cache/layernet/<name>``. Ignored by digits,
            spiral and npz.
        download: fetch missing files from the canonical mirrors (MD5-checked; the same code as
            ``layernet data download NAME``).
        val_size: training examples held out for validation: an int, or a fraction in (0, 1).
        normalize: "none", "scale" or "standard" (statistics from the training split only).
        limit: keep only the first ``limit`` training examples (before the validation split).
        seed: seeds the validation split (and the spiral's points); digits' train/test split is fixed.
        sequence: ``"rows"`` turns images (N, C, H, W) into sequences (N, H, C*W) after normalisation.
        **options: the data set's own options (spiral: classes, points_per_class, noise;
            npz: path, num_classes, class_names).

    Returns a ``Dataset``: x float32 (N, C, H, W) or (N, D), y int64. See ``prepare.py`` for the order
    of limit, split and normalisation. Every problem raises a one-line ValueError.
    """
    if not isinstance(download, bool):
        raise invalid_argument("load_dataset", "download", "true or false", download)
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise invalid_argument("load_dataset", "seed", "an int >= 0", seed)
    source = make_source(dataset, options)
    ds = source.load(root, download, int(seed))
    apply_limit(ds, limit)
    split_validation(ds, val_size, int(seed))
    apply_normalization(ds, normalize, source.scale)
    to_sequences(ds, sequence)
    return ds
