"""run(config) and its run directory: files and columns, summary, resume, interrupts, NaN, determinism."""

import copy
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

from layernet import metrics
from layernet.checkpoint import load_checkpoint
from layernet.layers.affine import Affine
from layernet.trainer import TrainingDiverged, evaluate_run, run

CONFIG = {
    "version": 1,
    "name": "tiny",
    "seed": 0,
    "data": {"dataset": "digits", "root": None, "download": False, "val_size": 60, "normalize": "scale",
             "limit": 250, "path": None, "classes": None, "points_per_class": None, "noise": None},
    "model": {"layers": [{"type": "flatten"}, {"type": "affine", "out_features": 16}, {"type": "relu"},
                         {"type": "dropout", "p": 0.1}, {"type": "affine", "out_features": 10}],
              "loss": "softmax_cross_entropy"},
    "optimizer": {"type": "adam", "lr": 0.01, "weight_decay": 0.0},
    "lr_schedule": {"type": "step", "step_size": 1, "gamma": 0.7},
    "trainer": {"epochs": 2, "batch_size": 32, "early_stopping": None, "verbose": "quiet"},
    "checkpoint": {"every_epochs": 1, "keep_best": True, "monitor": "val_acc"},
    "output": {"dir": "runs/{name}/{timestamp}", "plots": False},
}
SUMMARY_KEYS = {"name", "status", "stopped_early", "stop_reason", "epochs_run", "epochs", "steps", "monitor",
                "best_epoch", "best_value", "best_val_loss", "best_val_acc", "final", "test_loss", "test_acc",
                "test_checkpoint", "last_checkpoint", "wall_time_s", "resumed", "versions"}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pytest.importorskip("layernet.config")
    return copy.deepcopy(CONFIG)


def with_(config, **dotted):
    config = copy.deepcopy(config)
    for key, value in dotted.items():
        *parents, last = key.split("__")
        node = config
        for part in parents:
            node = node[part]
        node[last] = value
    return config


def history_without_time(run_dir):
    return [{k: v for k, v in row.items() if k != "time_s"} for row in metrics.read_csv(run_dir / "history.csv")]


def assert_same_runs(a, b):
    assert history_without_time(a) == history_without_time(b)
    assert metrics.read_csv(a / "steps.csv") == metrics.read_csv(b / "steps.csv")
    ca, cb = (load_checkpoint(d / "checkpoints" / "last.npz") for d in (a, b))
    for name in ca.model_state:
        np.testing.assert_array_equal(ca.model_state[name], cb.model_state[name], err_msg=name)
    for name in ca.optimizer_state:
        np.testing.assert_array_equal(ca.optimizer_state[name], cb.optimizer_state[name], err_msg=name)


def read_summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def fault_at_step(monkeypatch, k, action):
    """Make the first Affine's training forward do ``action`` at training step ``k``."""
    original, calls = Affine.forward, {}

    def forward(self, x, training=False):
        out = original(self, x, training)
        if training and self.in_features == 64:
            calls["n"] = calls.get("n", 0) + 1
            if calls["n"] == k:
                return action(out)
        return out

    monkeypatch.setattr(Affine, "forward", forward)


# ---------------------------------------------------------------------- the directory
def test_run_writes_the_run_directory(config, tmp_path):
    run_dir = run(config)
    assert run_dir.parent == tmp_path / "runs" / "tiny" and run_dir.is_dir()
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.yaml", "history.csv", "steps.csv", "summary.json", "checkpoints"} <= names
    assert {p.name for p in (run_dir / "checkpoints").iterdir()} == {"last.npz", "best.npz"}
    lines = (run_dir / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,train_acc,val_loss,val_acc,lr,time_s" and len(lines) == 3
    assert (run_dir / "steps.csv").read_text().splitlines()[0] == "step,epoch,loss,lr"
    assert len(metrics.read_csv(run_dir / "steps.csv")) == 2 * 6  # 190 examples in batches of 32
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"] == config["model"] and saved["seed"] == 0
    summary = read_summary(run_dir)
    assert SUMMARY_KEYS <= set(summary)
    assert summary["status"] == "completed" and summary["stopped_early"] is False
    assert summary["epochs_run"] == 2 and summary["steps"] == 12 and summary["resumed"] == 0
    history = metrics.read_csv(run_dir / "history.csv")
    assert summary["best_value"] == max(r["val_acc"] for r in history)
    assert summary["test_checkpoint"] == "best" and 0 <= summary["test_acc"] <= 1
    assert set(summary["versions"]) >= {"layernet", "numpy", "numba"}


def test_evaluate_run_scores_the_best_checkpoint(config):
    run_dir = run(config)
    summary = read_summary(run_dir)
    result = evaluate_run(run_dir)
    assert result["checkpoint"] == "best" and result["num_examples"] == 300
    assert result["loss"] == summary["test_loss"] and result["acc"] == summary["test_acc"]
    assert evaluate_run(run_dir, split="val")["num_examples"] == 60
    with pytest.raises(ValueError, match="split"):
        evaluate_run(run_dir, split="dev")


def test_an_existing_run_directory_is_never_reused(config, tmp_path):
    config = with_(config, output__dir="runs/fixed")
    first, second = run(config), run(config)
    assert first == tmp_path / "runs" / "fixed" and second == tmp_path / "runs" / "fixed-2"


def test_unusable_output_dir_is_a_clear_error(config, tmp_path):
    (tmp_path / "afile").write_text("")
    with pytest.raises(ValueError, match="output.dir: cannot create run directory"):
        run(with_(config, output__dir="afile/sub/{name}"))


def test_plots_are_written_when_asked(config):
    pytest.importorskip("matplotlib")
    run_dir = run(with_(config, output__plots=True, trainer__epochs=1))
    assert (run_dir / "loss.png").is_file()


# ---------------------------------------------------------------------- resume and stops
def test_resume_equals_uninterrupted(config, tmp_path):
    full = run(with_(config, trainer__epochs=4, lr_schedule={"type": "constant"}))
    part = run(with_(config, trainer__epochs=2, lr_schedule={"type": "constant"}))
    resumed = run(with_(config, trainer__epochs=4, lr_schedule={"type": "constant"}), resume=part)
    assert resumed == part.resolve()
    assert_same_runs(full, part)
    summary = read_summary(part)
    assert summary["resumed"] == 1 and summary["epochs_run"] == 4
    assert summary["test_acc"] == read_summary(full)["test_acc"]


def test_ctrl_c_mid_epoch_then_resume(config, monkeypatch):
    full = run(with_(config, trainer__epochs=3))

    def sigint(out):
        os.kill(os.getpid(), signal.SIGINT)
        return out

    fault_at_step(monkeypatch, 9, sigint)  # step 3 of epoch 2
    with pytest.raises(KeyboardInterrupt):
        run(with_(config, trainer__epochs=3))
    monkeypatch.undo()
    run_dir = next(p for p in full.parent.iterdir() if p != full)
    summary = read_summary(run_dir)
    assert summary["status"] == "interrupted" and summary["last_checkpoint"] == {"epoch": 1, "step": 9}
    assert len(metrics.read_csv(run_dir / "history.csv")) == 1
    run(None, resume=run_dir)  # the config comes from the run directory
    assert_same_runs(full, run_dir)
    assert read_summary(run_dir)["status"] == "completed"


def test_resuming_a_finished_cosine_run_with_more_epochs_continues_its_schedule(config):
    cosine = with_(config, lr_schedule={"type": "cosine"}, trainer__epochs=4)
    run_dir = run(cosine)
    run(with_(cosine, trainer__epochs=6), resume=run_dir)
    lrs = [row["lr"] for row in metrics.read_csv(run_dir / "history.csv")]
    assert len(lrs) == 6 and lrs[0] == 0.01
    assert all(0 < b < a for a, b in zip(lrs, lrs[1:])), lrs  # no epoch at lr 0, no jump back up
    assert read_summary(run_dir)["status"] == "completed" and read_summary(run_dir)["epochs"] == 6


def test_a_stretched_schedule_resumes_bit_for_bit_after_ctrl_c(config, monkeypatch):
    cosine = with_(config, lr_schedule={"type": "cosine"}, trainer__epochs=2)
    straight, interrupted = run(cosine), run(cosine)
    run(with_(cosine, trainer__epochs=4), resume=straight)

    def sigint(out):
        os.kill(os.getpid(), signal.SIGINT)
        return out

    fault_at_step(monkeypatch, 3, sigint)  # step 3 of epoch 3, the first stretched epoch
    with pytest.raises(KeyboardInterrupt):
        run(with_(cosine, trainer__epochs=4), resume=interrupted)
    monkeypatch.undo()
    assert read_summary(interrupted)["status"] == "interrupted"
    run(None, resume=interrupted)  # the run directory's config has 4 epochs now
    assert_same_runs(straight, interrupted)


def test_nan_stops_with_the_step_and_keeps_last_good_checkpoint(config, monkeypatch, tmp_path):
    fault_at_step(monkeypatch, 8, lambda out: out * np.nan)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 8 \(epoch 2\)") as info:
        run(config)
    assert "\n" not in str(info.value)
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    summary = read_summary(run_dir)
    assert summary["status"] == "nan" and "step 8" in summary["stop_reason"]
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == 1 and all(np.isfinite(v).all() for v in ckpt.model_state.values())


def test_early_stopping_is_in_the_summary(config):
    es = {"monitor": "val_loss", "patience": 1, "mode": "auto", "min_delta": 10.0}
    summary = read_summary(run(with_(config, trainer__epochs=5, trainer__early_stopping=es)))
    assert summary["status"] == "early_stopping" and summary["stopped_early"] is True
    assert summary["epochs_run"] == 2


def test_resume_with_another_model_names_the_parameter(config):
    run_dir = run(with_(config, trainer__epochs=1))
    wider = copy.deepcopy(config)
    wider["model"]["layers"][1]["out_features"] = 24
    with pytest.raises(ValueError, match=r"changes model\.layers\[1\]\.out_features from 16 to 24"):
        run(wider, resume=run_dir)
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    stored["model"]["layers"][1]["out_features"] = 24  # an edited run directory: the checkpoint refuses it
    (run_dir / "config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    with pytest.raises(ValueError, match=r"1\.W.*\(64, 24\).*\(64, 16\)"):
        run(None, resume=run_dir)


def test_resume_refuses_a_config_that_differs_in_more_than_epochs_verbosity_and_output(config, tmp_path):
    run_dir = run(with_(config, trainer__epochs=1))
    before = (run_dir / "checkpoints" / "last.npz").read_bytes()
    for change, message in [
        (dict(optimizer__lr=0.1), "the given config changes optimizer.lr from 0.01 to 0.1"),
        (dict(seed=3), "changes seed from 0 to 3"),
        (dict(trainer__batch_size=16), "changes trainer.batch_size from 32 to 16"),
        (dict(lr_schedule={"type": "constant"}), "changes lr_schedule.type from 'step' to 'constant'"),
    ]:
        with pytest.raises(ValueError) as info:
            run(with_(config, trainer__epochs=2, **change), resume=run_dir)
        assert message in str(info.value) and "only trainer.epochs" in str(info.value), str(info.value)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match=r"override 'optimizer.lr=0.5' changes optimizer.lr from 0.01 to 0.5"):
        run(None, resume=run_dir, overrides=["optimizer.lr=0.5"])
    assert (run_dir / "checkpoints" / "last.npz").read_bytes() == before
    safe = with_(config, trainer__epochs=2, trainer__verbose="epoch", output__plots=True, output__dir="elsewhere")
    assert run(safe, resume=run_dir) == run_dir.resolve()
    assert read_summary(run_dir)["epochs_run"] == 2


def test_resume_needs_a_run_directory(config, tmp_path):
    with pytest.raises(ValueError, match="no checkpoints/last.npz"):
        run(config, resume=tmp_path)


# ---------------------------------------------------------------------- determinism across processes
def test_same_config_same_result_in_two_processes(config, tmp_path):
    script = textwrap.dedent("""
        import json, sys
        from layernet.trainer import run
        config = json.loads(sys.argv[1])
        print(run(config))
    """)
    dirs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script, json.dumps(with_(config, output__dir="runs/p"))],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300, check=True)
        dirs.append(tmp_path / out.stdout.strip().splitlines()[-1])
    assert dirs[0] != dirs[1]
    assert_same_runs(*dirs)


def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(config, monkeypatch, tmp_path):
    import layernet._io
    from layernet.trainer import CheckpointError

    replace, calls = os.replace, {"npz": 0}

    def flaky_replace(src, dst):
        if str(dst).endswith("last.npz"):
            calls["npz"] += 1
            if calls["npz"] == 2:  # epoch 2's checkpoint
                raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr(layernet._io.os, "replace", flaky_replace)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is kept"):
        run(config)
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    assert read_summary(run_dir)["status"] == "error"
    assert load_checkpoint(run_dir / "checkpoints" / "last.npz").trainer["epoch"] == 1
    assert not list((run_dir / "checkpoints").glob(".*.tmp"))  # no temporary file left behind


def test_layernet_run_is_the_function():
    import layernet

    assert layernet.run is run and callable(layernet.Trainer)
