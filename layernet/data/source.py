"""``Source``: where one named data set's files live, and how they become a ``Dataset``.

Every entry of the ``DATASETS`` registry is a ``Source`` subclass; its constructor takes the data
set's own options (``spiral``: ``classes``, ``points_per_class``, ``noise``; ``npz``: ``path``).

Directory rule for file-based sets (mnist, fashion_mnist, cifar10), first match wins: ``root``
(``data.root``) is the directory that holds the files; else ``$LAYERNET_DATA/<name>`` when that
variable is set; else ``$XDG_CACHE_HOME/layernet/<name>`` when that variable is set to an absolute
path (the XDG base directory rule: a relative value is ignored); else ``~/.cache/layernet/<name>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from .dataset import Dataset
from .download import fetch, mirrors_for


def data_home() -> Path:
    """The directory holding one folder per data set (see the module docstring for the order).

    ``$LAYERNET_DATA`` if set, else ``$XDG_CACHE_HOME/layernet`` if that is an absolute path,
    else ``~/.cache/layernet``.
    """
    env = os.environ.get("LAYERNET_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "layernet"
    return Path.home() / ".cache" / "layernet"


#: How the data directory is chosen, in words (for messages that say where files go).
DIRECTORY_RULE = ("data.root (--root) if set, else $LAYERNET_DATA/{name}, else $XDG_CACHE_HOME/layernet/{name}, "
                  "else ~/.cache/layernet/{name}")


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
    #: Per-example input shape and class count when the format fixes them (None: read the data).
    input_shape: tuple | None = None
    num_classes: int | None = None

    def known_shapes(self) -> tuple[tuple, int] | None:
        """``(input_shape, num_classes)`` without reading any file, or None when only the data can tell.

        File formats with fixed shapes (MNIST 1x28x28, CIFAR-10 3x32x32, 10 classes) know them,
        so ``layernet summary`` and ``gradcheck`` work before the files are downloaded.
        """
        if self.input_shape is None or self.num_classes is None:
            return None
        return tuple(self.input_shape), int(self.num_classes)

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

    def download(self, root=None) -> list[Path]:
        """Fetch the files missing from the data directory (MD5-checked, atomic); return their paths.

        The one download path: ``load(download=True)`` (``data.download: true``) and
        ``layernet data download NAME`` both come here. Files already present are left alone.
        """
        directory = self.directory(root)
        if directory is None:
            return []
        wanted = {name: self.files[name] for name in self.missing(directory) if name in self.files}
        if wanted:
            fetch(self.type_name, wanted, directory)
        return [directory / name for name in wanted]

    def load(self, root=None, download: bool = False, seed: int = 0) -> Dataset:
        """Find (and with ``download`` fetch) the files, then read them. Missing files -> ValueError."""
        directory = self.directory(root)
        if download:
            self.download(root)
        missing = self.missing(directory) if directory is not None else []
        if missing:
            raise ValueError(self.missing_message(directory, missing))
        return self.read(directory, seed)

    def missing_message(self, directory: Path, missing: list[str]) -> str:
        """One line: which files are missing where, and every way to get them."""
        return (
            f"{self.type_name}: missing {len(missing)} file(s) in {directory}: {', '.join(missing)}{self.alternatives}; "
            f"{self.how_to_get()}"
        )

    def how_to_get(self) -> str:
        """How to obtain the files: download them (two ways) or put them in the data directory."""
        mirrors = ", ".join(mirrors_for(self.type_name)) or "no mirror known"
        return (
            f"get them with `layernet data download {self.type_name}` or `download: true` in the config's data "
            f"section (MD5-checked, from {mirrors}), or put them there yourself; the directory is "
            + DIRECTORY_RULE.format(name=self.type_name)
        )
