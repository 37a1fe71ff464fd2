"""layernet sweep with search.type: optuna (TPE): distributions, the adaptive loop, resume, dry run, errors."""

from __future__ import annotations

import importlib.util
import math
import statistics

import optuna
import pytest
import yaml

from layernet.config import ConfigError
from layernet.sweep import table
from layernet.sweep.optuna_search import OptunaSearch, to_distributions, to_params, to_values
from layernet.sweep.runner import plan_sweep, run_sweep
from layernet.sweep.space import Space

from test_sweep import SWEEP, cli, fake_trial, interrupted_after, write_sweep

OPTUNA_SWEEP = SWEEP.replace("{type: random, trials: 4}", "{type: optuna, trials: 4}")


class BatchExecutor:
    """Runs trials in this process, ``parallelism`` at a time, returning each batch in reverse order."""

    def __init__(self, parallelism: int):
        self.parallelism = parallelism
        self.batches = []

    def describe(self) -> str:
        return f"test executor, {self.parallelism} at a time"

    def run(self, fn, tasks):
        self.batches.append([task["trial"] for task in tasks])
        results = [(task, fn(task)) for task in tasks]
        yield from reversed(results)  # trials finish out of order

    def close(self, cancel: bool = False) -> None:
        pass


def sweep_values(sweep_dir) -> list[tuple]:
    return [(r["trial"], r["optimizer.lr"], r["model.layers.0.out_channels"])
            for r in table.read_table(sweep_dir / "trials.csv")]


# ---------------------------------------------------------------------------------- distributions
@pytest.mark.parametrize("entry, expected, value", [
    ({"choice": ["relu", "tanh"]}, optuna.distributions.CategoricalDistribution([0, 1]), "tanh"),
    ([[3, 3], {"type": "relu"}, None], optuna.distributions.CategoricalDistribution([0, 1, 2]), {"type": "relu"}),
    ({"uniform": [0.0, 0.5]}, optuna.distributions.FloatDistribution(0.0, 0.5), 0.25),
    ({"loguniform": [1.0e-4, 1.0e-1]}, optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True), 1e-3),
    ({"int_uniform": [1, 5]}, optuna.distributions.IntDistribution(1, 5), 5),
])
def test_each_dimension_maps_to_its_distribution(entry, expected, value):
    space = Space.from_dict({"k": entry})
    assert to_distributions(space) == {"k": expected}
    params = to_params(space, {"k": value})
    assert to_values(space, params) == {"k": value}
    assert type(to_values(space, params)["k"]) is type(value)


def test_asked_values_have_random_search_types():
    space = Space.from_dict({"lr": {"loguniform": [1e-4, 1e-1]}, "p": {"uniform": [0.0, 0.5]},
                             "n": {"int_uniform": [1, 3]}, "k": [[3, 3], [5, 5]], "act": ["relu", "tanh"]})
    search = OptunaSearch(space, seed=0, mode="max", metric="val_acc")
    for _ in range(20):
        trial, values = search.ask()
        random_values = space.random_trials(0, 1)[0]
        assert {k: type(v) for k, v in values.items()} == {k: type(v) for k, v in random_values.items()}
        assert 1e-4 <= values["lr"] <= 1e-1 and values["k"] in ([3, 3], [5, 5]) and values["n"] in (1, 2, 3)
        assert all(table.parse_value(table.format_value(v)) == v for v in values.values())
        search.tell(trial, {"status": "ok", "val_acc": str(values["p"])})


def test_value_outside_the_space_is_named():
    space = Space.from_dict({"k": ["relu", "tanh"], "lr": {"uniform": [0.0, 1.0]}})
    with pytest.raises(ValueError, match="space.k: expected one of relu, tanh, found gelu"):
        to_params(space, {"k": "gelu", "lr": 0.5})
    with pytest.raises(ValueError, match=r"space.lr: expected a number in \[0.0, 1.0\], found 2.0"):
        to_params(space, {"k": "relu", "lr": 2.0})


# --------------------------------------------------------------------------------- the adaptive loop
def test_batches_of_parallelism_and_reproducible(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("trials: 4", "trials: 14"))
    runs = {}
    for name, workers, seed in [("a", 3, 0), ("b", 3, 0), ("d", 3, 1)]:
        executor = BatchExecutor(workers)
        sweep_dir = run_sweep(path, [f"sweep.name={name}", f"sweep.seed={seed}"], train_fn=fake_trial,
                              executor=executor, progress="quiet")
        runs[name] = sweep_values(sweep_dir)
        if name == "a":
            assert executor.batches[0] == ["t000", "t001", "t002"] and [len(b) for b in executor.batches] == [3] * 4 + [2]
            rows = table.read_table(sweep_dir / "trials.csv")
            assert [r["trial"] for r in rows] == [f"t{i:03d}" for i in range(14)]
            assert all(r["status"] in table.FINISHED for r in rows) and (sweep_dir / "best.yaml").is_file()
    assert runs["a"] == runs["b"]  # same seed, same workers: same trials
    assert runs["a"] != runs["d"]  # another seed


@pytest.mark.parametrize("mode", ["max", "min"])
def test_tpe_follows_the_metric_direction(tmp_path, monkeypatch, mode):
    """The metric peaks at lr = 1e-2: after TPE's 10 random trials, max moves towards it, min away."""
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("trials: 4", "trials: 40").replace("mode: max", f"mode: {mode}")
                       .replace("{loguniform: [1.0e-3, 1.0e-1]}", "{loguniform: [1.0e-5, 1.0e-1]}"))
    never_failing = {**fake_trial({"trial": "t000", "config": {"optimizer": {"lr": 0.01}, "output": {"dir": "."}}})}

    def peaked(task):
        return {**never_failing, "trial": task["trial"], "metric": -abs(math.log10(task["config"]["optimizer"]["lr"]) + 2)}

    sweep_dir = run_sweep(path, train_fn=peaked, progress="quiet")
    rows = table.read_table(sweep_dir / "trials.csv")
    distance = [abs(math.log10(float(r["optimizer.lr"])) + 2) for r in rows]
    startup, adapted = statistics.median(distance[:10]), statistics.median(distance[20:])
    assert adapted < startup / 2 if mode == "max" else adapted > startup * 1.5


def test_optuna_sweep_on_digits_local_pool(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("workers: 0", "workers: 2").replace("plots: false", "plots: true"))
    sweep_dir = run_sweep(path, ["trainer.epochs=1"], progress="lines")
    rows = table.read_table(sweep_dir / "trials.csv")
    assert [r["trial"] for r in rows] == ["t000", "t001", "t002", "t003"]
    for row in rows:
        assert row["status"] == "ok" and row["epochs"] == "1" and 0 < float(row["val_acc"]) <= 1
        assert 1e-3 <= float(row["optimizer.lr"]) <= 1e-1 and row["model.layers.0.out_channels"] in ("2", "4")
        config = yaml.safe_load((sweep_dir / row["run_dir"] / "config.yaml").read_text())
        assert config["optimizer"]["lr"] == float(row["optimizer.lr"])
    best = table.best_row(rows, "val_acc", "max")
    config = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert config["optimizer"]["lr"] == float(best["optimizer.lr"]) and config["name"] == "tiny"
    assert (sweep_dir / "metric_vs_params.png").is_file() and (sweep_dir / "best_runs.png").is_file()


def test_failing_and_invalid_trials_are_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    # sgd takes no beta1: each key is valid alone, the pair is not (found only when asked)
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("trials: 4", "trials: 12").replace(
        "  model.layers.0.out_channels: {choice: [2, 4]}",
        "  optimizer.type: [adam, sgd]\n  optimizer.beta1: {uniform: [0.8, 0.95]}"))
    ran = []
    sweep_dir = run_sweep(path, train_fn=lambda task: ran.append(task["trial"]) or fake_trial(task), progress="quiet")
    rows = table.read_table(sweep_dir / "trials.csv")
    assert all(r["status"] in table.FINISHED for r in rows) and len(rows) == 12
    invalid = [r for r in rows if r["optimizer.type"] == "sgd"]
    diverged = [r for r in rows if r["optimizer.type"] == "adam" and float(r["optimizer.lr"]) > 0.05]
    assert invalid and diverged and any(r["status"] == "ok" for r in rows)
    assert all(r["status"] == "failed" and "unknown key 'beta1'" in r["error"] for r in invalid)
    assert all(r["status"] == "failed" and "non-finite" in r["error"] for r in diverged)
    assert sorted(ran) == sorted(r["trial"] for r in rows if r not in invalid)  # invalid ones never ran
    best = yaml.safe_load((sweep_dir / "best.yaml").read_text())
    assert best["optimizer"]["type"] == "adam" and best["optimizer"]["lr"] <= 0.05


def test_resume_replays_finished_trials_and_asks_only_the_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("trials: 4", "trials: 6"))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(path, train_fn=interrupted_after(3), progress="quiet")
    sweep_dir = tmp_path / "sweeps" / "tiny-sweep"
    first = table.read_table(sweep_dir / "trials.csv")
    assert [r["status"] in table.FINISHED for r in first] == [True] * 3 + [False] * 3
    assert first[3]["optimizer.lr"] and not first[4]["optimizer.lr"]  # t003 was asked, t004 not yet
    stale = sweep_dir / "runs" / "t003" / "checkpoints"
    stale.mkdir(parents=True)  # what an interrupted t003 leaves: a checkpoint trained with its old values

    replayed = []
    real_init = OptunaSearch.__init__

    def spy(self, space, seed, mode, metric, finished=()):
        replayed.extend(row["trial"] for _, row in finished)
        real_init(self, space, seed, mode, metric, finished)

    monkeypatch.setattr(OptunaSearch, "__init__", spy)
    rerun = []
    run_sweep(path, resume=sweep_dir, train_fn=lambda t: rerun.append(t["trial"]) or fake_trial(t), progress="quiet")
    assert replayed == ["t000", "t001", "t002"] and rerun == ["t003", "t004", "t005"]
    after = table.read_table(sweep_dir / "trials.csv")
    assert after[:3] == first[:3] and all(r["status"] in table.FINISHED for r in after)
    assert not stale.exists()
    # the resumed study does not propose the first trials' values again
    assert {r["optimizer.lr"] for r in after[3:]}.isdisjoint(r["optimizer.lr"] for r in after[:3])
    # a resume with another seed or space is refused
    assert cli([str(path), "--resume", str(sweep_dir), "sweep.seed=1"]) == 2
    assert cli([str(path), "--resume", str(sweep_dir), "sweep.space.optimizer.lr=[0.01]"]) == 2


# ---------------------------------------------------------------------------- dry run, missing optuna
def test_dry_run_describes_the_adaptive_search(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("workers: 0", "workers: 3"))
    assert cli([str(path), "--dry-run", "trainer.epochs=1", "sweep.search.trials=7"]) == 0
    out = capsys.readouterr().out
    assert "optuna search (TPE): 7 trials, chosen adaptively from the results of earlier trials" in out
    assert "trials asked 3 at a time" in out and "t000" not in out
    assert "optimizer.lr                 loguniform [0.001, 0.1]" in out
    assert "model.layers.0.out_channels  choice [2, 4]" in out
    assert "trainer.epochs=1 optimizer.lr=<value> model.layers.0.out_channels=<value>" in out
    assert not (tmp_path / "sweeps").exists()


def test_every_choice_and_bound_is_checked_before_the_first_trial(tmp_path):
    path = write_sweep(tmp_path, OPTUNA_SWEEP.replace("{choice: [2, 4]}", "{choice: [4, 0]}"))
    calls = []
    with pytest.raises(ConfigError, match=r"sweep.yaml:8: space.model.layers.0.out_channels: .*out_channels=0"):
        run_sweep(path, train_fn=calls.append, progress="quiet")
    assert calls == [] and not (tmp_path / "sweeps").exists()


def test_missing_optuna_is_one_line_naming_the_field(tmp_path, monkeypatch, capsys):
    path = write_sweep(tmp_path, OPTUNA_SWEEP)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optuna" else real_find_spec(name, *a))
    with pytest.raises(ConfigError, match=r"sweep.yaml:9: search.type: expected the optuna package .*"
                                          r"pip install 'layernet\[optuna\]'"):
        plan_sweep(path)
    assert cli([str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert plan_sweep(write_sweep(tmp_path, SWEEP)).spec.search.type == "random"  # other searches unaffected
