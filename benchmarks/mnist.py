"""MNIST for the benchmarks, read straight from the IDX .gz files in ``../shared/data/mnist``.

The benchmark may read the shared data folder; the library never does. ``load_mnist()`` returns
float32 images (N, 1, 28, 28) scaled to [0, 1] and shifted to zero mean, and int64 labels (N,).
When the files are missing (a fresh checkout elsewhere) ``load_mnist(fallback=True)`` returns
random data of the same shapes and says so, so the suite still runs.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

def _default_dir() -> Path:
    """``shared/data/mnist`` beside the checkout (``/work/main``) or beside its worktree folder
    (``/work/wt/NAME``), whichever exists."""
    here = Path(__file__).resolve()
    candidates = [p / "shared" / "data" / "mnist" for p in here.parents[2:4]]
    return next((p for p in candidates if p.exists()), candidates[0])


DATA_DIR = Path(os.environ.get("LAYERNET_BENCH_MNIST", _default_dir()))


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip-compressed) as a numpy array of its stored shape (unsigned bytes only)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(limit: int | None = None, fallback: bool = True):
    """(x, y, source): the 60,000 training images and labels, or random stand-ins if absent."""
    images, labels = DATA_DIR / "train-images-idx3-ubyte.gz", DATA_DIR / "train-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        x = read_idx(images)[:limit].astype(np.float32) / 255.0
        y = read_idx(labels)[:limit].astype(np.int64)
        source = f"MNIST ({DATA_DIR})"
    elif fallback:
        n = 60000 if limit is None else limit
        rng = np.random.default_rng(0)
        x = rng.random((n, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, n)
        source = "random stand-in (MNIST files not found)"
    else:
        raise FileNotFoundError(f"MNIST IDX files not found in {DATA_DIR}")
    x -= x.mean()
    return np.ascontiguousarray(x.reshape(-1, 1, 28, 28)), y, source
