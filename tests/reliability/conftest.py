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
