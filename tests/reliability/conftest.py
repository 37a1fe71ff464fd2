"""Shared helpers of the reliability suite: seeded generators, random layer stacks, and running the
real ``layernet`` command in a subprocess the way a user does.

The suite breaks layernet the way users do (bad configs and data, Ctrl-C, kill -9, NaN losses,
full disks) and checks that each ends in a clear message with nothing lost. See docs/reliability.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def layernet_command() -> list[str]:
    """The installed ``layernet`` console script beside this interpreter, else ``python -c main()``."""
    script = Path(sys.executable).with_name("layernet")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from layernet.cli import main; sys.exit(main())"]


def cli_env(**extra) -> dict:
    """A child environment: one Numba thread unless asked, no user data directory, no colours."""
    env = dict(os.environ)
    env.setdefault("NUMBA_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("LAYERNET_DATA", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(*args, cwd=None, env=None, timeout=120, **popen) -> subprocess.CompletedProcess:
    """Run ``layernet ARGS`` to completion; returns the CompletedProcess (text stdout/stderr)."""
    return subprocess.run(
        [*layernet_command(), *map(str, args)],
        cwd=cwd,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def start_cli(*args, cwd=None, env=None) -> subprocess.Popen:
    """Start ``layernet ARGS`` in the background (pipes for stdout/stderr)."""
    return subprocess.Popen(
        [*layernet_command(), *map(str, args)],
        cwd=cwd,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_usage_error(proc, *needles, code: int = 2):
    """The CLI's contract for a user mistake: exit ``code``, one line on stderr, no traceback,
    and every needle (file name, dotted field, layer ...) in that line (case-insensitive)."""
    err = proc.stderr
    detail = f"exit {proc.returncode}\n--- stderr ---\n{err}\n--- stdout ---\n{proc.stdout[-2000:]}"
    assert "Traceback" not in err and "Traceback" not in proc.stdout, detail
    assert proc.returncode == code, detail
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected exactly one line on stderr\n{detail}"
    for needle in needles:
        assert str(needle).lower() in lines[0].lower(), f"{needle!r} not in the message\n{detail}"
    return lines[0]


def run_main(argv, capsys):
    """``layernet.cli.main(argv)`` in-process, captured like ``run_cli``: an object with
    ``returncode``, ``stdout`` and ``stderr``. Any exception other than SystemExit escapes (a bug)."""
    from types import SimpleNamespace

    from layernet.cli import main

    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


# --------------------------------------------------------------------------- run directories
def history_rows(run_dir) -> list[dict]:
    """history.csv as rows of text cells, without the wall-time column (never reproducible)."""
    import csv

    with open(Path(run_dir) / "history.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("time_s", None)
    return rows


def steps_text(run_dir) -> str:
    return (Path(run_dir) / "steps.csv").read_text(encoding="utf-8")


def checkpoint_arrays(path) -> dict:
    """Every array of a checkpoint except wall-clock ones (``trainer/wall_time``, ``history/time_s``,
    ``partial/time_s``), read with allow_pickle=False."""
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files if "time" not in k}


def assert_same_arrays(a: dict, b: dict, what: str = "", keys=None):
    keys = sorted(a) if keys is None else keys
    assert sorted(a) == sorted(b), f"{what}: different entries {sorted(set(a) ^ set(b))}"
    for key in keys:
        assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, f"{what}: {key}"
        assert np.array_equal(a[key], b[key], equal_nan=a[key].dtype.kind == "f"), f"{what}: {key} differs"


def model_arrays(path) -> dict:
    return {k: v for k, v in checkpoint_arrays(path).items() if k.startswith(("model/", "optim/", "schedule/"))}


def write_config(path, config) -> Path:
    import yaml

    path = Path(path)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory):
    """The uninterrupted fault_config run, trained once in this process (quiet)."""
    import layernet

    from .cases import fault_config

    root = tmp_path_factory.mktemp("reference")
    config = write_config(root / "fault.yaml", fault_config(root / "runs", **{"trainer.verbose": "quiet"}))
    return layernet.run(config)
