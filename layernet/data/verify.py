"""Where a data set's files are expected, and a check of what is there (``layernet data path|verify``)."""

from __future__ import annotations

from pathlib import Path

from .load import make_source
from .source import FileCheck


def dataset_files(dataset: str, root=None, **options) -> list[Path]:
    """The files ``load_dataset`` looks for (empty for the embedded digits and the synthetic spiral).

    For the file-based sets these are the canonical download names in the data directory; each
    IDX file may also be present uncompressed, and CIFAR-10 also as its extracted folder.
    """
    return make_source(dataset, options).expected_files(root)


def verify(dataset: str, root=None, **options) -> list[FileCheck]:
    """Check presence, headers and sizes of every file (MD5 too, reported for canonical ``.gz`` files).

    Returns one ``FileCheck(path, ok, detail)`` per finding; the data set is usable when all are ok.
    Nothing is downloaded.
    """
    source = make_source(dataset, options)
    return source.check(source.directory(root))
