"""Data sets: ``load_dataset(name, ...)`` -> ``Dataset`` with train/val/test arrays.

    from layernet.data import load_dataset
    ds = load_dataset("digits", val_size=200, normalize="scale")
    ds.x_train.shape, ds.input_shape, ds.num_classes     # (1297, 1, 8, 8), (1, 8, 8), 10

| name | what | files |
|---|---|---|
| ``digits`` | UCI optical digits, 8x8, 1497 train / 300 test | embedded in the package |
| ``spiral`` | cs231n's synthetic 2-D spiral | generated |
| ``mnist``, ``fashion_mnist`` | 28x28 greyscale, 60000 / 10000 | four IDX files |
| ``cifar10`` | 32x32 colour, 50000 / 10000 | ``cifar-10-python.tar.gz`` or its folder |
| ``npz`` | the user's arrays | ``options["path"]`` |
| ``text`` | character windows of the user's UTF-8 text | ``options["path"]``, ``seq_len`` |

One module per concept: ``dataset`` (the container), ``source`` (where files live), ``download``
(mirrors, MD5, atomic writes), ``idx`` (the MNIST file format), one module per data set,
``prepare`` (limit, validation split, normalisation), ``load`` (``load_dataset``) and ``verify``
(``dataset_files``, ``verify``, ``download_dataset``, ``missing_hint``, ``known_shapes``: what the
``layernet data``, ``summary`` and ``gradcheck`` commands need).
"""

from . import cifar10, digits, mnist, npz, spiral, text  # noqa: F401  (registers the data sets)
from .dataset import Dataset
from .download import MIRRORS
from .load import load_dataset
from .source import FileCheck, data_home
from .verify import dataset_files, download_dataset, known_shapes, missing_hint, verify

__all__ = ["Dataset", "FileCheck", "MIRRORS", "data_home", "dataset_files", "download_dataset", "known_shapes",
           "load_dataset", "missing_hint", "verify"]
