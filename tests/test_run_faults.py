"""Real signals against a training process: SIGINT and SIGKILL leave readable, consistent files, and
``run(..., resume=)`` finishes to the same result as an uninterrupted run."""

import copy
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from layernet import metrics
from layernet.checkpoint import load_checkpoint
from layernet.trainer import run

pytest.importorskip("layernet.config")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CONFIG = {
    "name": "faults",
    "seed": 3,
    "data": {"dataset": "digits", "val_size": 60, "normalize": "scale", "limit": 500},
    "model": {"layers": [{"type": "flatten"}, {"type": "affine", "out_features": 32}, {"type": "relu"},
                         {"type": "dropout", "p": 0.1}, {"type": "affine", "out_features": 10}]},
    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
    "lr_schedule": {"type": "step", "step_size": 1, "gamma": 0.8},
    # 12 epochs of 27 steps (a few ms each): steps.csv is flushed at epoch ends, so a signal sent
    # once 40 rows are seen lands epochs later on a busy machine; the run must still be going.
    "trainer": {"epochs": 12, "batch_size": 16, "verbose": "epoch"},
    "output": {"dir": "runs/{name}", "plots": False},
}
SCRIPT = "import sys; from layernet import run; run(sys.argv[1])"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(CONFIG))
    return tmp_path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, in this process."""
    config = copy.deepcopy(CONFIG)
    config["output"]["dir"] = str(tmp_path_factory.mktemp("reference") / "run")
    config["trainer"]["verbose"] = "quiet"
    return run(config)


def start(workdir):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, "run.yaml"], cwd=workdir,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_rows(process, path, rows, timeout=120):
    """Wait until ``path`` (a CSV) has ``rows`` complete rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and len(metrics.read_csv(path)) >= rows:
            return
        if process.poll() is not None:
            pytest.fail(f"training ended before {rows} rows of {path.name}: {process.stderr.read()}")
        time.sleep(0.02)
    pytest.fail(f"no {rows} rows in {path} after {timeout}s")


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "time_s"} for row in rows]


def assert_same_as_reference(run_dir, reference):
    assert without_time(metrics.read_csv(run_dir / "history.csv")) == \
        without_time(metrics.read_csv(reference / "history.csv"))
    assert metrics.read_csv(run_dir / "steps.csv") == metrics.read_csv(reference / "steps.csv")
    a, b = (load_checkpoint(d / "checkpoints" / "last.npz").model_state for d in (run_dir, reference))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def resume_quietly(run_dir):
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["trainer"]["verbose"] = "quiet"
    return run(config, resume=run_dir)


def test_sigint_then_resume(workdir, reference):
    process = start(workdir)
    run_dir = workdir / "runs" / "faults"
    wait_for_rows(process, run_dir / "steps.csv", 40)  # after epoch 2 (27 steps per epoch)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    assert process.returncode in (-signal.SIGINT, 130, 1), process.stderr.read()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.npz")
    assert ckpt.trainer["step"] == summary["last_checkpoint"]["step"] >= 40
    assert len(metrics.read_csv(run_dir / "history.csv")) == ckpt.trainer["epoch"] == len(ckpt.history)
    resume_quietly(run_dir)
    assert_same_as_reference(run_dir, reference)


@pytest.mark.parametrize("rows, delay", [(0, 0.0), (30, 0.05), (60, 0.0)])
def test_sigkill_leaves_consistent_files_and_resume_works(workdir, reference, rows, delay):
    process = start(workdir)
    run_dir = workdir / "runs" / "faults"
    if rows:
        wait_for_rows(process, run_dir / "steps.csv", rows)
    else:
        wait_for_rows(process, run_dir / "history.csv", 0)  # the run directory exists
    time.sleep(delay)
    process.kill()
    process.wait(timeout=60)
    last = run_dir / "checkpoints" / "last.npz"
    history = metrics.read_csv(run_dir / "history.csv")
    if not last.is_file():
        assert history == []
        with pytest.raises(ValueError, match="no checkpoints/last.npz"):
            run("run.yaml", resume=run_dir)
        return
    ckpt = load_checkpoint(last)
    # history.csv never runs ahead of the checkpoint; it may lag it by the row being written
    assert without_time(history) == without_time(ckpt.history.rows)[: len(history)]
    assert len(ckpt.history) - len(history) in (0, 1)
    resume_quietly(run_dir)
    assert_same_as_reference(run_dir, reference)
