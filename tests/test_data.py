"""Data sets: shapes and ranges, file formats and their error cases, download on loopback, processing."""

import functools
import gzip
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

import layernet
from layernet.data import Dataset, dataset_files, load_dataset, verify
from layernet.data import download as download_module
from layernet.data.cifar10 import CIFAR10
from layernet.data.idx import write_idx
from layernet.data.mnist import MNIST
from layernet.registry import DATASETS

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MNIST_STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# ---------------------------------------------------------------------------- tiny MNIST-format files
def make_mnist(directory: Path, rng, n_train=6, n_test=4, gz=True) -> dict:
    """Write the four IDX files with random content; return the arrays written."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        MNIST_STEMS[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        MNIST_STEMS[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        MNIST_STEMS[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        MNIST_STEMS[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(directory / (stem + (".gz" if gz else "")), array)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_format_loads_gz_or_plain(tmp_path, rng, gz):
    arrays = make_mnist(tmp_path, rng, gz=gz)
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.x_train.shape == (6, 1, 28, 28) and ds.x_test.shape == (4, 1, 28, 28)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.x_train[:, 0], arrays[MNIST_STEMS[0]])
    np.testing.assert_array_equal(ds.y_test, arrays[MNIST_STEMS[3]])
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10 and ds.class_names[3] == "3"
    assert ds.x_val is None


def test_fashion_mnist_uses_its_directory_and_class_names(tmp_path, rng, monkeypatch):
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path))
    make_mnist(tmp_path / "fashion_mnist", rng)
    ds = load_dataset("fashion_mnist")
    assert ds.name == "fashion_mnist" and ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def _replace(path: Path, transform):
    path.write_bytes(transform(path.read_bytes()))


def _gunzip_transform_gzip(transform):
    return lambda blob: gzip.compress(transform(gzip.decompress(blob)))


@pytest.mark.parametrize(
    "stem, transform, message",
    [
        (MNIST_STEMS[0], _gunzip_transform_gzip(lambda b: b"\x00\x00\x08\x01" + b[4:]),
         r"train-images-idx3-ubyte.gz: wrong magic number for an IDX images file: expected 2051, found 2049 "
         r"\(this looks like an IDX labels file\)"),
        (MNIST_STEMS[1], _gunzip_transform_gzip(lambda b: b"\x00\x00\x08\x07" + b[4:]),
         r"train-labels-idx1-ubyte.gz: wrong magic number for an IDX labels file: expected 2049, found 2055$"),
        (MNIST_STEMS[0], _gunzip_transform_gzip(lambda b: b[:-10]),
         r"train-images-idx3-ubyte.gz: truncated file: the header announces 6 images of 28x28 \(4704 bytes\), "
         r"found 4694 bytes"),
        (MNIST_STEMS[3], _gunzip_transform_gzip(lambda b: b[:5]),
         r"t10k-labels-idx1-ubyte.gz: truncated IDX labels file: 5 bytes, shorter than its 8-byte header"),
        (MNIST_STEMS[1], _gunzip_transform_gzip(lambda b: b + b"\x01\x02"),
         r"train-labels-idx1-ubyte.gz: 2 unexpected bytes after the 6 labels the header announces"),
        (MNIST_STEMS[1], _gunzip_transform_gzip(lambda b: b[:-1]),
         r"train-labels-idx1-ubyte.gz: truncated file: the header announces 6 labels \(6 bytes\), found 5"),
        (MNIST_STEMS[2], lambda blob: blob[: len(blob) // 2],
         r"t10k-images-idx3-ubyte.gz: corrupt gzip file \(.+\); delete it and download it again"),
        (MNIST_STEMS[2], lambda blob: blob[:10] + bytes(255 - c for c in blob[10:40]) + blob[40:],
         r"t10k-images-idx3-ubyte.gz: corrupt gzip file"),
        (MNIST_STEMS[1], _gunzip_transform_gzip(lambda b: b[:-1] + b"\x0c"),
         r"train-labels-idx1-ubyte.gz: label 12 at index 5 is outside 0..9"),
    ],
)
def test_idx_errors_name_file_expected_and_found(tmp_path, rng, stem, transform, message):
    make_mnist(tmp_path, rng)
    _replace(tmp_path / f"{stem}.gz", transform)
    with pytest.raises(ValueError, match=message) as info:
        load_dataset("mnist", root=tmp_path)
    assert "\n" not in str(info.value)


def test_idx_wrong_image_size_and_count_mismatch(tmp_path, rng):
    make_mnist(tmp_path, rng)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((6, 8, 8), np.uint8))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: expected 28x28 images, found 8x8"):
        load_dataset("mnist", root=tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((5, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz holds 5 images but train-labels-idx1-ubyte.gz "
                                         r"holds 6 labels; expected the same count"):
        load_dataset("mnist", root=tmp_path)


def test_missing_files_are_listed_with_directory_and_download_hint(tmp_path, rng):
    make_mnist(tmp_path, rng)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(ValueError) as info:
        load_dataset("mnist", root=tmp_path)
    message = str(info.value)
    assert f"missing 2 file(s) in {tmp_path}: train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz" in message
    assert "train-images" not in message and "download: true" in message and "\n" not in message


def test_default_root_is_layernet_data_or_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path / "store"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert dataset_files("mnist")[0] == tmp_path / "store" / "mnist" / "train-images-idx3-ubyte.gz"
    monkeypatch.delenv("LAYERNET_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dataset_files("cifar10") == [tmp_path / ".cache" / "layernet" / "cifar10" / "cifar-10-python.tar.gz"]
    assert dataset_files("fashion_mnist", root=tmp_path / "f")[3] == tmp_path / "f" / "t10k-labels-idx1-ubyte.gz"
    assert dataset_files("digits") == [] and dataset_files("spiral") == []
    assert dataset_files("npz", path=tmp_path / "a.npz") == [tmp_path / "a.npz"]


def test_the_cache_follows_xdg_cache_home_after_root_and_layernet_data(tmp_path, rng, monkeypatch):
    """Issue 17 item 18: data.root, then $LAYERNET_DATA/<name>, then $XDG_CACHE_HOME/layernet/<name>, then ~/.cache."""
    monkeypatch.delenv("LAYERNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert layernet.data.data_home() == tmp_path / "xdg" / "layernet"
    assert dataset_files("cifar10") == [tmp_path / "xdg" / "layernet" / "cifar10" / "cifar-10-python.tar.gz"]
    make_mnist(tmp_path / "xdg" / "layernet" / "mnist", rng)
    assert load_dataset("mnist").x_train.shape == (6, 1, 28, 28)           # read from there
    with pytest.raises(ValueError, match=f"missing 4 file\\(s\\) in {tmp_path / 'r'}:"):
        load_dataset("mnist", root=tmp_path / "r")                           # data.root first
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path / "store"))
    assert dataset_files("mnist")[0].parent == tmp_path / "store" / "mnist"  # then $LAYERNET_DATA
    monkeypatch.delenv("LAYERNET_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")                   # the XDG spec: ignore relative paths
    assert dataset_files("mnist")[0].parent == tmp_path / "home" / ".cache" / "layernet" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert dataset_files("mnist")[0].parent == tmp_path / "home" / ".cache" / "layernet" / "mnist"


# ---------------------------------------------------------------------------- real MNIST
def test_real_mnist_from_shared_data():
    ds = load_dataset("mnist", root=SHARED / "mnist", val_size=5000, limit=20000, normalize="scale")
    assert ds.x_train.shape == (15000, 1, 28, 28) and ds.x_val.shape == (5000, 1, 28, 28)
    assert ds.x_test.shape == (10000, 1, 28, 28) and ds.y_test.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert set(np.unique(ds.y_test)) == set(range(10))
    # the label file's well-known start
    assert list(ds.y_test[:5]) == [7, 2, 1, 0, 4]
    report = verify("mnist", SHARED / "mnist")
    assert all(check.ok for check in report) and any("60000 examples" in check.detail for check in report)


# ---------------------------------------------------------------------------- download on loopback
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A static HTTP server on 127.0.0.1 serving tmp_path/www; yields (directory, base URL)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    www = tmp_path / "www"
    www.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _serve_mnist(www: Path, rng, monkeypatch) -> dict:
    """Tiny MNIST files on the server; MNIST.files then carries their MD5s instead of the canonical ones."""
    arrays = make_mnist(www, rng)
    md5s = {f"{stem}.gz": hashlib.md5((www / f"{stem}.gz").read_bytes()).hexdigest() for stem in MNIST_STEMS}
    monkeypatch.setattr(MNIST, "files", md5s)
    return arrays


def test_download_success_writes_verified_files(server, tmp_path, rng, monkeypatch):
    www, url = server
    arrays = _serve_mnist(www, rng, monkeypatch)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [url])
    target = tmp_path / "cache" / "mnist"
    ds = load_dataset("mnist", root=target, download=True)
    np.testing.assert_array_equal(ds.y_train, arrays[MNIST_STEMS[1]])
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{s}.gz" for s in MNIST_STEMS)  # no temp files
    assert all(check.ok for check in verify("mnist", target))
    assert "md5 matches the canonical download" in verify("mnist", target)[0].detail


def test_download_falls_back_to_the_next_mirror_and_honours_layernet_mirror(server, tmp_path, rng, monkeypatch):
    www, url = server
    _serve_mnist(www / "mnist", rng, monkeypatch)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [url + "nothing-here/", url + "mnist/"])
    load_dataset("mnist", root=tmp_path / "a", download=True)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", ["http://mirror.invalid/"])
    monkeypatch.setenv("LAYERNET_MIRROR", url.rstrip("/"))       # files at $LAYERNET_MIRROR/mnist/<file>
    assert load_dataset("mnist", root=tmp_path / "b", download=True).x_train.shape == (6, 1, 28, 28)


def test_download_checksum_mismatch_is_refused_and_nothing_kept(server, tmp_path, rng, monkeypatch):
    www, url = server
    _serve_mnist(www, rng, monkeypatch)
    (www / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [url])
    target = tmp_path / "cache"
    with pytest.raises(ValueError, match=r"mnist: could not download t10k-labels-idx1-ubyte.gz into .*: "
                                         r"http://127.0.0.1:\d+/t10k-labels-idx1-ubyte.gz: checksum mismatch: "
                                         r"expected md5 [0-9a-f]{32}, found [0-9a-f]{32}; file not kept"):
        load_dataset("mnist", root=target, download=True)
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]   # temp file deleted
    assert (target / "train-images-idx3-ubyte.gz").exists()               # earlier good files stay


def test_download_file_missing_on_server(server, tmp_path, rng, monkeypatch):
    www, url = server
    _serve_mnist(www, rng, monkeypatch)
    (www / "train-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setitem(download_module.MIRRORS, "mnist", [url])
    with pytest.raises(ValueError, match=r"could not download train-labels-idx1-ubyte.gz .*HTTP 404"):
        load_dataset("mnist", root=tmp_path / "cache", download=True)
    # only the missing files are fetched: with the other three present, no request for them is needed
    assert not (tmp_path / "cache" / "train-labels-idx1-ubyte.gz").exists()


def test_files_present_are_not_downloaded_again(tmp_path, rng, monkeypatch):
    make_mnist(tmp_path, rng)
    monkeypatch.setitem(download_module.MIRRORS, "mnist", ["http://mirror.invalid/"])
    assert load_dataset("mnist", root=tmp_path, download=True).x_train.shape[0] == 6


# ---------------------------------------------------------------------------- CIFAR-10
def _batch(rng, n, protocol=2) -> tuple[bytes, np.ndarray, list]:
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, n)]
    return pickle.dumps({b"batch_label": b"x", b"data": data, b"labels": labels}, protocol=protocol), data, labels


def make_cifar(directory: Path, rng, archive=True, sizes=(2, 2, 2, 2, 2, 3), drop=None, replace=None):
    """A tiny CIFAR-10 python set (5 train batches + test batch + meta), as a .tar.gz or a folder."""
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    members, data, labels = {}, [], []
    for name, n in zip(names, sizes):
        blob, d, y = _batch(rng, n, protocol=2 if name != "test_batch" else pickle.HIGHEST_PROTOCOL)
        members[name], data, labels = blob, data + [d], labels + [y]
    members["batches.meta"] = pickle.dumps({b"label_names": [f"c{i}".encode() for i in range(10)]}, protocol=2)
    members.update(replace or {})
    members.pop(drop, None)
    directory.mkdir(parents=True, exist_ok=True)
    if archive:
        with tarfile.open(directory / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, blob in members.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    else:
        (directory / "cifar-10-batches-py").mkdir()
        for name, blob in members.items():
            (directory / "cifar-10-batches-py" / name).write_bytes(blob)
    return data, labels


@pytest.mark.parametrize("archive", [True, False])
def test_cifar10_archive_or_folder(tmp_path, rng, archive):
    data, labels = make_cifar(tmp_path, rng, archive=archive)
    ds = load_dataset("cifar10", root=tmp_path)
    assert ds.x_train.shape == (10, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    # row layout: 1024 red, then green, then blue values, each 32x32 row-major
    np.testing.assert_array_equal(ds.x_train[0, 1, 0, :5], data[0][0, 1024:1029])
    np.testing.assert_array_equal(ds.x_train[3, 2, 31, 31], data[1][1, 3071])
    assert list(ds.y_train) == sum(labels[:5], []) and list(ds.y_test) == labels[5]
    assert ds.class_names == [f"c{i}" for i in range(10)]
    assert all(check.ok for check in verify("cifar10", tmp_path))


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"drop": "data_batch_3"}, r"cifar-10-python.tar.gz: the archive has no member cifar-10-batches-py/data_batch_3"),
        ({"replace": {"data_batch_2": pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]})}},
         r"data_batch_2: 'data' should be uint8 of shape \(N, 3072\), found uint8 \(2, 100\)"),
        ({"replace": {"test_batch": pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]})}},
         r"test_batch: 2 images but 1 labels; expected the same count"),
        ({"replace": {"data_batch_1": pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [10]})}},
         r"data_batch_1: labels should be integers in 0..9"),
        ({"replace": {"data_batch_1": pickle.dumps(_Evil())}},
         r"data_batch_1: not a CIFAR-10 batch \(UnpicklingError: refusing to load builtins.print\)"),
        ({"replace": {"data_batch_4": b"not a pickle"}}, r"data_batch_4: not a CIFAR-10 batch"),
    ],
)
def test_cifar10_errors(tmp_path, rng, kwargs, message, capsys):
    make_cifar(tmp_path, rng, **kwargs)
    with pytest.raises(ValueError, match=message):
        load_dataset("cifar10", root=tmp_path)
    assert "pwned" not in capsys.readouterr().out


def test_cifar10_corrupt_or_missing_archive(tmp_path, rng):
    with pytest.raises(ValueError, match=r"missing 1 file\(s\) in .*: cifar-10-python.tar.gz \(or its extracted "
                                         r"folder cifar-10-batches-py/\); .*download: true"):
        load_dataset("cifar10", root=tmp_path)
    make_cifar(tmp_path, rng)
    _replace(tmp_path / "cifar-10-python.tar.gz", lambda blob: blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz: corrupt archive"):
        load_dataset("cifar10", root=tmp_path)
    assert not verify("cifar10", tmp_path)[0].ok


def test_cifar10_canonical_checksum_is_torchvisions():
    assert CIFAR10.files == {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"}
    assert MNIST.files["t10k-images-idx3-ubyte.gz"] == "9fb629c4189551a2d022fa330f9573f3"


# ---------------------------------------------------------------------------- digits and spiral
def test_digits_embedded_shapes_ranges_and_fixed_split():
    ds = load_dataset("digits")
    assert ds.x_train.shape == (1497, 1, 8, 8) and ds.x_test.shape == (300, 1, 8, 8)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0 and ds.x_train.max() == 16 and ds.num_classes == 10
    assert set(np.unique(ds.y_test)) == set(range(10))
    other = load_dataset("digits", seed=7)
    np.testing.assert_array_equal(other.x_test, ds.x_test)      # the test split never depends on seed
    np.testing.assert_array_equal(load_dataset("digits", normalize="scale").x_test, ds.x_test / 16)


def test_digits_ship_inside_the_package_and_match_the_shared_copy():
    embedded = Path(layernet.__file__).parent / "_embedded"
    assert (embedded / "digits.csv.gz").read_bytes() == (SHARED / "digits" / "digits.csv.gz").read_bytes()
    assert "CC BY 4.0" in (embedded / "README.md").read_text() and "Alpaydin" in (embedded / "README.md").read_text()
    for source in Path(layernet.__file__).parent.rglob("*.py"):
        assert "shared/data" not in source.read_text(), source


def test_spiral_shapes_options_and_seed():
    ds = load_dataset("spiral", classes=4, points_per_class=50, noise=0.1)
    assert ds.x_train.shape == (200, 2) and ds.x_train.dtype == np.float32 and ds.input_shape == (2,)
    assert np.abs(ds.x_train).max() <= 1.5 and ds.num_classes == 4 and list(np.bincount(ds.y_train)) == [50] * 4
    assert ds.x_test is None
    np.testing.assert_array_equal(load_dataset("spiral").x_train, load_dataset("spiral").x_train)
    assert not np.array_equal(load_dataset("spiral", seed=1).x_train, load_dataset("spiral").x_train)
    r = np.hypot(*load_dataset("spiral", noise=0.0).x_train[:100].T)
    np.testing.assert_allclose(r, np.linspace(0, 1, 100), atol=1e-6)


@pytest.mark.parametrize("options, arg", [({"classes": 1}, "classes"), ({"points_per_class": 0}, "points_per_class"),
                                          ({"noise": -0.1}, "noise"), ({"classes": 2.5}, "classes")])
def test_spiral_options_validated(options, arg):
    with pytest.raises(ValueError, match=rf"Invalid value for argument `{arg}` of spiral"):
        load_dataset("spiral", **options)


# ---------------------------------------------------------------------------- npz
def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def good_arrays(rng):
    return {
        "x_train": rng.standard_normal((20, 3, 4, 4)).astype(np.float32), "y_train": rng.integers(0, 3, 20),
        "x_val": rng.standard_normal((5, 3, 4, 4)), "y_val": rng.integers(0, 3, 5),
        "x_test": rng.standard_normal((6, 3, 4, 4)), "y_test": np.arange(6) % 3,
    }


def test_npz_all_splits(tmp_path, good_arrays):
    ds = load_dataset("npz", path=write_npz(tmp_path / "d.npz", **good_arrays))
    assert ds.x_train.shape == (20, 3, 4, 4) and ds.x_val.shape == (5, 3, 4, 4) and ds.x_test.shape == (6, 3, 4, 4)
    assert all(x.dtype == np.float32 and y.dtype == np.int64 for _, x, y in ds.splits())
    assert ds.num_classes == 3 and ds.name == "npz"
    flat = load_dataset("npz", path=write_npz(tmp_path / "f.npz", x_train=np.ones((4, 7), np.uint8) * 51,
                                              y_train=np.array([0.0, 1.0, 2.0, 1.0])), normalize="scale", num_classes=5)
    assert flat.input_shape == (7,) and flat.num_classes == 5 and np.allclose(flat.x_train, 0.2)
    hw = load_dataset("npz", path=write_npz(tmp_path / "hw.npz", x_train=np.zeros((3, 5, 5)), y_train=[0, 1, 0]))
    assert hw.input_shape == (1, 5, 5)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"y_train": None}, r"missing array 'y_train'; found: x_test, x_train, x_val, y_test, y_val"),
        ({"x_train": None, "X_train": np.zeros((20, 3, 4, 4))}, r"missing array 'x_train' \(did you mean 'X_train'\?\)"),
        ({"y_val": None}, r"has 'x_val' but no 'y_val'; give both or neither"),
        ({"y_train": np.full(20, 1.5)}, r"'y_train' should hold integer class labels, found 1.5 at index 0"),
        ({"y_test": np.array(["a"] * 6)}, r"'y_test' should hold integer class labels, found dtype <U1"),
        ({"y_train": -np.ones(20, int)}, r"'y_train' has label -1 at index 0, outside >= 0"),
        ({"y_train": np.eye(20, 3)}, r"'y_train' should have shape \(N,\), found \(20, 3\) \(one-hot labels\?"),
        ({"y_val": np.zeros(4, int)}, r"'x_val' has 5 examples but 'y_val' has 4"),
        ({"x_test": np.full((6, 3, 4, 4), np.nan)}, r"'x_test' has 288 NaN or inf values \(the first in example 0\)"),
        ({"x_val": np.pad(np.zeros((4, 3, 4, 4)), ((0, 1), (0, 0), (0, 0), (0, 0)), constant_values=np.inf)},
         r"'x_val' has 48 NaN or inf values \(the first in example 4\)"),
        ({"x_test": np.zeros((6, 3, 5, 4))}, r"'x_test' examples have shape \(3, 5, 4\), but x_train's have \(3, 4, 4\)"),
        ({"x_train": np.zeros(20)}, r"'x_train' should have shape \(N, D\) or \(N, C, H, W\), found \(20,\)"),
    ],
)
def test_npz_errors_name_file_and_array(tmp_path, good_arrays, change, message):
    arrays = {**good_arrays, **change}
    path = write_npz(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(ValueError, match=rf"^{path}: {message}") as info:
        load_dataset("npz", path=path)
    assert "\n" not in str(info.value)


def test_npz_labels_outside_num_classes_and_unreadable_files(tmp_path, good_arrays):
    path = write_npz(tmp_path / "d.npz", **good_arrays)
    with pytest.raises(ValueError, match=rf"{path}: 'y_train' has label 2 at index \d+, outside 0..1"):
        load_dataset("npz", path=path, num_classes=2)
    (tmp_path / "junk.npz").write_bytes(b"hello")
    with pytest.raises(ValueError, match=r"junk.npz: not a readable .npz file"):
        load_dataset("npz", path=tmp_path / "junk.npz")
    with pytest.raises(ValueError, match=r"nothere.npz: file not found"):
        load_dataset("npz", path=tmp_path / "nothere.npz")
    with pytest.raises(ValueError, match=r"Invalid value for argument `path` of dataset npz"):
        load_dataset("npz")


# ---------------------------------------------------------------------------- common processing
def test_limit_and_validation_split_deterministic_and_disjoint():
    full = load_dataset("digits")
    ds = load_dataset("digits", limit=500, val_size=100, seed=3)
    assert len(ds.y_train) == 400 and len(ds.y_val) == 100
    together = np.concatenate([ds.x_train, ds.x_val]).reshape(500, -1)
    assert len({row.tobytes() for row in together}) == len({row.tobytes() for row in full.x_train[:500].reshape(500, -1)})
    again = load_dataset("digits", limit=500, val_size=100, seed=3)
    np.testing.assert_array_equal(again.x_val, ds.x_val)
    np.testing.assert_array_equal(again.y_train, ds.y_train)
    other = load_dataset("digits", limit=500, val_size=100, seed=4)
    assert not np.array_equal(other.x_val, ds.x_val)
    assert len(load_dataset("digits", val_size=0.2).y_val) == round(0.2 * 1497)
    assert len(load_dataset("digits", limit=10**6).y_train) == 1497


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"val_size": 1497}, r"digits: val_size=1497 leaves no training examples: the training split has only 1497"),
        ({"limit": 50, "val_size": 60}, r"val_size=60 leaves no training examples: the training split has only 50"),
        ({"val_size": -1}, r"Invalid value for argument `val_size` of load_dataset"),
        ({"val_size": 1.5}, r"Invalid value for argument `val_size`"),
        ({"limit": 0}, r"Invalid value for argument `limit` of load_dataset"),
        ({"normalize": "standart"}, r"expected one of none, scale, standard \(did you mean 'standard'\?\)"),
        ({"seed": -1}, r"Invalid value for argument `seed`"),
        ({"download": "yes"}, r"Invalid value for argument `download`"),
    ],
)
def test_processing_arguments_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("digits", **kwargs)


def test_val_size_with_an_existing_validation_split_is_refused(tmp_path, good_arrays):
    with pytest.raises(ValueError, match=r"already has a validation split \(5 examples\); set val_size to 0"):
        load_dataset("npz", path=write_npz(tmp_path / "d.npz", **good_arrays), val_size=3)


def test_standard_normalisation_uses_training_statistics_only(tmp_path, rng):
    x_train = rng.normal(5.0, 2.0, (200, 3, 4, 4)) * np.array([1, 10, 100])[None, :, None, None]
    x_test = rng.normal(-50.0, 1.0, (30, 3, 4, 4))
    path = write_npz(tmp_path / "d.npz", x_train=x_train, y_train=rng.integers(0, 2, 200), x_test=x_test,
                     y_test=rng.integers(0, 2, 30))
    ds = load_dataset("npz", path=path, val_size=50, normalize="standard", seed=1)
    np.testing.assert_allclose(ds.x_train.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=(0, 2, 3)), 1, atol=1e-5)
    raw = load_dataset("npz", path=path, val_size=50, seed=1)   # same split, not normalised
    mean = raw.x_train.astype(np.float64).mean(axis=(0, 2, 3))
    std = raw.x_train.astype(np.float64).std(axis=(0, 2, 3))
    np.testing.assert_allclose(ds.normalization["mean"], mean, rtol=1e-6)
    expected_val = (raw.x_val - mean[None, :, None, None]) / std[None, :, None, None]
    np.testing.assert_allclose(ds.x_val, expected_val, rtol=1e-4, atol=1e-4)
    expected_test = (raw.x_test - mean[None, :, None, None]) / std[None, :, None, None]
    np.testing.assert_allclose(ds.x_test, expected_test, rtol=1e-4, atol=1e-4)
    assert abs(ds.x_val.mean()) < 0.5 and ds.x_test.mean() < -5     # val/test were not re-centred
    assert all(x.dtype == np.float32 for _, x, _ in ds.splits())


def test_standard_normalisation_flat_data_is_per_feature_and_constant_features_survive(tmp_path):
    x = np.c_[np.arange(10.0), np.full(10, 3.0)]
    ds = load_dataset("npz", path=write_npz(tmp_path / "d.npz", x_train=x, y_train=np.arange(10) % 2),
                      normalize="standard")
    np.testing.assert_allclose(ds.x_train[:, 0].mean(), 0, atol=1e-6)
    np.testing.assert_array_equal(ds.x_train[:, 1], 0.0)
    assert np.isfinite(ds.x_train).all()


def test_registry_names_and_typos():
    assert DATASETS.names() == ["cifar10", "digits", "fashion_mnist", "mnist", "npz", "spiral", "text"]
    with pytest.raises(ValueError, match=r"unknown dataset 'mnst' \(did you mean 'mnist'\?\)"):
        load_dataset("mnst")
    with pytest.raises(ValueError, match=r"unknown option 'clases' for dataset 'spiral' \(did you mean 'classes'\?\)"):
        load_dataset("spiral", clases=3)
    with pytest.raises(ValueError, match=r"unknown option 'path' for dataset 'digits'.*it takes no options"):
        load_dataset("digits", path="x")
    assert isinstance(load_dataset("spiral"), Dataset)
    assert repr(load_dataset("digits", val_size=97)) == (
        "Dataset(name='digits', train=1400, val=97, test=300, input_shape=(1, 8, 8), num_classes=10, "
        "normalization='none')"
    )


def test_verify_reports_missing_and_broken_files(tmp_path, rng):
    report = verify("mnist", tmp_path)
    assert not any(check.ok for check in report) and all(check.detail == "missing" for check in report)
    make_mnist(tmp_path, rng)
    _replace(tmp_path / "t10k-labels-idx1-ubyte.gz", _gunzip_transform_gzip(lambda b: b[:-1]))
    report = verify("mnist", tmp_path)
    bad = [check for check in report if not check.ok]
    assert len(bad) == 1 and "truncated file" in bad[0].detail
    assert any(check.ok and "train: headers and sizes valid, 6 examples (the canonical file has 60000)" in check.detail
               for check in report)
    assert verify("digits")[0].ok and "train 1497, test 300" in verify("digits")[0].detail


def test_cifar10_download_on_loopback(server, tmp_path, rng, monkeypatch):
    www, url = server
    data, _ = make_cifar(www, rng)
    archive = www / "cifar-10-python.tar.gz"
    monkeypatch.setattr(CIFAR10, "files", {archive.name: hashlib.md5(archive.read_bytes()).hexdigest()})
    monkeypatch.setitem(download_module.MIRRORS, "cifar10", [url])
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path / "home"))
    ds = load_dataset("cifar10", download=True)
    assert (tmp_path / "home" / "cifar10" / archive.name).is_file()
    np.testing.assert_array_equal(ds.x_train[0].reshape(-1), data[0][0])


def test_download_into_an_impossible_directory_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ValueError, match=r"mnist: cannot create the data directory .*file/mnist"):
        load_dataset("mnist", root=tmp_path / "file" / "mnist", download=True)
