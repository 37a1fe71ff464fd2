"""``Source``: where one named data set's files live, and how they become a ``Dataset``.

Every entry of the ``DATASETS`` registry is a ``Source`` subclass; its constructor takes the data
set's own options (``spiral``: ``classes``, ``points_per_class``, ``noise``; ``npz``: ``path``).

Directory rule for file-based sets (mnist, fashion_mnist, cifar10): ``root`` is the directory that
holds the files; ``root=None`` means ``$LAYERNET_DATA/<name>`` if that variable is set, else
``~/.cache/layernet/<name>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from .dataset import Dataset
from .download import fetch, mirrors_for


def data_home() -> Path:
    """``$LAYERNET_DATA`` if set, else ``~/.cache/layernet``."""
    env = os.environ.get("LAYERNET_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "layernet"


class FileCheck(NamedTuple):
    """One line of a ``verify`` report: a file, whether it is usable, and what was found."""

    path: str
    ok: bool
    detail: str


class Source:
    """Base class of the registered data sets.

    Subclasses set ``files`` (downloadable file name -> canonical MD5; empty for data that is
    embedded, synthetic or the user's own), ``scale`` (the largest raw input value, used by
    ``normalize="scale"``; ``None`` means the largest ``|x|`` of the training split), and implement
    ``missing(directory)``, ``read(directory)`` and ``check(directory)``.
    """

    files: dict[str, str] = {}
    scale: float | None = None
    alternatives = ""  # how else the files may be present, for the missing-files message

    def directory(self, root) -> Path | None:
        """The directory holding the files (``None`` for sets without files)."""
        if not self.files:
            return None
        return Path(root).expanduser() if root is not None else data_home() / self.type_name

    def expected_files(self, root) -> list[Path]:
        """Where the files are looked for (the CLI's ``layernet data path``)."""
        directory = self.directory(root)
        return [] if directory is None else [directory / name for name in self.files]

    def missing(self, directory: Path) -> list[str]:
        """Names of the needed files that are absent from ``directory`` (none by default)."""
        return []

    def read(self, directory: Path | None, seed: int = 0) -> Dataset:
        """The raw data set (x float32, y int64; no validation split, no normalisation).

        ``seed`` matters only to generated data (the spiral); file-based sets ignore it.
        """
        raise NotImplementedError

    def check(self, directory: Path | None) -> list[FileCheck]:
        """Presence and header checks of every file; by default: read the whole set."""
        try:
            ds = self.read(directory)
        except ValueError as err:
            return [FileCheck(str(directory or self.type_name), False, str(err))]
        sizes = ", ".join(f"{split} {len(y)}" for split, _, y in ds.splits())
        return [FileCheck(str(directory or self.type_name), True, f"{sizes}; input shape {ds.input_shape}")]

    def load(self, root=None, download: bool = False, seed: int = 0) -> Dataset:
        """Find (and with ``download`` fetch) the files, then read them. Missing files -> ValueError."""
        directory = self.directory(root)
        missing = self.missing(directory) if directory is not None else []
        if missing and download:
            fetch(self.type_name, {name: self.files[name] for name in missing if name in self.files}, directory)
            missing = self.missing(directory)
        if missing:
            raise ValueError(self.missing_message(directory, missing))
        return self.read(directory, seed)

    def missing_message(self, directory: Path, missing: list[str]) -> str:
        mirrors = ", ".join(mirrors_for(self.type_name)) or "no mirror known"
        return (
            f"{self.type_name}: missing {len(missing)} file(s) in {directory}: {', '.join(missing)}{self.alternatives}; "
            f"put them in that directory (or set data.root to the directory that holds them), "
            f"or set `download: true` to fetch them from {mirrors}"
        )
