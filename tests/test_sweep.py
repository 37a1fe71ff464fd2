"""layernet sweep: spaces, the sweep file's validation, the runner (fake and real trials), resume, CLI."""

from __future__ import annotations

import math
import textwrap

import pytest
import yaml

from layernet.config import ConfigError, load_yaml
from layernet.sweep import table
from layernet.sweep.local import LocalExecutor, probe
from layernet.sweep.runner import plan_sweep, run_sweep
from layernet.sweep.text import dry_run_lines
from layernet.sweep.space import Space, parse_dimension

BASE = """\
version: 1
name: tiny
seed: 0
data: {dataset: digits, val_size: 60, limit: 300, normalize: standard}
model:
  layers:
    - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
    - {type: relu}
    - {type: flatten}
    - {type: affine, out_features: 10}
optimizer: {type: adam, lr: 1.0e-3}
trainer: {epochs: 2, batch_size: 32, verbose: quiet}
output: {dir: "runs/{name}/{timestamp}", plots: false}
"""

SWEEP = """\
version: 1
base: base.yaml
name: tiny-sweep
seed: 0
metric: {name: val_acc, mode: max}
space:
  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}
  model.layers.0.out_channels: {choice: [2, 4]}
search: {type: random, trials: 4}
executor: {type: local, workers: 0}
output: {dir: "sweeps/{name}", plots: false}
"""


def write_sweep(tmp_path, text=SWEEP, base=BASE):
    (tmp_path / "base.yaml").write_text(base)
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def cli(argv):
    from layernet.cli import build_parser

    args = build_parser().parse_args(["sweep", *argv])
    return args.func(args)


def fake_trial(task):
    """Metric = -|log10(lr) + 2| (best near lr 1e-2); lr > 0.05 'diverges'."""
    lr = task["config"]["optimizer"]["lr"]
    if lr > 0.05:
        return {"trial": task["trial"], "status": "failed", "error": "TrainingDiverged: non-finite loss at step 3",
                "metric": math.nan, "test_acc": math.nan, "epochs": 1, "wall_time_s": 0.0,
                "run_dir": task["config"]["output"]["dir"], "history": [], "summary": {}}
    return {"trial": task["trial"], "status": "ok", "error": "", "metric": -abs(math.log10(lr) + 2),
            "test_acc": 0.5, "epochs": 2, "wall_time_s": 0.01, "run_dir": task["config"]["output"]["dir"],
            "history": [], "summary": {}}


# ----------------------------------------------------------------------------------------- spaces
def test_random_trials_fixed_by_seed_and_index():
    space = Space.from_dict({"a": {"loguniform": [1e-4, 1e-1]}, "b": {"int_uniform": [1, 3]}, "c": [True, False]})
    first = space.random_trials(seed=7, trials=5)
    assert first == space.random_trials(seed=7, trials=5)
    assert space.random_trials(seed=7, trials=8)[:5] == first  # more trials keep the first ones
    assert space.random_trials(seed=7, trials=5, start=3) == first[3:]
    assert first != space.random_trials(seed=8, trials=5)
    many = space.random_trials(seed=0, trials=300)
    assert all(1e-4 <= t["a"] < 1e-1 for t in many)
    assert {t["b"] for t in many} == {1, 2, 3} and {t["c"] for t in many} == {True, False}
    assert all(type(t["a"]) is float and type(t["b"]) is int for t in many)


def test_grid_last_key_fastest():
    space = Space.from_dict({"x": [1, 2], "y": {"choice": ["a", "b", "c"]}, "z": {"int_uniform": [0, 1]}})
    grid = space.grid_trials()
    assert len(grid) == space.grid_size() == 12
    assert grid[:3] == [{"x": 1, "y": "a", "z": 0}, {"x": 1, "y": "a", "z": 1}, {"x": 1, "y": "b", "z": 0}]
    with pytest.raises(ValueError, match="cannot be part of a grid"):
        Space.from_dict({"lr": {"uniform": [0.0, 1.0]}}).grid_trials()


@pytest.mark.parametrize("value", [1e-4, 0.1, 3, "relu", [3, 3], None, True, {"type": "relu"}, 1e300])
def test_format_value_round_trips_as_override(value):
    assert load_yaml(table.format_value(value)) == value


@pytest.mark.parametrize("spec, message", [
    ({"choice": []}, "empty"),
    ({"loguniform": [0.0, 1.0]}, "> 0"),
    ({"loguniform": [-1.0, 1.0]}, "> 0"),
    ({"uniform": [1.0, 1.0]}, "low < high"),
    ({"int_uniform": [1.5, 3]}, "two integers"),
    ({"logunifrom": [1.0, 2.0]}, "did you mean 'loguniform'"),
    ({"uniform": ["a", 1.0]}, "two numbers"),
])
def test_bad_dimensions(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_dimension("k", spec)


# --------------------------------------------------------------------------------- sweep files
@pytest.mark.parametrize("line, replacement, expected", [
    ("  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}", "  optimizer.lrr: {loguniform: [1.0e-3, 1.0e-1]}",
     r"sweep.yaml:7: space.optimizer.lrr: .*did you mean 'lr'"),
    ("  model.layers.0.out_channels: {choice: [2, 4]}", "  model.layers.0.out_channels: {choice: []}",
     r"sweep.yaml:8: space.model.layers.0.out_channels: choice: the list of values is empty"),
    ("  optimizer.lr: {loguniform: [1.0e-3, 1.0e-1]}", "  optimizer.lr: {loguniform: [0, 1.0e-1]}",
     r"sweep.yaml:7: space.optimizer.lr: loguniform: both bounds must be > 0"),
    ("search: {type: random, trials: 4}", "serach: {type: random, trials: 4}",
     r"sweep.yaml:9: serach: .*did you mean 'search'"),
    ("search: {type: random, trials: 4}", "search: {type: grid}",
     r"sweep.yaml:7: space.optimizer.lr: loguniform has no finite list of values"),
    ("executor: {type: local, workers: 0}", "executor: {type: dask}",
     r"sweep.yaml:10: executor.address: expected the scheduler's address"),
    ("  model.layers.0.out_channels: {choice: [2, 4]}", "  model.layers.9.out_channels: {choice: [2, 4]}",
     r"sweep.yaml:8: space.model.layers.9.out_channels: .*4 items"),
])
def test_bad_sweep_file_one_line_exit_2(tmp_path, capsys, line, replacement, expected):
    assert line in SWEEP
    path = write_sweep(tmp_path, SWEEP.replace(line, replacement))
    with pytest.raises(ConfigError, match=expected):
        plan_sweep(path)
    assert cli([str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "sweeps").exists()  # nothing ran, no directory


def test_every_trial_validated_before_the_first_runs(tmp_path):
    # out_channels 0 is refused by the layer: trial configs are checked before anything starts
    path = write_sweep(tmp_path, SWEEP.replace("{choice: [2, 4]}", "{choice: [0, 4]}"))
    calls = []
    with pytest.raises(ConfigError, match="out_channels"):
        run_sweep(path, train_fn=calls.append, progress="quiet")
    assert calls == [] and not (tmp_path / "sweeps").exists()


def test_dry_run_lists_overrides(tmp_path, capsys):
    path = write_sweep(tmp_path)
    assert cli([str(path), "--dry-run", "trainer.epochs=1", "sweep.search.trials=3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("t000  layernet train ")
    assert "trainer.epochs=1 optimizer.lr=" in lines[0] and "model.layers.0.out_channels=" in lines[0]
    assert lines == dry_run_lines(plan_sweep(path, ["trainer.epochs=1", "sweep.search.trials=3"]))


# ------------------------------------------------------------------------ runner, fake trials
def test_fake_sweep_records_failures_and_best(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, SWEEP.replace("trials: 4", "trials: 8"))
    sweep_dir = run_sweep(path, train_fn=fake_trial, progress="quiet")
    rows = table.read_table(sweep_dir / "trials.csv")
    assert [r["trial"] for r in rows] == [f"t{i:03d}" for i in range(8)]
    assert list(rows[0]) == ["trial", "optimizer.lr", "model.layers.0.out_channels", "val_acc", "test_acc",
                             "epochs", "wall_time_s", "status", "error", "run_dir"]
    statuses = {r["status"] for r in rows}
    assert statuses == {"ok", "failed"}  # seed 0 draws lr above and below 0.05
    assert all("non-finite" in r["error"] for r in rows if r["status"] == "failed")
    best = max((r for r in rows if r["status"] == "ok"), key=lambda r: float(r["val_acc"]))
    config = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert config["optimizer"]["lr"] == float(best["optimizer.lr"])
    assert config["name"] == "tiny" and config["output"]["dir"] == "runs/{name}/{timestamp}"
    resolved = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    assert resolved["base"] == str(tmp_path / "base.yaml") and resolved["space"]["optimizer.lr"]


def interrupted_after(finished: int):
    """A fake train_fn whose trials succeed until ``finished`` have run; the next one is a Ctrl-C."""
    seen = []

    def train(task):
        if len(seen) == finished:
            raise KeyboardInterrupt
        seen.append(task["trial"])
        return fake_trial(task)

    return train


def test_resume_runs_only_missing_trials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, SWEEP.replace("trials: 4", "trials: 6"))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(path, train_fn=interrupted_after(3), progress="quiet")
    sweep_dir = tmp_path / "sweeps" / "tiny-sweep"
    first = table.read_table(sweep_dir / "trials.csv")
    assert [r["status"] != "pending" for r in first] == [True] * 3 + [False] * 3
    rerun = []
    run_sweep(path, resume=sweep_dir, train_fn=lambda t: rerun.append(t["trial"]) or fake_trial(t), progress="quiet")
    assert rerun == ["t003", "t004", "t005"]
    after = table.read_table(sweep_dir / "trials.csv")
    assert after[:3] == first[:3] and all(r["status"] != "pending" for r in after)
    # a resume with other trial values is refused
    assert cli([str(path), "--resume", str(sweep_dir), "sweep.seed=1"]) == 2


# -------------------------------------------------------------------------- real trials, local
def test_local_workers_get_their_share_of_threads():
    executor = LocalExecutor(workers=2, threads=1)
    try:
        results = [r for _, r in executor.run(probe, [{"trial": "a"}, {"trial": "b"}])]
    finally:
        executor.close()
    for info in executor.info + results:
        assert info["numba_threads"] == 1 and info["preloaded"] == []
        assert set(info["environ"].values()) == {"1"}


def test_random_sweep_local_pool_and_best_trains(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, SWEEP.replace("workers: 0", "workers: 2").replace("plots: false", "plots: true"))
    sweep_dir = run_sweep(path, ["trainer.epochs=1"], progress="lines")
    rows = table.read_table(sweep_dir / "trials.csv")
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    for row in rows:
        assert 0 < float(row["val_acc"]) <= 1 and 0 < float(row["test_acc"]) <= 1 and row["epochs"] == "1"
        assert (sweep_dir / row["run_dir"] / "summary.json").is_file()
    assert (sweep_dir / "metric_vs_params.png").is_file() and (sweep_dir / "best_runs.png").is_file()
    from layernet.trainer import run

    run_dir = run(sweep_dir / "best.yaml", overrides=["output.dir=again"])
    assert (run_dir / "summary.json").is_file()


def test_grid_sweep_in_process(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    grid = SWEEP.replace("{loguniform: [1.0e-3, 1.0e-1]}", "[1.0e-3, 1.0e-2]").replace(
        "{type: random, trials: 4}", "{type: grid}")
    path = write_sweep(tmp_path, grid)
    assert cli([str(path), "trainer.epochs=1", "--progress", "lines"]) == 0
    out = capsys.readouterr().out
    assert out.count("trial t00") == 4 and "best t00" in out
    rows = table.read_table(tmp_path / "sweeps" / "tiny-sweep" / "trials.csv")
    assert [(r["optimizer.lr"], r["model.layers.0.out_channels"]) for r in rows] == [
        ("0.001", "2"), ("0.001", "4"), ("0.01", "2"), ("0.01", "4")]
    assert all(r["status"] == "ok" for r in rows)


def test_trial_run_elsewhere_is_copied_into_the_sweep_dir(tmp_path, monkeypatch):
    """A Dask worker without a shared file system: config, history and summary come back in the result."""
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, SWEEP.replace("trials: 4", "trials: 2"))
    row = {"epoch": 1, "train_loss": 1.5, "train_acc": 0.5, "val_loss": 1.0, "val_acc": 0.75, "lr": 0.01, "time_s": 0.1}

    def elsewhere(task):
        return {**fake_trial(task), "status": "ok", "error": "", "metric": 0.75, "run_dir": "/elsewhere/runs/" + task["trial"],
                "history": [row], "summary": {"status": "completed", "test_acc": 0.7}}

    sweep_dir = run_sweep(path, train_fn=elsewhere, progress="quiet")
    run_dir = sweep_dir / "runs" / "t001"
    from layernet.metrics import read_csv

    assert read_csv(run_dir / "history.csv")[0]["val_acc"] == 0.75
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["name"] == "tiny-sweep-t001"
    assert table.read_table(sweep_dir / "trials.csv")[1]["run_dir"] == "runs/t001"
