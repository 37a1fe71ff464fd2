"""CIFAR-10, python version (Krizhevsky 2009): ``cifar-10-python.tar.gz`` or its extracted folder.

Looked for in the data directory, in this order: the folder ``cifar-10-batches-py/`` (or the
batch files directly in the directory), then the archive ``cifar-10-python.tar.gz``, which is read
in place without extracting. Batches ``data_batch_1`` .. ``data_batch_5`` make the 50000 training
examples, ``test_batch`` the 10000 test examples; ``batches.meta`` (optional) names the classes.

Each batch is a Python pickle of ``{"data": uint8 (N, 3072), "labels": [N ints]}``, a row being
the 1024 red, then green, then blue pixels of a 32x32 image, row-major. Pickles can run arbitrary
code, so they are read with an unpickler that only rebuilds numpy arrays and plain containers.
Served as x (N, 3, 32, 32) float32 with raw values 0..255, y (N,) int64 in 0..9.
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ..registry import DATASETS
from .dataset import Dataset
from .source import FileCheck, Source

ARCHIVE = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

_core = getattr(np, "_core", None) or np.core
_ALLOWED = {
    "_reconstruct": _core.multiarray._reconstruct,
    "scalar": _core.multiarray.scalar,
    "_frombuffer": _core.numeric._frombuffer,
    "ndarray": np.ndarray,
    "dtype": np.dtype,
    "encode": codecs.encode,   # how Python 3 pickles bytes at protocol 2
}


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that refuses every global except numpy's array reconstruction helpers."""

    def find_class(self, module, name):
        if (module.startswith("numpy") or module == "_codecs") and name in _ALLOWED:
            return _ALLOWED[name]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def unpickle(blob: bytes, where: str) -> dict:
    """A CIFAR batch pickle -> dict with str keys; ValueError naming ``where`` on any problem."""
    try:
        obj = _ArraysOnly(io.BytesIO(blob), encoding="bytes").load()
    except Exception as err:  # noqa: BLE001 - unpickling fails in many ways; all mean a bad file
        raise ValueError(f"{where}: not a CIFAR-10 batch ({type(err).__name__}: {err})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: not a CIFAR-10 batch (found a {type(obj).__name__}, expected a dict)")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def parse_batch(batch: dict, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) float32 and labels (N,) int64 from an unpickled batch."""
    for key in ("data", "labels"):
        if key not in batch:
            raise ValueError(f"{where}: CIFAR-10 batch without '{key}' (found keys: {', '.join(map(str, batch))})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{where}: 'data' should be uint8 of shape (N, 3072), found {found}")
    labels = np.asarray(batch["labels"])
    if labels.shape != (len(data),):
        raise ValueError(f"{where}: {len(data)} images but {labels.size} labels; expected the same count")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{where}: labels should be integers in 0..9, found {labels.dtype} {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32).astype(np.float32), labels.astype(np.int64)


class _Files:
    """Reads batch files by name from a folder or from the archive."""

    def __init__(self, directory: Path):
        self.folder = next((d for d in (directory / FOLDER, directory) if (d / TEST_BATCH).is_file()), None)
        self.archive = directory / ARCHIVE
        self._tar = None

    def __enter__(self):
        if self.folder is None:
            try:
                self._tar = tarfile.open(self.archive, "r:gz")
            except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
                raise ValueError(f"{self.archive}: corrupt archive ({err}); delete it and download it again") from None
        return self

    def __exit__(self, *exc):
        if self._tar is not None:
            self._tar.close()

    def read(self, name: str, required: bool = True) -> tuple[bytes | None, str]:
        if self.folder is not None:
            path = self.folder / name
            if not path.is_file():
                if required:
                    raise ValueError(f"{self.folder}: missing {name}")
                return None, str(path)
            return path.read_bytes(), str(path)
        member = f"{FOLDER}/{name}"
        where = f"{self.archive}:{member}"
        try:
            handle = self._tar.extractfile(member)
            return handle.read(), where
        except KeyError:
            if required:
                raise ValueError(f"{self.archive}: the archive has no member {member}") from None
            return None, where
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{self.archive}: corrupt archive while reading {member} ({err})") from None

    def batch(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        blob, where = self.read(name)
        return parse_batch(unpickle(blob, where), where)


@DATASETS.register("cifar10")
class CIFAR10(Source):
    """CIFAR-10: 60000 32x32 colour images in 10 classes."""

    files = {ARCHIVE: "c58f30108f718f92721af3b95e74349a"}
    scale = 255.0
    input_shape, num_classes = (3, 32, 32), 10
    alternatives = f" (or its extracted folder {FOLDER}/)"

    def missing(self, directory):
        has_folder = any((d / TEST_BATCH).is_file() for d in (directory / FOLDER, directory))
        return [] if has_folder or (directory / ARCHIVE).is_file() else [ARCHIVE]

    def read(self, directory, seed=0):
        with _Files(directory) as files:
            parts = [files.batch(name) for name in TRAIN_BATCHES]
            x_test, y_test = files.batch(TEST_BATCH)
            meta, where = files.read("batches.meta", required=False)
        names = CLASS_NAMES
        if meta is not None:
            found = unpickle(meta, where).get("label_names")
            if isinstance(found, list) and len(found) == 10:
                names = [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in found]
        x_train = np.concatenate([x for x, _ in parts])
        y_train = np.concatenate([y for _, y in parts])
        return Dataset(x_train, y_train, None, None, x_test, y_test, 10, names, self.type_name)

    def check(self, directory):
        if self.missing(directory):
            return [FileCheck(str(directory / ARCHIVE), False, f"missing (nor is {FOLDER}/ there)")]
        report = super().check(directory)
        source = next((d for d in (directory / FOLDER, directory) if (d / TEST_BATCH).is_file()), directory / ARCHIVE)
        return [FileCheck(str(source), r.ok, r.detail) for r in report]
