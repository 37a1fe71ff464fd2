"""One trial: the training function every executor runs, in a worker process or in this one.

``run_trial(task)`` takes a plain dict (so it pickles cheaply through a process pool or a Dask
scheduler: no arrays, no data set)::

    {"trial": "t003", "config": <resolved run config, output.dir = the trial's run directory>,
     "metric": "val_acc", "mode": "max", "threads": 1 or None}

and returns a plain dict: ``trial``, ``status`` (``ok`` or ``failed``), ``error`` (one line, ""
when ok), ``metric`` (the best value of the metric over the epochs, or the summary's
``test_acc``/``test_loss``), ``test_acc``, ``epochs`` (run), ``wall_time_s``, ``run_dir``,
``host``, ``pid``, and for the sweep directory ``history`` (the history rows) and ``summary``.

The data set is loaded *in the worker*, by ``layernet.run``, from the worker's own
``LAYERNET_DATA`` (or the config's ``data.root``): only the config travels.

A trial whose run directory exists already (a resumed sweep, or a retry after a lost worker)
continues from its ``checkpoints/last.npz`` when there is one (the trainer's resume gives the
same result as an uninterrupted run), is read back when its summary says it finished, and is
started afresh otherwise (the unusable directory is removed first).

A failing trial (NaN loss, a model that does not fit its input, any exception) is returned as
``failed`` with its error; ``KeyboardInterrupt`` propagates.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from pathlib import Path

FINISHED = ("completed", "early_stopping")


def _limit_threads(threads) -> None:
    """Numba's threads for this thread of the process (BLAS's were fixed when the worker started)."""
    if not threads:
        return
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def metric_value(name: str, mode: str, history: list[dict], summary: dict) -> float:
    """The trial's metric: ``summary[name]`` for test metrics, else the best over the epochs (NaN if none)."""
    if name.startswith("test_"):
        value = summary.get(name)
        return math.nan if value is None else float(value)
    values = [float(row[name]) for row in history if row.get(name) not in (None, "")]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return math.nan
    return max(values) if mode == "max" else min(values)


def _prepare(run_dir: Path):
    """``(resume_dir or None, finished)`` for a run directory that may exist from an earlier attempt."""
    if not run_dir.exists():
        return None, False
    summary = run_dir / "summary.json"
    if summary.is_file():
        try:
            status = json.loads(summary.read_text()).get("status")
        except ValueError:
            status = None
        if status in FINISHED:
            return None, True
    if (run_dir / "checkpoints" / "last.npz").is_file():
        return run_dir, False
    shutil.rmtree(run_dir)
    return None, False


def _read(run_dir: Path) -> tuple[list[dict], dict]:
    from ..csv_files import read_csv

    history = read_csv(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else []
    summary = json.loads((run_dir / "summary.json").read_text()) if (run_dir / "summary.json").is_file() else {}
    return history, summary


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_trial(task: dict) -> dict:
    """Train one trial (see the module docstring); never raises except on KeyboardInterrupt."""
    start = time.perf_counter()
    config = task["config"]
    run_dir = Path(config["output"]["dir"])
    result = {"trial": task["trial"], "status": "failed", "error": "", "metric": math.nan, "test_acc": math.nan,
              "epochs": 0, "wall_time_s": 0.0, "run_dir": str(run_dir), "host": socket.gethostname(),
              "pid": os.getpid(), "history": [], "summary": {}}
    try:
        _limit_threads(task.get("threads"))
        resume, finished = _prepare(run_dir)
        if not finished:
            from ..runner import run

            run_dir = Path(run(config, resume=resume, verbose="quiet"))
        history, summary = _read(run_dir)
        result.update(history=history, summary=summary, run_dir=str(run_dir), status="ok",
                      metric=metric_value(task["metric"], task["mode"], history, summary),
                      epochs=summary.get("epochs_run", len(history)))
        result["test_acc"] = math.nan if summary.get("test_acc") is None else float(summary["test_acc"])
    except Exception as err:  # a failed trial is a result, not the end of the sweep
        result["error"] = _one_line(err)
        if run_dir.is_dir():
            result["history"], result["summary"] = _read(run_dir)
            result["epochs"] = len(result["history"])
    result["wall_time_s"] = round(time.perf_counter() - start, 3)
    return result
