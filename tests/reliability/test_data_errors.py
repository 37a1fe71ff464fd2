"""Bad data, as users have it: missing and half-downloaded files, a corrupt gzip, the labels file
where the images should be, a user's .npz with the wrong arrays or labels. Each must end in one
ValueError line naming the file (and the array), never a numpy/gzip/zipfile traceback.

Through ``load_dataset`` here; ``test_cli_errors.py`` sends a few of the same through the command.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from layernet.data import load_dataset
from layernet.data.idx import write_idx

TRAIN, TEST = 30, 10
IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
T_IMAGES, T_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def _fake_mnist(directory: Path, rng, compress=True, train=TRAIN, test=TEST) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for stem, n, kind in [(IMAGES, train, "x"), (LABELS, train, "y"), (T_IMAGES, test, "x"), (T_LABELS, test, "y")]:
        array = rng.integers(0, 256, size=(n, 28, 28)) if kind == "x" else rng.integers(0, 10, size=n)
        write_idx(directory / f"{stem}{suffix}", array.astype(np.uint8))
    return directory


def _one_line_error(call, *needles) -> str:
    with pytest.raises(ValueError) as err:
        call()
    text = str(err.value)
    assert "\n" not in text.strip(), f"not one line: {text!r}"
    for needle in needles:
        assert str(needle).lower() in text.lower(), f"{needle!r} not in {text!r}"
    return text


def test_fake_mnist_loads(tmp_path, rng):
    """The fixture itself is valid, so every failure below comes from the one change it makes."""
    ds = load_dataset("mnist", root=_fake_mnist(tmp_path / "m", rng), val_size=5)
    assert ds.x_train.shape == (TRAIN - 5, 1, 28, 28) and len(ds.y_test) == TEST


# --------------------------------------------------------------------------- IDX files
def _gz(path: Path, data: bytes):
    path.write_bytes(gzip.compress(data))


def _raw(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


IDX_BREAKAGES = {
    "missing directory": lambda d: [p.unlink() for p in d.iterdir()] and d.rmdir(),
    "one file missing": lambda d: (d / f"{LABELS}.gz").unlink(),
    "all files missing": lambda d: [p.unlink() for p in d.iterdir()],
    "empty file": lambda d: (d / f"{IMAGES}.gz").write_bytes(b""),
    "truncated gzip stream": lambda d: (d / f"{IMAGES}.gz").write_bytes((d / f"{IMAGES}.gz").read_bytes()[:-500]),
    "gzip with a corrupt body": lambda d: (d / f"{IMAGES}.gz").write_bytes(
        (d / f"{IMAGES}.gz").read_bytes()[:40] + b"\x00" * 64 + (d / f"{IMAGES}.gz").read_bytes()[104:]),
    "not gzip at all": lambda d: (d / f"{IMAGES}.gz").write_bytes(b"<html>404 Not Found</html>"),
    "truncated IDX data": lambda d: _gz(d / f"{IMAGES}.gz", _raw(d / f"{IMAGES}.gz")[:-100]),
    "truncated IDX header": lambda d: _gz(d / f"{LABELS}.gz", _raw(d / f"{LABELS}.gz")[:6]),
    "trailing bytes": lambda d: _gz(d / f"{LABELS}.gz", _raw(d / f"{LABELS}.gz") + b"\x00\x01"),
    "wrong magic (labels where images go)": lambda d: (d / f"{IMAGES}.gz").write_bytes((d / f"{LABELS}.gz").read_bytes()),
    "wrong magic (images where labels go)": lambda d: (d / f"{T_LABELS}.gz").write_bytes((d / f"{T_IMAGES}.gz").read_bytes()),
    "garbage magic": lambda d: _gz(d / f"{IMAGES}.gz", b"\xde\xad\xbe\xef" + _raw(d / f"{IMAGES}.gz")[4:]),
    "image/label count mismatch": lambda d: write_idx(d / f"{LABELS}.gz", np.zeros(TRAIN - 1, np.uint8)),
    "wrong image size": lambda d: write_idx(d / f"{IMAGES}.gz", np.zeros((TRAIN, 27, 27), np.uint8)),
    "labels outside 0..9": lambda d: write_idx(d / f"{LABELS}.gz", np.full(TRAIN, 12, np.uint8)),
    "a directory where a file goes": lambda d: ((d / f"{IMAGES}.gz").unlink(), (d / f"{IMAGES}.gz").mkdir()),
}

IDX_NEEDLES = {
    "missing directory": ["mnist", "missing", IMAGES, "download"],
    "one file missing": ["missing", LABELS],
    "all files missing": ["missing", IMAGES, LABELS, T_IMAGES, T_LABELS],
    "empty file": [IMAGES],
    "truncated gzip stream": [IMAGES],
    "gzip with a corrupt body": [IMAGES],
    "not gzip at all": [IMAGES],
    "truncated IDX data": [IMAGES, "truncated"],
    "truncated IDX header": [LABELS],
    "trailing bytes": [LABELS],
    "wrong magic (labels where images go)": [IMAGES, "magic"],
    "wrong magic (images where labels go)": [T_LABELS, "magic"],
    "garbage magic": [IMAGES, "magic"],
    "image/label count mismatch": [str(TRAIN), str(TRAIN - 1)],
    "wrong image size": [IMAGES, "28"],
    "labels outside 0..9": [LABELS, "12"],
    "a directory where a file goes": [IMAGES],
}


@pytest.mark.parametrize("case", list(IDX_BREAKAGES))
def test_broken_idx_files_give_one_line_naming_the_file(case, tmp_path, rng):
    directory = _fake_mnist(tmp_path / "mnist", rng)
    IDX_BREAKAGES[case](directory)
    _one_line_error(lambda: load_dataset("mnist", root=directory), *IDX_NEEDLES[case])


def test_uncompressed_truncated_idx_names_the_file(tmp_path, rng):
    directory = _fake_mnist(tmp_path / "mnist", rng, compress=False)
    path = directory / T_IMAGES
    path.write_bytes(path.read_bytes()[:1000])
    _one_line_error(lambda: load_dataset("mnist", root=directory), T_IMAGES, "truncated")


# --------------------------------------------------------------------------- download checksum
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A loopback HTTP server; LAYERNET_MIRROR points at it (never the internet)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("LAYERNET_MIRROR", f"http://127.0.0.1:{httpd.server_address[1]}")
    yield www
    httpd.shutdown()
    httpd.server_close()


def test_checksum_mismatch_on_download_keeps_nothing(mirror, tmp_path, rng):
    """The mirror serves files whose MD5 is not the canonical one: one line naming the file and
    both sums, and no file left under the expected name (a later run must not trust it)."""
    _fake_mnist(mirror / "mnist", rng)
    root = tmp_path / "cache"
    text = _one_line_error(lambda: load_dataset("mnist", root=root, download=True), "md5")
    assert any(name in text for name in (IMAGES, LABELS, T_IMAGES, T_LABELS)), text
    leftovers = [p.name for p in root.rglob("*") if p.is_file()] if root.exists() else []
    assert not any(p.endswith(".gz") and not p.startswith(".") for p in leftovers), leftovers


def test_download_from_a_mirror_that_lacks_the_files(mirror, tmp_path):
    (mirror / "mnist").mkdir()
    _one_line_error(lambda: load_dataset("mnist", root=tmp_path / "cache", download=True), "mnist")


# --------------------------------------------------------------------------- CIFAR-10
def _fake_cifar_tar(path: Path, rng, n=10):
    def member(name, obj):
        data = pickle.dumps(obj)
        info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
        info.size = len(data)
        return info, io.BytesIO(data)

    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {b"data": rng.integers(0, 256, size=(n, 3072)).astype(np.uint8),
                     b"labels": list(rng.integers(0, 10, size=n))}
            tar.addfile(*member(name, batch))
        tar.addfile(*member("batches.meta", {b"label_names": [b"c%d" % i for i in range(10)]}))


CIFAR = "cifar-10-python.tar.gz"


def test_fake_cifar_loads(tmp_path, rng):
    _fake_cifar_tar(tmp_path / CIFAR, rng)
    assert load_dataset("cifar10", root=tmp_path).x_train.shape == (50, 3, 32, 32)


@pytest.mark.parametrize("case", ["truncated archive", "not an archive", "empty archive"])
def test_broken_cifar_archive_names_the_file(case, tmp_path, rng):
    path = tmp_path / CIFAR
    _fake_cifar_tar(path, rng)
    if case == "truncated archive":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif case == "not an archive":
        path.write_bytes(b"this is not a tarball\n" * 10)
    else:
        with tarfile.open(path, "w:gz"):
            pass
    _one_line_error(lambda: load_dataset("cifar10", root=tmp_path), CIFAR)


def test_cifar_missing_everything_lists_what_to_put_where(tmp_path):
    _one_line_error(lambda: load_dataset("cifar10", root=tmp_path / "nothing"), CIFAR, "nothing", "download")


# --------------------------------------------------------------------------- the user's .npz
def _good(rng, n=40):
    return {"x_train": rng.standard_normal((n, 6)).astype(np.float32), "y_train": rng.integers(0, 3, size=n)}


NPZ_CASES = {
    "missing x_train": (lambda a: a.pop("x_train"), {}, ["x_train"]),
    "misspelled x_train": (lambda a: a.update(x_trian=a.pop("x_train")), {}, ["x_train", "did you mean 'x_trian'"]),
    "missing y_train": (lambda a: a.pop("y_train"), {}, ["y_train"]),
    "x_val without y_val": (lambda a: a.update(x_val=a["x_train"][:5]), {}, ["x_val", "y_val"]),
    "labels above num_classes": (lambda a: a["y_train"].__setitem__(3, 7), {"num_classes": 3}, ["y_train", "7"]),
    "negative label": (lambda a: a["y_train"].__setitem__(2, -1), {}, ["y_train", "-1"]),
    "fractional labels": (lambda a: a.update(y_train=a["y_train"] + 0.5), {}, ["y_train", "integer"]),
    "string labels": (lambda a: a.update(y_train=np.array(["cat"] * 40)), {}, ["y_train"]),
    "boolean labels": (lambda a: a.update(y_train=a["y_train"] > 0), {}, ["y_train"]),
    "one-hot labels": (lambda a: a.update(y_train=np.eye(3)[a["y_train"]]), {}, ["y_train", "one-hot"]),
    "NaN in inputs": (lambda a: a["x_train"].__setitem__((5, 2), np.nan), {}, ["x_train", "nan"]),
    "inf in inputs": (lambda a: a["x_train"].__setitem__((7, 0), np.inf), {}, ["x_train", "inf"]),
    "NaN in test inputs": (lambda a: a.update(x_test=np.full((4, 6), np.nan, np.float32), y_test=np.zeros(4, int)), {},
                           ["x_test"]),
    "string inputs": (lambda a: a.update(x_train=np.full((40, 6), "1.0")), {}, ["x_train"]),
    "complex inputs": (lambda a: a.update(x_train=a["x_train"].astype(np.complex64)), {}, ["x_train"]),
    "x/y length mismatch": (lambda a: a.update(y_train=a["y_train"][:-3]), {}, ["x_train", "40", "37"]),
    "test shape differs from train": (lambda a: a.update(x_test=np.zeros((4, 5), np.float32), y_test=np.zeros(4, int)), {},
                                      ["x_test"]),
    "rank-5 inputs": (lambda a: a.update(x_train=np.zeros((40, 1, 1, 2, 3), np.float32)), {}, ["x_train"]),
    "no examples": (lambda a: a.update(x_train=np.zeros((0, 6), np.float32), y_train=np.zeros(0, int)), {}, ["x_train"]),
    "too few examples for val_size": (lambda a: None, {"val_size": 40}, ["val_size", "40"]),
    "val_size larger than the set": (lambda a: None, {"val_size": 500}, ["val_size", "500"]),
    "limit of 0": (lambda a: None, {"limit": 0}, ["limit"]),
    "unknown option": (lambda a: None, {"num_clases": 3}, ["num_clases", "did you mean 'num_classes'"]),
    "class_names of the wrong length": (lambda a: None, {"class_names": ["a", "b"], "num_classes": 3}, ["class_names"]),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
def test_bad_npz_gives_one_line_naming_file_and_array(case, tmp_path, rng):
    arrays = _good(rng)
    change, options, needles = NPZ_CASES[case]
    change(arrays)
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)
    options = dict(options)
    kwargs = {k: options.pop(k) for k in ("val_size", "limit") if k in options}
    text = _one_line_error(lambda: load_dataset("npz", path=str(path), **kwargs, **options), *needles)
    if case not in ("limit of 0", "unknown option", "class_names of the wrong length") and "size" not in case:
        assert "mine.npz" in text, text


NPZ_FILE_CASES = {
    "missing file": lambda p: None,
    "a text file": lambda p: p.write_text("x_train,y_train\n1,2\n"),
    "empty file": lambda p: p.write_bytes(b""),
    "truncated npz": lambda p: (np.savez(p, **_good(np.random.default_rng(0))), p.write_bytes(p.read_bytes()[:300])),
    "a single .npy array": lambda p: p.write_bytes(_npy_bytes()),
    "object arrays (pickles)": lambda p: np.savez(p, x_train=np.array([{"a": 1}] * 4, dtype=object), y_train=np.zeros(4)),
    "a directory": lambda p: p.mkdir(),
}


def _npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((4, 6)))
    return buffer.getvalue()


@pytest.mark.parametrize("case", list(NPZ_FILE_CASES))
def test_unreadable_npz_names_the_file(case, tmp_path):
    path = tmp_path / "mine.npz"
    NPZ_FILE_CASES[case](path)
    _one_line_error(lambda: load_dataset("npz", path=str(path)), "mine.npz")


def test_npz_without_a_path_says_which_option():
    _one_line_error(lambda: load_dataset("npz"), "path")
