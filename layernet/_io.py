"""Atomic file writes: nothing already on disk is lost if a write fails or the process dies.

Every file is written to a temporary file in the same directory, flushed and fsynced, then
moved over the target with ``os.replace`` (atomic on POSIX and Windows). A reader therefore
sees either the old complete file or the new complete file, never a half-written one.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8"):
    """Context manager yielding a file object whose content replaces ``path`` on success.

    On an exception (including KeyboardInterrupt) the temporary file is removed and ``path``
    is left untouched. ``mode`` is "w" (text) or "wb" (binary).
    """
    path = Path(path)
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', found {mode!r}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _default_file_mode())  # mkstemp makes 0600; give the file an ordinary mode
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(path.parent)


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 minus the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save_npz_atomic(path, arrays: dict) -> None:
    """Write ``arrays`` (name -> ndarray, no object arrays) as an uncompressed .npz, atomically."""
    for name, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise ValueError(f"{path}: array '{name}' has dtype object; checkpoints hold plain arrays only")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getbuffer())


def load_npz(path) -> dict[str, np.ndarray]:
    """Read every array of an .npz file (``allow_pickle=False``) into memory.

    A missing, truncated or foreign file raises one-line ``ValueError`` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: file not found (expected an .npz file)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            return {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{path}: not a readable .npz file ({reason})") from None
