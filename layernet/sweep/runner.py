"""The sweep loop: plan the trials, validate them all, run them on an executor, record as they finish.

    run_dir = run_sweep("configs/sweep_quickstart.yaml", ["trainer.epochs=2"])

Order of work (``plan_sweep``): read and validate the sweep file (``spec.py``); check that every
swept key exists in the base config, one override per key, so an unknown key is named with its
line in the sweep file; resolve and validate *every* trial's full config (base + the file's and
the command line's overrides + the trial's values); only then create (or, with ``resume``,
reopen) the sweep directory and start the executor.

The sweep directory::

    sweep.yaml      the resolved sweep file (absolute base, every override): rerun or resume with it
    trials.csv      one row per trial (see ``table.py``), rewritten atomically as trials finish
    best.yaml       the best trial's full config, ready for ``layernet train best.yaml``
    runs/t000/ ...  each trial an ordinary run directory
    metric_vs_params.png, best_runs.png   (see ``plots.py``)

Trial ``i`` is named ``<sweep name>-t<iii>`` and trains into ``runs/t<iii>``. With ``resume``
(an existing sweep directory) the trials are regenerated from the same file and seed, checked
against ``trials.csv``, and only the unfinished ones run. When a trial's run directory is not on
this machine (a Dask worker elsewhere, no shared file system) its ``config.yaml``,
``history.csv`` and ``summary.json`` are written here from the returned result (checkpoints
stay on the worker).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .._io import atomic_write
from ..config.errors import ConfigError
from . import table
from .progress import SweepProgress
from .spec import SweepSpec, load_sweep
from .trial import run_trial


class SweepError(ValueError):
    """The sweep cannot start (a bad resume directory, an unreachable scheduler): one line."""


@dataclass
class Plan:
    """A validated sweep: the spec, the base overrides and every trial's values and config."""

    spec: SweepSpec
    base_overrides: list
    values: list                      # [{dotted key: value}, ...], trial i at index i
    configs: list                     # resolved run configs (output.dir set when the dir is known)
    base_config: dict = field(default_factory=dict)

    def overrides(self, index: int) -> list[str]:
        return [*self.base_overrides, *(f"{k}={table.format_value(v)}" for k, v in self.values[index].items())]


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def plan_sweep(sweep_file, overrides=()) -> Plan:
    """Load the sweep file and validate the base config, every swept key and every trial (ConfigError)."""
    from ..config import resolve

    spec, base_overrides, locator = load_sweep(sweep_file, overrides)
    if spec.search.type == "optuna":
        raise ConfigError([f"{locator.where(('search', 'type'))}: search.type: optuna is not supported by this "
                           "version of layernet sweep yet; use random or grid"])
    base = resolve(spec.base, base_overrides)
    values = spec.trial_values()
    problems = []
    for key in spec.space:  # one key at a time, so the message names the key and its line
        try:
            resolve(base, [f"{key}={table.format_value(values[0][key])}"])
        except ConfigError as err:
            problems.append(f"{locator.where(('space', key))}: space.{key}: not a valid key or value of the base "
                            f"config {Path(spec.base).name}: {_first_line(err)}")
    if problems:
        raise ConfigError(problems)
    plan = Plan(spec, base_overrides, values, [], base)
    for index in range(len(values)):
        try:
            cfg = resolve(spec.base, plan.overrides(index))
        except ConfigError as err:
            problems.append(f"{sweep_file}: trial {table.trial_id(index)} "
                            f"({' '.join(plan.overrides(index)[len(base_overrides):])}): {_first_line(err)}")
            continue
        cfg["name"] = f"{spec.name}-{table.trial_id(index)}"
        plan.configs.append(cfg)
    if problems:
        raise ConfigError(problems)
    return plan


def dry_run_lines(plan: Plan) -> list[str]:
    """One line per trial: the ``layernet train`` command that reproduces it."""
    return [f"{table.trial_id(i)}  layernet train {plan.spec.base} {' '.join(plan.overrides(i))}".rstrip()
            for i in range(len(plan.values))]


def _open_dir(plan: Plan, resume) -> tuple[Path, list[dict]]:
    """The sweep directory and its rows: a new one, or ``resume``'s checked against the plan."""
    spec = plan.spec
    rows = [table.new_row(i, v) for i, v in enumerate(plan.values)]
    if resume is None:
        from .. import trainer  # noqa: F401  (loads layernet.runner; importing it first is circular)
        from ..runner import create_run_dir

        return create_run_dir(spec.output.dir, spec.name), rows
    sweep_dir = Path(resume).expanduser().resolve()
    previous = table.read_table(sweep_dir / "trials.csv")
    if not (sweep_dir / "sweep.yaml").is_file() or not (sweep_dir / "trials.csv").is_file():
        raise SweepError(f"--resume {resume}: not a sweep directory (no sweep.yaml and trials.csv)")
    old = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    if old.get("overrides", []) != plan.base_overrides or Path(old.get("base", "")) != Path(spec.base):
        raise SweepError(f"--resume {resume}: the base config or its overrides differ from that sweep's sweep.yaml "
                         f"(it has base {old.get('base')} with overrides {old.get('overrides', [])})")
    for old_row in previous:
        index = next((i for i, r in enumerate(rows) if r["trial"] == old_row["trial"]), None)
        if index is None:
            continue
        if any(old_row.get(k, "") != rows[index][k] for k in spec.space):
            raise SweepError(f"--resume {resume}: trial {old_row['trial']} had other values than this sweep file "
                             "gives it (a different space, seed or search); resume with the same file")
        if old_row.get("status") in table.FINISHED:
            rows[index] = old_row
    return sweep_dir, rows


def _record(sweep_dir: Path, row: dict, result, metric: str, config: dict) -> None:
    if isinstance(result, BaseException):
        row.update(status="lost", error=f"{type(result).__name__}: {_first_line(result)}"[:300])
        return
    run_dir = Path(result["run_dir"])
    row.update(status=result["status"], error=result["error"][:300], epochs=result["epochs"],
               wall_time_s=result["wall_time_s"])
    row[metric] = table.format_value(float(result["metric"]))
    row["test_acc"] = table.format_value(float(result["test_acc"]))
    local = sweep_dir / "runs" / run_dir.name
    row["run_dir"] = f"runs/{run_dir.name}"
    if not (local / "summary.json").is_file() and result.get("summary"):  # ran on another machine
        from ..metrics import HISTORY_COLUMNS, write_csv

        local.mkdir(parents=True, exist_ok=True)
        with atomic_write(local / "config.yaml") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        write_csv(local / "history.csv", HISTORY_COLUMNS, result["history"])
        with atomic_write(local / "summary.json") as handle:
            json.dump(result["summary"], handle, indent=2)


def _write_state(sweep_dir: Path, plan: Plan, rows: list[dict]) -> None:
    spec = plan.spec
    table.write_table(sweep_dir / "trials.csv", table.columns(spec.space, spec.metric.name), rows)
    best = table.best_row(rows, spec.metric.name, spec.mode)
    if best is not None:
        config = dict(plan.configs[int(best["trial"][1:])])
        config["name"], config["output"] = plan.base_config["name"], plan.base_config["output"]
        table.write_best(sweep_dir / "best.yaml", config, best, spec.name, spec.metric.name)


def make_executor(spec: SweepSpec):
    executor = spec.executor
    if executor.type == "dask":
        from .dask_executor import DaskExecutor

        return DaskExecutor(executor.address, executor.workers, executor.connect_timeout)
    from .local import LocalExecutor

    return LocalExecutor(1 if executor.workers is None else executor.workers)


def run_sweep(sweep_file, overrides=(), resume=None, *, train_fn=run_trial, executor=None,
              progress: str = "auto", stream=None) -> Path:
    """Run (or resume) the sweep in ``sweep_file``; return the sweep directory.

    ``train_fn(task) -> result`` is ``trial.run_trial`` (tests inject a fake); ``executor`` an
    object with ``run(fn, tasks)`` and ``close(cancel)`` (default: from the file's ``executor``);
    ``progress``: ``auto`` (a bar on a terminal, a line per trial otherwise), ``bar``, ``lines``
    or ``quiet``. ``KeyboardInterrupt`` propagates after trials.csv is written.
    """
    stream = stream or sys.stdout
    plan = plan_sweep(sweep_file, overrides)
    spec = plan.spec
    owned = executor is None
    executor = executor or make_executor(spec)  # an unreachable scheduler fails here, before any directory
    try:
        sweep_dir, rows = _open_dir(plan, resume)
        for index, cfg in enumerate(plan.configs):
            cfg["output"] = {**cfg["output"], "dir": str(sweep_dir / "runs" / table.trial_id(index))}
        (sweep_dir / "runs").mkdir(exist_ok=True)
        resolved = {**spec.model_dump(), "overrides": plan.base_overrides}
        with atomic_write(sweep_dir / "sweep.yaml") as handle:
            yaml.safe_dump(resolved, handle, sort_keys=False)
        _write_state(sweep_dir, plan, rows)
        todo = [i for i, row in enumerate(rows) if row["status"] not in table.FINISHED]
        tasks = [{"trial": table.trial_id(i), "config": plan.configs[i], "metric": spec.metric.name,
                  "mode": spec.mode, "threads": getattr(executor, "threads", None)} for i in todo]
        bar = SweepProgress(len(rows), len(rows) - len(todo), spec.metric.name, progress, stream)
        bar.message(f"sweep {spec.name}: {len(todo)} of {len(rows)} trials to run, {executor.describe()}; "
                    f"directory {sweep_dir}")
        try:
            for task, result in executor.run(train_fn, tasks):
                index = int(task["trial"][1:])
                row = rows[index]
                _record(sweep_dir, rows[index], result, spec.metric.name, plan.configs[index])
                _write_state(sweep_dir, plan, rows)
                bar.update(row)
        except KeyboardInterrupt:
            executor.close(cancel=True)
            owned = False
            _write_state(sweep_dir, plan, rows)
            bar.close()
            raise
        bar.close()
    finally:
        if owned:
            executor.close()
    if spec.output.plots:
        from .plots import save_sweep_plots

        try:
            save_sweep_plots(sweep_dir)
        except Exception as err:  # a picture is not worth failing a finished sweep for
            print(f"warning: sweep plots not written: {_first_line(err)}", file=sys.stderr)
    return sweep_dir


def summary_line(sweep_dir) -> str:
    """``12 ok, 1 failed, 0 lost; best t007 val_acc 0.9633 -> best.yaml`` for the CLI's last line."""
    sweep_dir = Path(sweep_dir)
    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    metric = spec["metric"]["name"]
    rows = table.read_table(sweep_dir / "trials.csv")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "lost", "pending")}
    text = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s == "ok")
    mode = spec["metric"]["mode"] if spec["metric"]["mode"] != "auto" else ("min" if metric.endswith("_loss") else "max")
    best = table.best_row(rows, metric, mode)
    if best is not None:
        value = table.metric_of(best, metric)
        text += f"; best {best['trial']} {metric} {value:.4f} -> {sweep_dir / 'best.yaml'}"
    return text
