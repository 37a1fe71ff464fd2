"""Faults during training, injected as they happen to users: Ctrl-C in the middle of an epoch,
kill -9 at random moments, a loss that becomes inf, a disk that fills up while checkpointing, a
run directory that already exists, and checkpoints that are truncated, foreign or not npz at all.

The goal of each: a clear message, the right exit code, and nothing already on disk lost; after
any interruption ``--resume`` ends bit for bit where the uninterrupted run ends (``reference_run``).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from layernet.checkpoint import load_checkpoint
from layernet.metrics import read_csv

from .cases import diverging_config, fault_config
from .conftest import (assert_same_arrays, assert_usage_error, checkpoint_arrays, cli_env, history_rows,
                       model_arrays, run_cli, run_main, start_cli, steps_text, write_config)

STEPS_PER_EPOCH, EPOCHS = 20, 2


def _wait_for_steps(proc, steps_csv: Path, count: int, timeout: float = 90.0) -> int:
    """Wait until steps.csv holds ``count`` rows (or the process ends); returns the rows seen."""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if steps_csv.is_file():
            seen = max(0, steps_csv.read_text().count("\n") - 1)
            if seen >= count:
                return seen
        time.sleep(0.005)
    return seen


def assert_same_as_reference(run_dir: Path, reference: Path):
    assert history_rows(run_dir) == history_rows(reference)
    assert steps_text(run_dir) == steps_text(reference)
    assert_same_arrays(model_arrays(run_dir / "checkpoints" / "last.npz"),
                       model_arrays(reference / "checkpoints" / "last.npz"), "last.npz")
    assert_same_arrays(model_arrays(run_dir / "checkpoints" / "best.npz"),
                       model_arrays(reference / "checkpoints" / "best.npz"), "best.npz")


def assert_consistent(run_dir: Path):
    """What a crash may leave: last.npz and history.csv readable and telling the same story.

    last.npz is written at the end of an epoch *before* its row is appended to history.csv, so
    history.csv holds the checkpoint's rows, or all but the last of them. Without last.npz (killed
    before the first checkpoint) history.csv holds no row. steps.csv never runs behind the
    checkpoint's step count. Returns the checkpoint (or None).
    """
    last = run_dir / "checkpoints" / "last.npz"
    csv_rows = read_csv(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else []
    if not last.is_file():
        assert csv_rows == [], "history.csv has rows but there is no checkpoint"
        return None
    ckpt = load_checkpoint(last)
    epoch = ckpt.trainer["epoch"]
    assert len(ckpt.history.rows) == epoch
    assert len(csv_rows) in (epoch - 1, epoch) if epoch else len(csv_rows) == 0, (len(csv_rows), epoch)
    for mine, theirs in zip(csv_rows, ckpt.history.rows):
        for key in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert mine[key] == theirs[key], (key, mine, theirs)
    steps = read_csv(run_dir / "steps.csv") if (run_dir / "steps.csv").is_file() else []
    assert len(steps) >= ckpt.trainer["step"] - STEPS_PER_EPOCH  # steps.csv is fsynced once per epoch
    for name, value in ckpt.model_state.items():
        assert np.all(np.isfinite(value)), name
    return ckpt


# --------------------------------------------------------------------------- Ctrl-C
def test_sigint_mid_epoch_writes_checkpoint_and_resume_equals_uninterrupted(tmp_path, reference_run):
    config = write_config(tmp_path / "fault.yaml", fault_config(tmp_path / "runs", **{"trainer.verbose": "epoch"}))
    run_dir = tmp_path / "runs" / "fault"
    proc = start_cli("train", config, cwd=tmp_path)
    seen = _wait_for_steps(proc, run_dir / "steps.csv", STEPS_PER_EPOCH + 3)
    assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.communicate()}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and "interrupted" in err and "--resume" in err, err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted", summary

    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.npz")
    assert ckpt.partial is not None, "the checkpoint should be taken mid-epoch, after the last finished step"
    assert STEPS_PER_EPOCH + 3 <= ckpt.trainer["step"] < EPOCHS * STEPS_PER_EPOCH, (seen, ckpt.trainer)
    steps = read_csv(run_dir / "steps.csv")
    assert [row["step"] for row in steps] == list(range(1, ckpt.trainer["step"] + 1))
    assert len(read_csv(run_dir / "history.csv")) == ckpt.trainer["epoch"] == 1

    resumed = run_cli("train", config, "--resume", run_dir, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert_same_as_reference(run_dir, reference_run)
    assert json.loads((run_dir / "summary.json").read_text())["resumed"] == 1


#: Put into a child's PYTHONPATH as sitecustomize.py: when the run starts its plots (training is
#: over), touch READY and wait, so the test's SIGINT lands after the last epoch, not before.
_PAUSE_BEFORE_PLOTS = """\
import pathlib, time
import layernet.plot as plotting
_save = plotting.save_run_plots
def save_run_plots(run_dir, *args, **kwargs):
    pathlib.Path({ready!r}).touch()
    time.sleep(3)
    return _save(run_dir, *args, **kwargs)
plotting.save_run_plots = save_run_plots
"""


def test_sigint_after_the_last_epoch_finishes_the_run_and_exits_0(tmp_path):
    """Ctrl-C once training is over (here while the plots are being drawn): one truth, the run is
    complete. Exit 0, summary completed, both plots, and the message says so."""
    hook, ready = tmp_path / "hook", tmp_path / "ready"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_PAUSE_BEFORE_PLOTS.format(ready=str(ready)))
    config = write_config(tmp_path / "fault.yaml", fault_config(tmp_path / "runs", **{
        "trainer.verbose": "epoch", "trainer.epochs": 1, "output.plots": True}))
    run_dir = tmp_path / "runs" / "fault"
    proc = start_cli("train", config, cwd=tmp_path, env=cli_env(PYTHONPATH=hook, MPLBACKEND="agg"))
    deadline = time.monotonic() + 120
    while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ready.exists(), f"the run never reached its plots: {proc.communicate()}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, (proc.returncode, err)
    assert out.strip() == str(run_dir) and "Traceback" not in err
    assert "interrupt: training has finished" in err and "its files are complete" in err, err
    assert err.strip().splitlines()[-1].startswith("test acc "), err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["test_acc"] is not None, summary
    assert (run_dir / "loss.png").is_file() and (run_dir / "accuracy.png").is_file()


# --------------------------------------------------------------------------- kill -9
KILLS = 8


def test_sigkill_at_random_moments_leaves_a_consistent_resumable_run(tmp_path, reference_run):
    """kill -9 after a random number of steps (and a random extra delay): whatever is left is
    consistent, and --resume (or a fresh start when no checkpoint exists) ends bit for bit equal
    to the uninterrupted run."""
    import layernet

    rng = np.random.default_rng(7)
    report = []
    for attempt in range(KILLS):
        root = tmp_path / f"kill{attempt}"
        root.mkdir()
        config = write_config(root / "fault.yaml", fault_config(root / "runs", **{"trainer.verbose": "quiet"}))
        run_dir = root / "runs" / "fault"
        target = int(rng.integers(0, EPOCHS * STEPS_PER_EPOCH + 1))
        proc = start_cli("train", config, cwd=root)
        _wait_for_steps(proc, run_dir / "steps.csv", target)
        time.sleep(float(rng.uniform(0, 0.05)))
        proc.kill()
        proc.communicate(timeout=60)
        leftovers = sorted(p.name for p in (run_dir / "checkpoints").iterdir()) if (run_dir / "checkpoints").is_dir() else []
        ckpt = assert_consistent(run_dir) if run_dir.is_dir() else None
        report.append((target, None if ckpt is None else ckpt.trainer["step"], leftovers))
        if ckpt is None:
            if run_dir.is_dir():  # no checkpoint yet: resume is refused clearly, a fresh run is the way
                capsys_free = run_cli("train", config, "--resume", run_dir, cwd=root)
                assert_usage_error(capsys_free, "last.npz")
            continue
        layernet.run(config, resume=run_dir, verbose="quiet")
        assert_same_as_reference(run_dir, reference_run)
    print("kills (target step, checkpoint step, files in checkpoints/):", report)
    assert any(step is not None for _, step, _ in report), report


# --------------------------------------------------------------------------- NaN / inf
def test_diverging_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    config = write_config(tmp_path / "diverge.yaml", diverging_config(tmp_path / "runs"))
    run_dir = tmp_path / "runs" / "diverge"
    proc = run_cli("train", config, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "step 16" in error_lines[0], proc.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "nan" and "step 16" in summary["stop_reason"], summary
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == 2 and ckpt.trainer["step"] == 12
    assert all(np.all(np.isfinite(v)) for v in ckpt.model_state.values())
    assert len(read_csv(run_dir / "history.csv")) == 2


# --------------------------------------------------------------------------- disk full while checkpointing
def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch, capsys):
    """os.replace of the second last.npz fails with ENOSPC: exit 1 with one line naming the file and
    the reason, and the first epoch's checkpoint still loads."""
    import layernet._io as io_module

    config = write_config(tmp_path / "fault.yaml", fault_config(tmp_path / "runs", **{"trainer.verbose": "quiet"}))
    run_dir = tmp_path / "runs" / "fault"
    real_replace = os.replace
    calls = {"last": 0}

    def replace(src, dst, *args, **kwargs):
        if str(dst).endswith("last.npz"):
            calls["last"] += 1
            if calls["last"] >= 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(io_module.os, "replace", replace)
    proc = run_main(["train", config], capsys)
    monkeypatch.setattr(io_module.os, "replace", real_replace)
    assert proc.returncode == 1, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "last.npz" in lines[0] and "No space left" in lines[0], proc.stderr
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == 1
    leftovers = [p.name for p in (run_dir / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [], leftovers
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] not in ("completed", "running"), summary


# --------------------------------------------------------------------------- run directories
def test_an_existing_run_directory_is_never_overwritten(tmp_path, monkeypatch, capsys):
    config = write_config(tmp_path / "fault.yaml",
                          fault_config(tmp_path / "runs", **{"trainer.verbose": "quiet", "trainer.epochs": 1}))
    monkeypatch.chdir(tmp_path)
    first = run_main(["train", config], capsys)
    assert first.returncode == 0, first.stderr
    run_dir = Path(first.stdout.strip().splitlines()[-1])
    before = {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    second = run_main(["train", config], capsys)
    assert second.returncode == 0, second.stderr
    other = Path(second.stdout.strip().splitlines()[-1])
    assert other != run_dir and other.is_dir()
    assert {p: p.read_bytes() for p in run_dir.rglob("*") if p.is_file()} == before


# --------------------------------------------------------------------------- bad checkpoints
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished one-epoch run (in-process) to break the checkpoints of."""
    import layernet

    root = tmp_path_factory.mktemp("finished")
    config = write_config(root / "fault.yaml", fault_config(root / "runs", **{"trainer.verbose": "quiet",
                                                                             "trainer.epochs": 1}))
    return config, layernet.run(config)


def _copy_run(run_dir: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(run_dir, target)
    return target


BROKEN_CHECKPOINTS = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 3]),
    "cut in the last bytes": lambda p: p.write_bytes(p.read_bytes()[:-10]),
    "empty": lambda p: p.write_bytes(b""),
    "not an npz (text)": lambda p: p.write_text("checkpoint\n"),
    "a single .npy array": lambda p: np.save(open(p, "wb"), np.zeros(3)),
    "an npz of something else": lambda p: np.savez(p, weights=np.zeros(3)),
    "a model file (Sequential.save)": lambda p: __import__("layernet.model", fromlist=["Sequential"]).Sequential.from_config(
        {"layers": [{"type": "affine", "in_features": 2, "out_features": 2}]}, rng=0).save(p),
}


@pytest.mark.parametrize("case", list(BROKEN_CHECKPOINTS))
@pytest.mark.parametrize("command", ["resume", "eval"])
def test_broken_checkpoints_are_refused_naming_the_file(case, command, finished_run, tmp_path, monkeypatch, capsys):
    config, run_dir = finished_run
    run_dir = _copy_run(run_dir, tmp_path)
    (run_dir / "checkpoints" / "best.npz").unlink()
    BROKEN_CHECKPOINTS[case](run_dir / "checkpoints" / "last.npz")
    monkeypatch.chdir(tmp_path)
    argv = ["train", config, "trainer.epochs=2", "--resume", run_dir] if command == "resume" else ["eval", run_dir]
    assert_usage_error(run_main(argv, capsys), "last.npz")


@pytest.mark.parametrize("change, parameter, shapes", [
    ({"model.layers.0.out_channels": 8}, "0.W", ["(4, 1, 3, 3)", "(8, 1, 3, 3)"]),
    ({"model.layers.0.kernel_size": 5, "model.layers.0.padding": 2}, "0.W", ["(4, 1, 3, 3)", "(4, 1, 5, 5)"]),
    ({"model.layers.3.kernel_size": 4}, "6.W", ["(64, 10)", "(16, 10)"]),
])
def test_checkpoint_from_another_architecture_names_the_parameter(change, parameter, shapes, finished_run, tmp_path,
                                                                  monkeypatch, capsys):
    config, run_dir = finished_run
    run_dir = _copy_run(run_dir, tmp_path)
    monkeypatch.chdir(tmp_path)
    overrides = [f"{k}={v}" for k, v in change.items()]
    # a CONFIG (or override) with another model is refused naming the key, before the checkpoint is read
    assert_usage_error(run_main(["train", config, *overrides, "trainer.epochs=2", "--resume", run_dir], capsys),
                       "--resume copy", overrides[0].split("=")[0].replace(".0.", "[0].").replace(".3.", "[3]."))
    # a run directory whose config.yaml was edited reaches the checkpoint, which names the parameter
    _edit_run_config(run_dir, overrides)
    assert_usage_error(run_main(["train", "--resume", run_dir, "trainer.epochs=2"], capsys),
                       "last.npz", parameter, *shapes)
    # nothing was changed by the refused resumes
    assert load_checkpoint(run_dir / "checkpoints" / "last.npz").trainer["epoch"] == 1


def _edit_run_config(run_dir: Path, overrides):
    import yaml

    from layernet.config import resolve

    edited = resolve(run_dir / "config.yaml", overrides)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))


def test_checkpoint_with_an_extra_layer_is_refused(finished_run, tmp_path, monkeypatch, capsys):
    config, run_dir = finished_run
    run_dir = _copy_run(run_dir, tmp_path)
    monkeypatch.chdir(tmp_path)
    _edit_run_config(run_dir, ["model.layers.5={type: affine, out_features: 10}"])
    proc = run_main(["train", "--resume", run_dir, "trainer.epochs=2"], capsys)
    assert_usage_error(proc, "last.npz")
