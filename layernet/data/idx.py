"""Reading IDX files (the MNIST format), gzip-compressed or not, with every header checked.

Layout (all integers big-endian): a 4-byte magic number ``0x00 0x00 dtype ndim`` -- 2051
(0x0803: unsigned bytes, 3 dims) for images and 2049 (0x0801: unsigned bytes, 1 dim) for labels --
then ``ndim`` 4-byte sizes (count, rows, cols for images; count for labels), then the data,
one unsigned byte per pixel or label, row-major. A file starting with the gzip magic bytes
``1f 8b`` is decompressed first, whatever its name.

Every problem raises a one-line ValueError naming the file and what was expected vs found.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped if it starts with the gzip magic bytes."""
    raw = Path(path).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        reason = str(err) or type(err).__name__
        raise ValueError(f"{path}: corrupt gzip file ({reason}); delete it and download it again") from None


def read_idx(path, kind: str, image_shape: tuple[int, int] | None = (28, 28)) -> np.ndarray:
    """Read an IDX ``kind`` ("images" or "labels") file into a uint8 array.

    Returns images as (N, rows, cols), labels as (N,). ``image_shape`` is the expected
    (rows, cols), or ``None`` to accept any.
    """
    path = Path(path)
    magic_expected = IMAGES_MAGIC if kind == "images" else LABELS_MAGIC
    ndim = 3 if kind == "images" else 1
    header_size = 4 + 4 * ndim
    data = read_bytes(path)
    if len(data) < header_size:
        raise ValueError(
            f"{path}: truncated IDX {kind} file: {len(data)} bytes, shorter than its {header_size}-byte header"
        )
    header = np.frombuffer(data, dtype=">u4", count=1 + ndim)
    magic, dims = int(header[0]), [int(d) for d in header[1:]]
    if magic != magic_expected:
        hint = f" (this looks like an IDX {_KIND[magic]} file)" if magic in _KIND else ""
        raise ValueError(f"{path}: wrong magic number for an IDX {kind} file: expected {magic_expected}, found {magic}{hint}")
    if kind == "images" and image_shape is not None and tuple(dims[1:]) != tuple(image_shape):
        raise ValueError(
            f"{path}: expected {image_shape[0]}x{image_shape[1]} images, found {dims[1]}x{dims[2]} in the header"
        )
    expected = int(np.prod(dims))
    found = len(data) - header_size
    what = f"{dims[0]} {kind}" + (f" of {dims[1]}x{dims[2]}" if kind == "images" else "")
    if found < expected:
        raise ValueError(f"{path}: truncated file: the header announces {what} ({expected} bytes), found {found} bytes")
    if found > expected:
        raise ValueError(f"{path}: {found - expected} unexpected bytes after the {what} the header announces")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)


def write_idx(path, array: np.ndarray, compress: bool | None = None) -> None:
    """Write a uint8 (N,) labels or (N, rows, cols) images array as IDX (gzip if the name ends in .gz).

    Used by tests and to make small data sets in the MNIST format.
    """
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = {1: LABELS_MAGIC, 3: IMAGES_MAGIC}.get(array.ndim)
    if magic is None:
        raise ValueError(f"write_idx: expected (N,) labels or (N, rows, cols) images, found shape {array.shape}")
    payload = np.array([magic, *array.shape], dtype=">u4").tobytes() + array.tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
