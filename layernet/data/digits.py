"""The embedded default data set: UCI optical digits, shipped inside the package.

1797 8x8 greyscale images of the digits 0..9 with integer pixels 0..16 (E. Alpaydin, C. Kaynak,
1998, UCI Machine Learning Repository, CC BY 4.0; see ``layernet/_embedded/README.md``).
Served as x (N, 1, 8, 8) float32 with raw values 0..16, y (N,) int64, split into 1497 training
and 300 test examples by a fixed permutation (seed ``SPLIT_SEED``), the same in every run and
independent of ``load_dataset(seed=...)``, so test accuracies are comparable across runs.
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from ..registry import DATASETS
from .dataset import Dataset
from .source import Source

SPLIT_SEED = 1998
TEST_SIZE = 300
FILE = "digits.csv.gz"


def read_digits_csv() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 examples: pixels (1797, 64) and labels (1797,), from the package's embedded file."""
    source = resources.files("layernet") / "_embedded" / FILE
    try:
        with source.open("rb") as raw, gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"layernet/_embedded/{FILE}: cannot read the embedded digits ({err}); reinstall layernet") from None
    if table.ndim != 2 or table.shape[1] != 65:
        raise ValueError(f"layernet/_embedded/{FILE}: expected 65 columns (64 pixels, label), found shape {table.shape}")
    return table[:, :64], table[:, 64]


@DATASETS.register("digits")
class Digits(Source):
    """UCI optical digits, 8x8, embedded (no files, no network)."""

    scale = 16.0
    class_names = [str(d) for d in range(10)]
    input_shape, num_classes = (1, 8, 8), 10

    def read(self, directory=None, seed=0):
        pixels, labels = read_digits_csv()
        order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
        test, train = np.sort(order[:TEST_SIZE]), np.sort(order[TEST_SIZE:])
        x = pixels.reshape(-1, 1, 8, 8).astype(np.float32)
        return Dataset(x[train], labels[train], None, None, x[test], labels[test], 10, list(self.class_names),
                       self.type_name)
