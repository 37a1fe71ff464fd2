"""The curves of one training run, as the plots draw them (``RunCurves``), read from a run
directory, or made from a Trainer's ``TrainingHistory``, a history dict, or an array of losses.

A run directory (see the training issue) holds

- ``history.csv``: one row per epoch, columns ``epoch, train_loss, train_acc, val_loss, val_acc, lr, time_s``
  (an empty cell, e.g. no validation split, reads as NaN; extra columns are kept);
- ``steps.csv``: one row per optimisation step, columns ``step, epoch, loss``;
- ``config.yaml``: the resolved config, whose ``name`` labels the run in plots;
- ``summary.json``: which checkpoint the test score came from (``best_epoch``, ``monitor``,
  ``test_checkpoint``, ``test_acc``), marked on the accuracy plot.

Epochs are numbered as the trainer numbers them (1, 2, ...). On the shared epoch axis of the plots a
per-epoch value sits at ``x = epoch`` (the end of that epoch) and step ``i`` (0-based) of epoch ``e``
at ``x = e - 1 + (i + 1) / k``, with ``k`` the largest number of steps in an epoch, so the last step
of an epoch lines up with that epoch's evaluation.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..history import TrainingHistory

RUN_FILES = ("history.csv", "steps.csv", "config.yaml", "summary.json")
#: Keys of a history dict that hold per-step training losses rather than per-epoch values.
STEP_KEYS = ("steps", "step_loss", "step_losses", "loss_history")


@dataclass
class RunCurves:
    """The curves of one run as float arrays: ``columns`` per epoch, ``steps`` per optimisation
    step (or None). Read-only input of the plots; the trainer's growing in-memory record is
    ``layernet.history.TrainingHistory``, and ``as_run_curves`` turns one into the other.

    ``columns`` maps a column name (``"epoch"``, ``"train_loss"``, ``"val_acc"``, ...) to a float64
    array, all of one length; ``steps`` maps ``"step"``, ``"epoch"``, ``"loss"`` to arrays.
    ``name`` labels the run; ``config`` is its config.yaml (``{}`` when there is none); ``summary``
    its summary.json (``{}`` when there is none; a history dict's scalar ``best_epoch`` lands here);
    ``source`` is the run directory it was read from.
    """

    columns: dict[str, np.ndarray]
    steps: dict[str, np.ndarray] | None = None
    name: str = "run"
    config: dict = field(default_factory=dict)
    source: Path | None = None
    #: Unit of the x axis: "epoch", or "step" for a bare array of losses (one unit per step).
    x_label: str = "epoch"
    summary: dict = field(default_factory=dict)

    @property
    def metrics(self) -> list[str]:
        """Names that ``metric()`` accepts: the per-epoch columns, plus ``step_loss`` if steps exist."""
        names = [key for key in self.columns if key != "epoch"]
        return names + (["step_loss"] if self.steps is not None else [])

    def has(self, key: str) -> bool:
        """True when the column exists and holds at least one finite value."""
        return key in self.columns and bool(np.isfinite(self.columns[key]).any())

    def metric(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, values)`` of one metric on the epoch axis; ValueError naming the metrics that exist."""
        if key == "step_loss" and self.steps is not None:
            return self.step_positions(), self.steps["loss"]
        if key == "epoch" or key not in self.columns:
            where = f" in {self.source}" if self.source else ""
            raise ValueError(f"no metric '{key}'{where}; available: {', '.join(self.metrics) or 'none'}")
        return self.columns["epoch"], self.columns[key]

    def step_positions(self) -> np.ndarray:
        """Where each step sits on the epoch axis (see the module docstring)."""
        epochs = self.steps["epoch"]
        index = np.zeros(len(epochs))
        for value in np.unique(epochs):
            members = epochs == value
            index[members] = np.arange(members.sum())
        per_epoch = max(1.0, float(np.max(np.unique(epochs, return_counts=True)[1], initial=1)))
        return epochs - 1 + (index + 1) / per_epoch


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a numeric CSV file with a header; empty cells are NaN."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            return {}
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}:{line}: expected {len(header)} values ({', '.join(header)}), found {len(row)}")
            try:
                rows.append([float(cell) if cell.strip() else np.nan for cell in row])
            except ValueError:
                raise ValueError(f"{path}:{line}: not a number in {row}") from None
    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(header))
    return {name.strip(): table[:, i] for i, name in enumerate(header)}


def _read_config(run_dir: Path) -> dict:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    import yaml  # only needed for run directories

    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    return config if isinstance(config, dict) else {}


def _run_directory(path: Path) -> Path:
    """The run directory for a directory or a history.csv path; a one-line error otherwise."""
    if not path.exists():
        raise ValueError(f"{path}: no such file or directory (expected a run directory)")
    if path.is_file():
        if path.name != "history.csv":
            raise ValueError(f"{path}: expected a run directory or its history.csv")
        return path.parent
    if not (path / "history.csv").is_file():
        runs = sorted(str(p.parent) for p in path.glob("*/history.csv"))
        hint = f"; run directories inside it: {', '.join(runs[:3])}" if runs else ""
        raise ValueError(f"{path} is not a run directory: history.csv is missing{hint}")
    return path


def load_run_curves(run_dir_or_path) -> RunCurves:
    """Read a run directory (or its ``history.csv``) into a ``RunCurves``.

    ``steps.csv`` is read when present; the name is config.yaml's ``name`` or the directory name.
    A folder that is not a run directory or a history without any row raises a one-line ValueError.
    """
    run_dir = _run_directory(Path(run_dir_or_path))
    columns = _read_csv(run_dir / "history.csv")
    steps = _read_csv(run_dir / "steps.csv") if (run_dir / "steps.csv").is_file() else None
    if steps is not None and ("loss" not in steps or len(steps["loss"]) == 0):
        steps = None
    if steps is not None and "epoch" not in steps:
        steps["epoch"] = np.ones(len(steps["loss"]))
    if not columns or len(next(iter(columns.values()))) == 0:
        if steps is None:
            raise ValueError(f"{run_dir}: empty history (history.csv has no rows and there is no steps.csv)")
        columns = {"epoch": np.zeros(0)}
    if "epoch" not in columns:
        columns["epoch"] = np.arange(1, len(next(iter(columns.values()))) + 1, dtype=np.float64)
    config = _read_config(run_dir)
    name = str(config.get("name") or run_dir.name)
    return RunCurves(columns, steps, name=name, config=config, source=run_dir, summary=_read_summary(run_dir))


def _read_summary(run_dir: Path) -> dict:
    import json

    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no summary (a run killed early, a hand-made directory): nothing to mark
        return {}
    return summary if isinstance(summary, dict) else {}


def _run_curves_from_dict(data: dict, name: str) -> RunCurves:
    """A Trainer's history dict: per-epoch lists, per-step losses under one of ``STEP_KEYS``."""
    columns, steps, summary = {}, None, {}
    for key, value in data.items():
        if key in STEP_KEYS and isinstance(value, dict):
            if "loss" not in value:
                raise ValueError(f"history dict: '{key}' must hold 'loss' (and optionally 'step', 'epoch')")
            steps = {k: np.asarray(v, dtype=np.float64) for k, v in value.items()}
        elif key in STEP_KEYS:
            loss = np.asarray(value, dtype=np.float64)
            steps = {"step": np.arange(1, len(loss) + 1, dtype=np.float64), "loss": loss}
        elif np.ndim(value) == 1:
            columns[key] = np.asarray(value, dtype=np.float64)
        elif key == "best_epoch" and isinstance(value, (int, np.integer)):
            summary["best_epoch"] = int(value)
    lengths = {key: len(value) for key, value in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"history dict: per-epoch lists differ in length: {lengths}")
    n = next(iter(lengths.values()), 0)
    if n == 0 and (steps is None or len(steps.get("loss", ())) == 0):
        raise ValueError("empty history: no per-epoch values and no per-step losses")
    columns.setdefault("epoch", np.arange(1, n + 1, dtype=np.float64))
    x_label = "epoch"
    if steps is not None and "epoch" not in steps:
        # Steps without epochs: spread them evenly over the epochs, or one x unit per step.
        count = len(steps["loss"])
        if n:
            steps["epoch"] = np.floor(np.arange(count) * n / count) + 1
        else:
            steps["epoch"], x_label = np.arange(1, count + 1.0), "step"
    return RunCurves(columns, steps, name=name, x_label=x_label, summary=summary)


def as_run_curves(obj, name: str | None = None) -> RunCurves:
    """Accept a ``RunCurves``, a run directory / history.csv path, a ``TrainingHistory`` (what
    ``Trainer.fit`` returns), a history dict, or a 1-D loss array.

    A 1-D array (cs231n's ``solver.loss_history``) is taken as per-step training losses.
    """
    if isinstance(obj, RunCurves):
        return obj
    if isinstance(obj, TrainingHistory):
        data = {column: obj[column] for column in obj.columns}
        if obj.steps:
            step, epoch, loss = zip(*obj.steps)
            data["steps"] = {"step": step, "epoch": epoch, "loss": loss}
        return _run_curves_from_dict(data, name or "run")
    if isinstance(obj, (str, Path)):
        return load_run_curves(obj)
    if isinstance(obj, dict):
        return _run_curves_from_dict(obj, name or "run")
    values = np.asarray(obj, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"expected a run directory, a history dict or a 1-D array of losses, found shape {values.shape}")
    return _run_curves_from_dict({"steps": values}, name or "run")
