"""The run's CSV files (history.csv, steps.csv): one cell format, atomic rewrites, durable appends.

- Ints (``INT_COLUMNS``: epoch, step) are written as ints; floats with ``repr`` (shortest
  round-trip form), so a CSV read back gives the same float64 values bit for bit; ``time_s`` is
  rounded to milliseconds; a missing value (NaN or None) is an empty cell, read back as NaN.
- CSV rows are appended, flushed and fsynced (``CsvLog``); a whole file is rewritten atomically
  (``write_csv``), which is how a resumed run makes ``history.csv`` match its checkpoint.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ._io import atomic_write
from .history import INT_COLUMNS


def format_value(column: str, value) -> str:
    """One CSV cell: ints as ints, NaN/None as an empty cell, floats in round-trip ``repr``."""
    if value is None:
        return ""
    if column in INT_COLUMNS:
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return ""
    if column == "time_s":
        return f"{value:.3f}"
    return repr(value)


def format_row(columns, row) -> str:
    if isinstance(row, dict):
        row = [row[c] for c in columns]
    return ",".join(format_value(c, v) for c, v in zip(columns, row)) + "\n"


def write_csv(path, columns, rows) -> None:
    """Write a whole CSV file (header and ``rows``: dicts or sequences) atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(",".join(columns) + "\n")
        for row in rows:
            handle.write(format_row(columns, row))


def read_csv(path) -> list[dict]:
    """Rows of a CSV written here, as dicts of int/float (empty cells -> NaN).

    A last line without its newline (a write cut short by a crash) is ignored.
    """
    text = Path(path).read_text(encoding="utf-8")
    lines = text.split("\n")
    header = lines[0].split(",")
    rows = []
    for line in lines[1:-1]:  # the piece after the final newline is empty or a partial line
        cells = line.split(",")
        if len(cells) != len(header):
            raise ValueError(f"{path}: malformed row {line!r} (expected {len(header)} cells)")
        rows.append({
            c: int(v) if c in INT_COLUMNS else (float(v) if v else math.nan) for c, v in zip(header, cells)
        })
    return rows


class CsvLog:
    """An append-only CSV file: ``append(row)`` writes and flushes a line; ``sync()`` also fsyncs.

    Opening an existing file appends to it (the header is written only to an empty file);
    ``sync_every_row=True`` (history.csv) makes every ``append`` durable at once; steps.csv is
    fsynced once per epoch.
    """

    def __init__(self, path, columns, *, sync_every_row: bool = True):
        self.path = Path(path)
        self.columns = tuple(columns)
        self.sync_every_row = sync_every_row
        self._file = open(self.path, "a", encoding="utf-8")
        if self._file.tell() == 0:
            self._file.write(",".join(self.columns) + "\n")
            self.sync()

    def append(self, row) -> None:
        self._file.write(format_row(self.columns, row))
        if self.sync_every_row:
            self.sync()
        else:
            self._file.flush()  # visible to readers (tail -f, plots) at once; durable at the next sync()

    def sync(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
