"""MNIST and Fashion-MNIST: four IDX files each, read by ``idx.read_idx``.

Files expected in the data directory (each either gzip-compressed with ``.gz`` or plain):
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``. Served as x (N, 1, 28, 28) float32 with raw pixel values 0..255,
y (N,) int64 in 0..9; 60000 train and 10000 test examples for the canonical files.

MD5 sums are torchvision's, for the canonical ``.gz`` downloads; they are checked on download only
(see ``download.py``). A local copy is validated by its headers and sizes instead.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..registry import DATASETS
from .dataset import Dataset
from .download import md5_of
from .idx import read_idx
from .source import FileCheck, Source

_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_CANONICAL_COUNTS = {"train": 60000, "test": 10000}


def find(directory: Path, stem: str) -> Path | None:
    """``directory/stem`` or ``directory/stem.gz``, whichever exists (the plain file first)."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


@DATASETS.register("mnist")
class MNIST(Source):
    """The MNIST handwritten digits (LeCun, Cortes, Burges)."""

    files = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    class_names = [str(d) for d in range(10)]
    scale = 255.0
    input_shape, num_classes = (1, 28, 28), 10
    alternatives = " (each may also be uncompressed, without .gz)"

    def missing(self, directory):
        return [f"{stem}.gz" for pair in _SPLITS.values() for stem in pair if find(directory, stem) is None]

    def read_split(self, directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Images (N, 1, 28, 28) float32 and labels (N,) int64 of ``split`` ("train" or "test")."""
        images_path, labels_path = (find(directory, stem) for stem in _SPLITS[split])
        images = read_idx(images_path, "images")
        labels = read_idx(labels_path, "labels")
        if len(images) != len(labels):
            raise ValueError(
                f"{images_path.parent}: {images_path.name} holds {len(images)} images but "
                f"{labels_path.name} holds {len(labels)} labels; expected the same count"
            )
        if labels.size and labels.max() >= len(self.class_names):
            bad = int(np.argmax(labels >= len(self.class_names)))
            raise ValueError(
                f"{labels_path}: label {labels[bad]} at index {bad} is outside 0..{len(self.class_names) - 1}"
            )
        return images[:, None].astype(np.float32), labels.astype(np.int64)

    def read(self, directory, seed=0):
        x_train, y_train = self.read_split(directory, "train")
        x_test, y_test = self.read_split(directory, "test")
        return Dataset(x_train, y_train, None, None, x_test, y_test, len(self.class_names),
                       list(self.class_names), self.type_name)

    def check(self, directory):
        report = []
        for split, stems in _SPLITS.items():
            paths = [find(directory, stem) for stem in stems]
            for stem, path in zip(stems, paths):
                if path is None:
                    report.append(FileCheck(str(directory / f"{stem}.gz"), False, "missing"))
                elif path.name in self.files:
                    same = md5_of(path) == self.files[path.name]
                    note = "md5 matches the canonical download" if same else (
                        "md5 differs from the canonical download (normal for a recompressed copy)")
                    report.append(FileCheck(str(path), True, note))
                else:
                    report.append(FileCheck(str(path), True, "uncompressed"))
            if None in paths:
                continue
            try:
                x, _ = self.read_split(directory, split)
            except ValueError as err:
                report.append(FileCheck(str(paths[0]), False, str(err)))
                continue
            canonical = "" if len(x) == _CANONICAL_COUNTS[split] else f" (the canonical file has {_CANONICAL_COUNTS[split]})"
            report.append(FileCheck(str(directory), True, f"{split}: headers and sizes valid, {len(x)} examples{canonical}"))
        return report


@DATASETS.register("fashion_mnist")
class FashionMNIST(MNIST):
    """Fashion-MNIST (Xiao, Rasul, Vollgraf 2017, Zalando Research; MIT licence): 28x28 clothing images."""

    files = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
