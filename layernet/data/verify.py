"""Where a data set's files are expected, a check of what is there, fetching them, and the shapes
known without them (``layernet data path|verify|download``, ``layernet summary|gradcheck``)."""

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


def missing_hint(dataset: str, root=None, **options) -> str | None:
    """One line naming the missing files, their directory and how to get them; None if none is missing."""
    source = make_source(dataset, options)
    directory = source.directory(root)
    missing = source.missing(directory) if directory is not None else []
    return source.missing_message(directory, missing) if missing else None


def download_dataset(dataset: str, root=None, **options) -> list[Path]:
    """Fetch ``dataset``'s missing files into its data directory (MD5-checked, atomic); return them.

    The same code as ``load_dataset(..., download=True)``; files already present are kept.
    """
    return make_source(dataset, options).download(root)


def known_shapes(dataset: str, **options) -> tuple[tuple, int] | None:
    """``(input_shape, num_classes)`` of ``dataset`` without reading files, or None (npz: only the file knows)."""
    return make_source(dataset, options).known_shapes()
