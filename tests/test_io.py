"""Atomic writes never leave a half-written file or lose the previous one."""

import numpy as np
import pytest

from layernet._io import atomic_write, load_npz, save_npz_atomic


def test_atomic_write_replaces_on_success(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with atomic_write(path) as handle:
        handle.write("new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as handle:
            handle.write("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_npz_round_trip_and_errors(tmp_path):
    path = tmp_path / "s.npz"
    save_npz_atomic(path, {"a": np.arange(3), "b": np.array("text")})
    data = load_npz(path)
    np.testing.assert_array_equal(data["a"], np.arange(3))
    assert str(data["b"]) == "text"
    with pytest.raises(ValueError, match="dtype object"):
        save_npz_atomic(path, {"c": np.array([{}], dtype=object)})
    assert load_npz(path).keys() == {"a", "b"}  # the failed save left the old file
    np.save(tmp_path / "single.npy", np.arange(2))
    (tmp_path / "single.npz").write_bytes((tmp_path / "single.npy").read_bytes())
    with pytest.raises(ValueError, match="single.npz: not a readable .npz file"):
        load_npz(tmp_path / "single.npz")


def test_atomic_write_gives_an_ordinary_file_mode(tmp_path):
    import os

    path = tmp_path / "a.txt"
    with atomic_write(path) as handle:
        handle.write("x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
