"""The cs231n spiral: ``classes`` interleaved arms of points in 2-D, not linearly separable.

For class ``j`` (``K`` classes, ``n`` points per class): radius ``r`` = ``linspace(0, 1, n)``,
angle ``t`` = ``linspace(4j, 4(j + 1), n) + noise * N(0, 1)``, point ``(r sin t, r cos t)``.
x (K*n, 2) float32 within [-1, 1], y (K*n,) int64 ordered by class; no test split (hold out a
validation split with ``val_size``). The points depend on ``load_dataset(seed=...)``.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive
from ..registry import DATASETS
from .dataset import Dataset
from .source import Source


@DATASETS.register("spiral")
class Spiral(Source):
    """Synthetic spiral; options ``classes`` (>= 2), ``points_per_class`` (>= 1), ``noise`` (>= 0)."""

    def __init__(self, classes: int = 3, points_per_class: int = 100, noise: float = 0.2):
        self.classes = check_int("spiral", "classes", classes, minimum=2)
        self.points_per_class = check_int("spiral", "points_per_class", points_per_class)
        self.noise = check_positive("spiral", "noise", noise, allow_zero=True)

    def known_shapes(self):
        return (2,), self.classes

    def read(self, directory=None, seed=0):
        rng = np.random.default_rng(seed)
        n, k = self.points_per_class, self.classes
        x = np.zeros((n * k, 2), dtype=np.float64)
        y = np.repeat(np.arange(k, dtype=np.int64), n)
        for j in range(k):
            r = np.linspace(0.0, 1.0, n)
            t = np.linspace(4.0 * j, 4.0 * (j + 1), n) + self.noise * rng.standard_normal(n)
            x[j * n:(j + 1) * n] = np.c_[r * np.sin(t), r * np.cos(t)]
        return Dataset(x.astype(np.float32), y, None, None, None, None, k, [str(j) for j in range(k)], self.type_name)
