"""Watching a run from a config: output.tensorboard, trainer.callbacks and trainer.metrics, per-class
accuracy in summary.json, bad input (unknown names, a missing extra, a callback that fails)."""

import copy
import json
import sys

import numpy as np
import pytest
import yaml

from layernet import metrics
from layernet.callbacks import LivePlot
from layernet.checkpoint import load_checkpoint
from layernet.cli import main
from layernet.trainer import run

from test_callbacks import read_events, scalars
from test_run_dir import CONFIG


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return copy.deepcopy(CONFIG)


def write(tmp_path, config, name="run.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def test_output_tensorboard_writes_event_files_under_the_run_directory(config):
    pytest.importorskip("tensorboardX")
    config["output"].update(tensorboard=True, histograms_every=1)
    run_dir = run(config)
    events = read_events(run_dir / "tensorboard")
    steps = metrics.read_csv(run_dir / "steps.csv")
    logged = scalars(events, "step/loss")
    assert [s for s, _ in logged] == [row["step"] for row in steps]
    np.testing.assert_allclose([v for _, v in logged], [row["loss"] for row in steps], rtol=1e-6)
    history = metrics.read_csv(run_dir / "history.csv")
    assert [v for _, v in scalars(events, "epoch/val_loss")] == pytest.approx([r["val_loss"] for r in history])
    text = [v for e in events for v in e.summary.value if v.tag.startswith("config")]
    assert b"tiny" in text[0].tensor.string_val[0]
    assert {"weights/1.W", "grads/1.W"} <= {v.tag for e in events for v in e.summary.value}


def test_callbacks_and_metrics_by_name_and_per_class_accuracy_in_the_summary(config):
    config["trainer"].update(metrics=["accuracy", "top3_accuracy"], callbacks=[{"type": "live_plot", "every": 1}])
    run_dir = run(config)
    assert (run_dir / "live.png").read_bytes()[:4] == b"\x89PNG"
    history = metrics.read_csv(run_dir / "history.csv")
    assert all(r["val_top3_accuracy"] >= r["val_acc"] for r in history)
    summary = json.loads((run_dir / "summary.json").read_text())
    matrix = np.array(summary["confusion_matrix"])
    assert matrix.shape == (10, 10) and summary["confusion_split"] == "test"
    assert np.trace(matrix) / matrix.sum() == pytest.approx(summary["test_acc"])
    per_class = summary["per_class_accuracy"]
    assert list(per_class) == [str(i) for i in range(10)]
    assert per_class["3"] == pytest.approx(matrix[3, 3] / matrix[3].sum())


@pytest.mark.parametrize("key, value, where, fragment", [
    ("callbacks", ["live_plt"], "trainer.callbacks[0]", "did you mean 'live_plot'"),
    ("callbacks", [{"type": "tensorbord"}], "trainer.callbacks[0].type", "did you mean 'tensorboard'"),
    ("callbacks", [{"type": "live_plot", "evry": 2}], "trainer.callbacks[0].evry", "did you mean 'every'"),
    ("callbacks", [{"type": "live_plot", "every": 0}], "trainer.callbacks[0].every", "every"),
    ("metrics", ["accuracy", "top5_acuracy"], "trainer.metrics[1]", "did you mean 'top5_accuracy'"),
])
def test_unknown_callback_or_metric_names_file_line_and_the_closest(config, tmp_path, capsys, key, value, where,
                                                                      fragment):
    config["trainer"][key] = value
    path = write(tmp_path, config)
    code, out, err = run_cli(capsys, "train", path)
    assert code == 2 and out == "" and len(err) == 1, err
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith(f"{key}:"))
    assert err[0].startswith(f"layernet train: error: {path}:") and where in err[0] and fragment in err[0]
    assert int(err[0].split(f"{path}:")[1].split(":")[0]) >= line
    assert not (tmp_path / "runs").exists()


def test_tensorboard_without_the_extra_is_one_line_naming_it(config, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    config["output"]["tensorboard"] = True
    code, out, err = run_cli(capsys, "train", write(tmp_path, config))
    assert code == 2 and len(err) == 1, err
    assert "output.tensorboard" in err[0] and "pip install 'layernet[tensorboard]'" in err[0]


def test_a_failing_callback_stops_the_run_with_one_line_exit_1_and_a_resumable_checkpoint(config, tmp_path, capsys,
                                                                                         monkeypatch):
    calls = {"n": 0}

    def draw(self):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("cannot draw")

    monkeypatch.setattr(LivePlot, "draw", draw)
    config["trainer"].update(epochs=3, callbacks=["live_plot"])
    code, out, err = run_cli(capsys, "train", write(tmp_path, config))
    assert code == 1 and out == "" and err[-1].startswith("layernet train: error: callback LivePlot failed in "
                                                          "on_epoch_end: OSError: cannot draw"), err
    run_dir = next((tmp_path / "runs" / "tiny").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "error" and "LivePlot" in summary["stop_reason"]
    assert load_checkpoint(run_dir / "checkpoints" / "last.npz").trainer["epoch"] == 1
    assert len(metrics.read_csv(run_dir / "history.csv")) == 1
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "train", "--resume", run_dir)
    assert code == 0 and len(metrics.read_csv(run_dir / "history.csv")) == 3


def test_sweep_trials_write_their_event_files_inside_the_sweep_directory(tmp_path, monkeypatch):
    pytest.importorskip("tensorboardX")
    from test_sweep import BASE, SWEEP, write_sweep

    from layernet.sweep import run_sweep

    monkeypatch.chdir(tmp_path)
    grid = SWEEP.replace("{loguniform: [1.0e-3, 1.0e-1]}", "[1.0e-3, 1.0e-2]").replace(
        "{type: random, trials: 4}", "{type: grid}").replace("{choice: [2, 4]}", "[2]")
    path = write_sweep(tmp_path, grid, BASE.replace("plots: false}", "plots: false, tensorboard: true}"))
    sweep_dir = run_sweep(path, ["trainer.epochs=1"], progress="quiet")
    event_dirs = sorted({p.parent for p in sweep_dir.rglob("events.out.tfevents.*")})
    assert len(event_dirs) == 2 and all(d.name == "tensorboard" and sweep_dir in d.parents for d in event_dirs)
    for directory in event_dirs:
        steps = metrics.read_csv(directory.parent / "steps.csv")
        assert [s for s, _ in scalars(read_events(directory), "step/loss")] == [r["step"] for r in steps]
