"""Bad configs, bad data and bad usage through the ``layernet`` command: exit 2, exactly one line on
stderr naming the file / field / layer, no traceback, and nothing created on disk.

Every case of ``cases.CONFIG_CASES`` / ``SHAPE_CASES`` runs through ``layernet.cli.main`` in-process
(fast); one case of each kind listed in issue 7 also runs through the real command in a subprocess,
as a user types it.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import numpy as np
import pytest
import yaml

from .cases import CONFIG_CASES, RUN, SHAPE_CASES, TINY, dump, tiny
from .conftest import assert_usage_error, run_cli, run_main


def _write(tmp_path: Path, text: str, name: str = RUN) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _nothing_created(tmp_path: Path):
    assert not (tmp_path / "runs").exists(), "a run directory was created for a run that cannot start"


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_config_in_process(case, tmp_path, monkeypatch, capsys):
    text, overrides, needles = CONFIG_CASES[case]
    _write(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    proc = run_main(["train", RUN, *overrides], capsys)
    assert_usage_error(proc, *needles)
    _nothing_created(tmp_path)


@pytest.mark.parametrize("case", list(SHAPE_CASES))
@pytest.mark.parametrize("command", ["train", "summary"])
def test_stack_that_does_not_fit_is_refused_before_training(case, command, tmp_path, monkeypatch, capsys):
    config, needles = SHAPE_CASES[case]
    _write(tmp_path, dump(config))
    monkeypatch.chdir(tmp_path)
    proc = run_main([command, RUN], capsys)
    assert_usage_error(proc, RUN, *needles)
    _nothing_created(tmp_path)


def test_several_problems_are_reported_at_once_one_line_each(tmp_path, monkeypatch, capsys):
    config = tiny(**{"trainer.epochs": -1, "optimizer.lr": 0, "data.dataset": "mnits"})
    _write(tmp_path, dump(config))
    monkeypatch.chdir(tmp_path)
    proc = run_main(["train", RUN], capsys)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 3, proc.stderr
    for line, needle in zip(sorted(lines), sorted(["trainer.epochs", "optimizer.lr", "data.dataset"])):
        assert f"{RUN}:" in line
    assert all(any(n in line for line in lines) for n in ["trainer.epochs", "optimizer.lr", "data.dataset"])


# --------------------------------------------------------------------------- files and usage
USAGE_CASES = {
    "no command": (lambda d: [], []),
    "unknown command": (lambda d: ["trian", RUN], ["trian"]),
    "config file missing": (lambda d: ["train", "nope.yaml"], ["nope.yaml"]),
    "config is a directory": (lambda d: (d / "cfgdir").mkdir() or ["train", "cfgdir"], ["cfgdir"]),
    "config is binary": (lambda d: (d / "bin.yaml").write_bytes(b"\xff\xfe\x00bad") and ["train", "bin.yaml"], ["bin.yaml"]),
    "resume a missing directory": (lambda d: ["train", RUN, "--resume", "runs/never"], ["never"]),
    "resume a directory without a checkpoint": (lambda d: (d / "empty").mkdir() or ["train", RUN, "--resume", "empty"],
                                                ["empty", "last.npz"]),
    "eval a directory that is no run": (lambda d: (d / "empty").mkdir() or ["eval", "empty"], ["empty"]),
    "eval with a bogus split": (lambda d: ["eval", "x", "--split", "dev"], ["dev"]),
    "gradcheck batch size 0": (lambda d: ["gradcheck", RUN, "--batch-size", "0"], ["batch-size"]),
    "data verify of an unknown set": (lambda d: ["data", "verify", "mnsit"], ["mnsit", "did you mean 'mnist'"]),
    "data path npz without --path": (lambda d: ["data", "path", "npz"], ["path"]),
    "output.dir whose parent is a file": (
        lambda d: (d / "afile").write_text("x") and _write(d, dump(tiny(**{"output.dir": "afile/runs/{name}"}))) and
        ["train", RUN], ["output.dir", "afile"]),
    "output.dir with an unknown placeholder": (
        lambda d: _write(d, dump(tiny(**{"output.dir": "runs/{nme}"}))) and ["train", RUN], ["output.dir", "nme"]),
    "override given to a config that does not exist": (lambda d: ["train", "missing.yaml", "trainer.epochs=2"],
                                                       ["missing.yaml"]),
}


@pytest.mark.parametrize("case", list(USAGE_CASES))
def test_bad_usage_and_files_in_process(case, tmp_path, monkeypatch, capsys):
    _write(tmp_path, dump(TINY))
    monkeypatch.chdir(tmp_path)
    argv_of, needles = USAGE_CASES[case]
    proc = run_main(argv_of(tmp_path), capsys)
    assert_usage_error(proc, *needles)


# --------------------------------------------------------------------------- data through the command
def _npz(tmp_path, **arrays):
    rng = np.random.default_rng(0)
    base = {"x_train": rng.standard_normal((40, 6)).astype(np.float32), "y_train": rng.integers(0, 3, size=40)}
    base.update(arrays)
    path = tmp_path / "mine.npz"
    np.savez(path, **{k: v for k, v in base.items() if v is not None})
    return path


def _npz_config(path, **changes):
    config = tiny(**{"data": {"dataset": "npz", "path": str(path), "val_size": 10}})
    config["model"]["layers"] = [{"type": "affine", "out_features": 3}]
    for key, value in changes.items():
        config = {**config, **{key: value}}
    return config


DATA_CASES = {
    "npz file missing": (lambda d: d / "absent.npz", ["absent.npz"]),
    "npz with NaN inputs": (lambda d: _npz(d, x_train=np.full((40, 6), np.nan, np.float32)), ["mine.npz", "x_train"]),
    "npz with labels as strings": (lambda d: _npz(d, y_train=np.array(["a"] * 40)), ["mine.npz", "y_train"]),
    "npz x/y length mismatch": (lambda d: _npz(d, y_train=np.zeros(39, int)), ["mine.npz", "39"]),
    "npz without x_train": (lambda d: _npz(d, x_train=None), ["mine.npz", "x_train"]),
    "npz that is text": (lambda d: (d / "mine.npz").write_text("hello") and d / "mine.npz", ["mine.npz"]),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_bad_data_through_the_command_in_process(case, tmp_path, monkeypatch, capsys):
    make, needles = DATA_CASES[case]
    _write(tmp_path, dump(_npz_config(make(tmp_path))))
    monkeypatch.chdir(tmp_path)
    assert_usage_error(run_main(["train", RUN], capsys), *needles)
    _nothing_created(tmp_path)


def test_npz_path_is_read_from_the_config_files_directory(tmp_path, monkeypatch, capsys):
    """Issue 17 item 10: data.path in a file is relative to that file; on the command line, to the working
    directory; a missing file is one line naming the file, its line, data.path, expected and found."""
    import json

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "data").mkdir(parents=True)
    elsewhere.mkdir()
    _npz(project / "data")                                        # project/data/mine.npz
    config = project / RUN
    _write(project, dump(_npz_config("data/mine.npz")))
    monkeypatch.chdir(elsewhere)
    proc = run_main(["train", config], capsys)
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["data"]["path"] == str(project / "data" / "mine.npz")
    monkeypatch.chdir(tmp_path)                                   # the saved config finds the file from anywhere
    proc = run_main(["eval", run_dir.absolute(), "--split", "val", "--json"], capsys)
    assert proc.returncode == 0 and json.loads(proc.stdout)["num_examples"] == 10, proc.stderr

    monkeypatch.chdir(elsewhere)
    text = dump(_npz_config("data/absent.npz"))
    line = 1 + text.splitlines().index("  path: data/absent.npz")
    _write(project, text)
    assert_usage_error(run_main(["summary", config], capsys), f"{config}:{line}: data.path: expected an existing .npz file",
                       "read from its directory", "found 'data/absent.npz'", str(project / "data" / "absent.npz"))
    # an override is a command-line value: relative to the working directory
    assert_usage_error(run_main(["summary", config, "data.path=data/mine.npz"], capsys),
                       "override 'data.path=data/mine.npz': data.path", "working directory", str(elsewhere / "data" / "mine.npz"))
    monkeypatch.chdir(project)
    proc = run_main(["summary", config, "data.path=data/mine.npz"], capsys)
    assert proc.returncode == 0 and "3 classes" in proc.stdout, proc.stderr


def test_missing_mnist_files_say_what_to_put_where(tmp_path, monkeypatch, capsys):
    config = tiny(**{"data": {"dataset": "mnist", "root": str(tmp_path / "mnist-files")}})
    _write(tmp_path, dump(config))
    monkeypatch.chdir(tmp_path)
    line = assert_usage_error(run_main(["train", RUN], capsys), "mnist-files", "train-images-idx3-ubyte", "download")
    assert "t10k-labels-idx1-ubyte" in line
    _nothing_created(tmp_path)


def test_data_verify_reports_damage_with_exit_1(tmp_path, monkeypatch, capsys):
    """`layernet data verify` is a check: a damaged set is a failed check (exit 1), not a crash."""
    root = tmp_path / "mnist"
    root.mkdir()
    (root / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    proc = run_main(["data", "verify", "mnist", "--root", root], capsys)
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr, proc
    assert "train-images-idx3-ubyte" in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- the real command
#: A sample of the config mistakes of issue 7, run as a user types them (every case runs in-process
#: above; each subprocess costs about a second of imports).
SUBPROCESS_CASES = [
    "not YAML", "empty file", "typo in a nested key", "string for an int", "unknown layer type",
    "missing required layer argument", "unknown dataset", "override names no key", "an option instead of an override",
]


def _run_case(tmp_root: Path, case: str):
    directory = tmp_root / case.replace(" ", "_").replace("'", "")
    directory.mkdir()
    if case in CONFIG_CASES:
        text, overrides, needles = CONFIG_CASES[case]
    else:
        config, needles = SHAPE_CASES[case]
        text, overrides, needles = dump(config), [], [RUN, *needles]
    _write(directory, text)
    return case, directory, needles, run_cli("train", RUN, *overrides, cwd=directory, timeout=120)


def test_bad_configs_through_the_real_command(tmp_path):
    cases = SUBPROCESS_CASES + ["conv kernel larger than the image"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda c: _run_case(tmp_path, c), cases))
    problems = []
    for case, directory, needles, proc in results:
        try:
            assert_usage_error(proc, *needles)
            _nothing_created(directory)
        except AssertionError as err:
            problems.append(f"{case}: {err}")
    assert not problems, "\n\n".join(problems)


def test_bad_data_and_usage_through_the_real_command(tmp_path):
    (tmp_path / "m").mkdir()
    _write(tmp_path / "m", dump(_npz_config(_npz(tmp_path / "m", y_train=np.zeros(39, int)))))
    (tmp_path / "u").mkdir()
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        npz = pool.submit(run_cli, "train", RUN, cwd=tmp_path / "m")
        usage = pool.submit(run_cli, "train", "nope.yaml", cwd=tmp_path / "u")
    assert_usage_error(npz.result(), "mine.npz", "39")
    assert_usage_error(usage.result(), "nope.yaml")
