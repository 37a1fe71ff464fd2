"""Downloading data files from mirrors, with MD5 verification and atomic writes.

``MIRRORS`` maps a data set name to base URLs tried in order (torchvision's lists); a file's URL
is ``base + file name``. Setting the environment variable ``LAYERNET_MIRROR`` replaces them all by
one base URL under which the files are found at ``$LAYERNET_MIRROR/<dataset>/<file>`` (an internal
mirror, or a local server in tests).

The MD5 checked is that of the downloaded bytes, i.e. of the canonical ``.gz``/``.tar.gz`` file.
Files that are already on disk are *not* checksummed when loading (copies are often recompressed,
which changes the ``.gz`` bytes but not the data); their headers and sizes are validated instead.

A download goes to a temporary file next to the target, is verified, and only then moved into
place with ``os.replace``; on a checksum mismatch or any error the temporary file is deleted, so a
partial or wrong file never sits under the expected name.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

log = logging.getLogger("layernet.data")

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion_mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    "cifar10": ["https://www.cs.toronto.edu/~kriz/"],
}

_CHUNK = 1 << 20


class ChecksumError(ValueError):
    """The downloaded bytes do not have the expected MD5."""


def mirrors_for(name: str) -> list[str]:
    """Base URLs to try for data set ``name`` (see the module docstring for ``LAYERNET_MIRROR``)."""
    override = os.environ.get("LAYERNET_MIRROR")
    if override:
        return [f"{override.rstrip('/')}/{name}/"]
    return list(MIRRORS.get(name, []))


def md5_of(path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, destination: Path, md5: str, timeout: float = 60.0) -> None:
    """Fetch ``url`` to ``destination`` atomically; ChecksumError (file not kept) if the MD5 differs."""
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != md5:
            raise ChecksumError(f"checksum mismatch: expected md5 {md5}, found {digest.hexdigest()}; file not kept")
        os.replace(tmp, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def fetch(name: str, files: dict[str, str], directory: Path) -> None:
    """Download each of ``files`` (file name -> MD5) into ``directory``, trying every mirror.

    Raises a one-line ValueError naming the file and each mirror's failure if none succeeds.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{name}: cannot create the data directory {directory}: {err.strerror or err}") from None
    mirrors = mirrors_for(name)
    if not mirrors:
        raise ValueError(f"{name}: no download mirror is known; put the files in {directory}")
    for filename, md5 in files.items():
        failures = []
        for base in mirrors:
            url = base if base.endswith("/") else base + "/"
            url += filename
            log.info("downloading %s -> %s", url, directory / filename)
            try:
                download(url, directory / filename, md5)
                break
            except ChecksumError as err:
                failures.append(f"{url}: {err}")
            except urllib.error.HTTPError as err:
                failures.append(f"{url}: HTTP {err.code} {err.reason}")
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or err
                failures.append(f"{url}: {reason}")
        else:
            raise ValueError(f"{name}: could not download {filename} into {directory}: " + "; ".join(failures))
