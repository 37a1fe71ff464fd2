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

An optuna search (``optuna_search.py``) has no trials to list up front: each swept key is
checked against the base config with every choice and both ends of its range, and each trial's
config is resolved when the study asks for it (an invalid one is recorded as ``failed``, told to
the study as such, and not run). The study asks for as many trials as the executor runs at once
(its ``parallelism``), the batch runs, and the results are told in trial order once the whole
batch is in, so a seeded sweep with the same number of workers gives the same trials. Trials not
asked yet are ``pending`` rows without values. With ``resume`` the finished rows of
``trials.csv`` are replayed into a new study and the unfinished trials are asked again (their
values may change; their old run directories are removed).
"""

from __future__ import annotations

import json
import shutil
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
    values: list                      # [{dotted key: value}, ...], trial i at index i ({} until optuna asks it)
    configs: list                     # resolved run configs (output.dir set when the dir is known; None until asked)
    base_config: dict = field(default_factory=dict)

    @property
    def adaptive(self) -> bool:
        """True for an optuna search: trial values come from the study as the sweep runs."""
        return self.spec.search.type == "optuna"

    def overrides(self, index: int) -> list[str]:
        return [*self.base_overrides, *(f"{k}={table.format_value(v)}" for k, v in self.values[index].items())]

    def trial_config(self, index: int, sweep_dir=None) -> dict:
        """Trial ``index``'s resolved config, named ``<sweep>-t<iii>`` (ConfigError if invalid)."""
        from ..config import resolve

        config = resolve(self.spec.base, self.overrides(index))
        config["name"] = f"{self.spec.name}-{table.trial_id(index)}"
        if sweep_dir is not None:
            config["output"] = {**config["output"], "dir": str(Path(sweep_dir) / "runs" / table.trial_id(index))}
        return config


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def plan_sweep(sweep_file, overrides=()) -> Plan:
    """Load the sweep file and validate the base config, every swept key and every trial (ConfigError)."""
    from ..config import resolve

    spec, base_overrides, locator = load_sweep(sweep_file, overrides)
    base = resolve(spec.base, base_overrides)
    values = spec.trial_values()
    plan = Plan(spec, base_overrides, values, [], base)
    # each key alone, so the message names the key and its line: with the first trial's value, or
    # (optuna, no trials yet) with every choice and both ends of every range
    probes = ({dim.key: list(dim.values) for dim in spec.build_space().dimensions} if plan.adaptive
              else {key: [values[0][key]] for key in spec.space})
    problems = []
    for key, probe_values in probes.items():
        for value in probe_values:
            try:
                resolve(spec.base, [*base_overrides, f"{key}={table.format_value(value)}"])
            except ConfigError as err:
                problems.append(f"{locator.where(('space', key))}: space.{key}: not a valid key or value of the base "
                                f"config {Path(spec.base).name}: {_first_line(err)}")
                break
    if problems:
        raise ConfigError(problems)
    if plan.adaptive:  # each trial's config is resolved when the study asks for it
        plan.configs = [None] * len(values)
        return plan
    for index in range(len(values)):
        try:
            plan.configs.append(plan.trial_config(index))
        except ConfigError as err:
            problems.append(f"{sweep_file}: trial {table.trial_id(index)} "
                            f"({' '.join(plan.overrides(index)[len(base_overrides):])}): {_first_line(err)}")
    if problems:
        raise ConfigError(problems)
    return plan


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
    if plan.adaptive:
        same = {"search type": (old.get("search", {}).get("type"), spec.search.type), "seed": (old.get("seed"), spec.seed),
                "space": (old.get("space"), spec.space), "metric": (old.get("metric", {}).get("name"), spec.metric.name)}
        for what, (before, now) in same.items():
            if before != now:
                raise SweepError(f"--resume {resume}: this sweep file has another {what} than that sweep's sweep.yaml "
                                 f"(expected {table.format_value(before)}, found {table.format_value(now)}); "
                                 "resume with the same file")
    for old_row in previous:
        index = next((i for i, r in enumerate(rows) if r["trial"] == old_row["trial"]), None)
        if index is None:
            continue
        if not plan.adaptive and any(old_row.get(k, "") != rows[index][k] for k in spec.space):
            raise SweepError(f"--resume {resume}: trial {old_row['trial']} had other values than this sweep file "
                             "gives it (a different space, seed or search); resume with the same file")
        if old_row.get("status") in table.FINISHED:
            rows[index] = old_row
            if plan.adaptive:  # a finished optuna trial: its values come back from trials.csv
                plan.values[index] = {key: table.parse_value(old_row.get(key, "")) for key in spec.space}
                try:
                    plan.configs[index] = plan.trial_config(index, sweep_dir)
                except ConfigError:  # recorded as failed when it was asked
                    plan.configs[index] = None
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
        from ..csv_files import write_csv
        from ..history import HISTORY_COLUMNS

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


def _ask(search, plan: Plan, rows: list[dict], batch: list[int], sweep_dir: Path, bar) -> dict:
    """Ask the study for the trials ``batch`` (in order): their values, rows and configs.

    A trial whose config is invalid is recorded as ``failed`` at once and not run. A run
    directory left by an interrupted run (with other values) is removed. Returns ``{index: trial}``.
    """
    asked = {}
    for index in batch:
        asked[index], plan.values[index] = search.ask()
        rows[index] = table.new_row(index, plan.values[index])
        run_dir = sweep_dir / "runs" / table.trial_id(index)
        if run_dir.exists():
            shutil.rmtree(run_dir)
        try:
            plan.configs[index] = plan.trial_config(index, sweep_dir)
        except ConfigError as err:
            plan.configs[index] = None
            rows[index].update(status="failed", error=f"ConfigError: {_first_line(err)}"[:300])
            bar.update(rows[index])
    _write_state(sweep_dir, plan, rows)
    return asked


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
    object with ``run(fn, tasks)``, ``close(cancel)``, ``describe()`` and, for an optuna search,
    ``parallelism`` (trials it runs at once; 1 if absent) (default: from the file's ``executor``);
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
            if cfg is not None:  # None: an optuna trial not asked yet
                cfg["output"] = {**cfg["output"], "dir": str(sweep_dir / "runs" / table.trial_id(index))}
        (sweep_dir / "runs").mkdir(exist_ok=True)
        resolved = {**spec.model_dump(), "overrides": plan.base_overrides}
        with atomic_write(sweep_dir / "sweep.yaml") as handle:
            yaml.safe_dump(resolved, handle, sort_keys=False)
        _write_state(sweep_dir, plan, rows)
        todo = [i for i, row in enumerate(rows) if row["status"] not in table.FINISHED]
        bar = SweepProgress(len(rows), len(rows) - len(todo), spec.metric.name, progress, stream)
        bar.message(f"sweep {spec.name}: {len(todo)} of {len(rows)} trials to run, {executor.describe()}; "
                    f"directory {sweep_dir}")
        search, batch_size = None, max(1, len(todo))  # grid, random: one batch of every trial to run
        if plan.adaptive:
            from .optuna_search import OptunaSearch

            finished = [(plan.values[i], row) for i, row in enumerate(rows) if row["status"] in table.FINISHED]
            try:
                search = OptunaSearch(spec.build_space(), spec.seed, spec.mode, spec.metric.name, finished)
            except ValueError as err:
                raise SweepError(f"--resume {resume}: trials.csv: {_first_line(err)}") from None
            batch_size = max(1, int(getattr(executor, "parallelism", 1)))
        try:
            for start in range(0, len(todo), batch_size):
                batch = todo[start:start + batch_size]
                asked = _ask(search, plan, rows, batch, sweep_dir, bar) if search else {}
                tasks = [{"trial": table.trial_id(i), "config": plan.configs[i], "metric": spec.metric.name,
                          "mode": spec.mode, "threads": getattr(executor, "threads", None)}
                         for i in batch if rows[i]["status"] not in table.FINISHED]
                for task, result in (executor.run(train_fn, tasks) if tasks else ()):
                    index = int(task["trial"][1:])
                    row = rows[index]
                    _record(sweep_dir, rows[index], result, spec.metric.name, plan.configs[index])
                    _write_state(sweep_dir, plan, rows)
                    bar.update(row)
                for index, trial in asked.items():  # in trial order, once the whole batch is in
                    search.tell(trial, rows[index])
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
