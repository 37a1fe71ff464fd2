"""The trials table: ``trials.csv`` rows, how values are written, the best trial, ``best.yaml``.

Columns: ``trial`` (``t000``, ``t001``, ... in the order of the search), one column per swept key
(the dotted key as header), the metric (its name as header), ``test_acc``, ``epochs``,
``wall_time_s``, ``status``, ``error``, ``run_dir`` (relative to the sweep directory).

``status`` is ``pending`` (not run yet, or interrupted), ``ok``, ``failed`` (the trial raised:
NaN loss, a bad region of the space; ``error`` says what) or ``lost`` (its worker died twice, or
the executor could not return it). ``ok`` and ``failed`` trials are *finished*: ``--resume``
skips them and runs the others.

Values are written as YAML flow scalars (``0.001``, ``relu``, ``[3, 3]``), floats with ``repr``
precision, NaN as an empty cell, so a value read back parses to the same object and the same
text is the override ``key=value`` that reproduces the trial. The whole file is rewritten
atomically (``layernet._io.atomic_write``) each time a trial finishes.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import yaml

from .._io import atomic_write

FIXED_COLUMNS = ("test_acc", "epochs", "wall_time_s", "status", "error", "run_dir")
FINISHED = ("ok", "failed")


def format_value(value) -> str:
    """A value as YAML flow text: the right-hand side of an override and a CSV cell."""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text[:-3].strip() if text.endswith("...") else text


def parse_value(cell: str):
    """A cell (or an override's right-hand side) back to its value: ``format_value``'s inverse."""
    from ..config.yaml_lines import load_yaml

    return load_yaml(cell)


def trial_id(index: int) -> str:
    return f"t{index:03d}"


def columns(keys, metric: str) -> list[str]:
    return ["trial", *keys, metric, *FIXED_COLUMNS]


def new_row(index: int, values: dict) -> dict:
    row = {"trial": trial_id(index), "status": "pending", "error": "", "run_dir": f"runs/{trial_id(index)}"}
    row.update({key: format_value(value) for key, value in values.items()})
    return row


def write_table(path, header, rows) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: row.get(key, "") for key in header})
    with atomic_write(path) as handle:
        handle.write(buffer.getvalue())


def read_table(path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def metric_of(row: dict, metric: str) -> float:
    try:
        value = float(row.get(metric) or "nan")
    except ValueError:
        return math.nan
    return value


def best_row(rows, metric: str, mode: str) -> dict | None:
    """The ``ok`` row with the best finite metric (the earliest trial on a tie), or None."""
    best, best_value = None, None
    for row in rows:
        value = metric_of(row, metric)
        if row.get("status") != "ok" or not math.isfinite(value):
            continue
        if best is None or (value > best_value if mode == "max" else value < best_value):
            best, best_value = row, value
    return best


def ranked(rows, metric: str, mode: str) -> list[dict]:
    """``ok`` rows with a finite metric, best first."""
    good = [r for r in rows if r.get("status") == "ok" and math.isfinite(metric_of(r, metric))]
    return sorted(good, key=lambda r: -metric_of(r, metric) if mode == "max" else metric_of(r, metric))


def write_best(path, config: dict, row: dict, sweep_name: str, metric: str) -> None:
    """``best.yaml``: the best trial's full config with a comment saying where it came from."""
    header = (f"# best trial of sweep {sweep_name}: {row['trial']} ({metric} = {row.get(metric)}, "
              f"run directory {row.get('run_dir')})\n# train it again with: layernet train best.yaml\n")
    with atomic_write(path) as handle:
        handle.write(header)
        yaml.safe_dump(config, handle, sort_keys=False)
