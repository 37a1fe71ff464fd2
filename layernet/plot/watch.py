"""``layernet plot RUN_DIR --watch``: keep a run's figure up to date while another process trains it.

Every ``interval`` seconds the run's ``history.csv`` and ``steps.csv`` are looked at (size and
modification time); when either changed, the figure (``plot_history``: loss, accuracy, lr) is
redrawn into ``out`` (default ``RUN_DIR/history.png``) atomically, so an image viewer kept open on
it always shows a whole picture. A file caught in the middle of a line is read again next round.
Watching ends when ``summary.json`` says the run is no longer ``running`` (completed, stopped,
interrupted, diverged), after a last drawing, or when neither file has changed for ``idle`` seconds
(a killed run whose summary still says ``running``, or a plain ``Trainer``'s ``history_dir``, which has
no summary); Ctrl-C stops it too. Before the first history row exists nothing is drawn.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

WATCHED = ("history.csv", "steps.csv")


def _signature(run_dir: Path) -> tuple:
    out = []
    for name in WATCHED:
        try:
            stat = (run_dir / name).stat()
            out.append((stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def run_status(run_dir: Path) -> str | None:
    """``summary.json``'s ``status`` (``running``, ``completed`` ...), None without a readable summary."""
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return None


def watch_run(run_dir, out=None, interval: float = 2.0, idle: float = 600.0, *, sleep=time.sleep,
              clock=time.monotonic, on_draw=None) -> Path:
    """Redraw ``run_dir``'s figure into ``out`` whenever its history files change, until the run ends
    (or nothing changed for ``idle`` seconds).

    Returns the figure's path. ``sleep`` and ``clock`` (tests pass fakes) pace the rounds;
    ``on_draw(path)`` is called after each drawing (the CLI says so on stderr).
    """
    from .curves import plot_history
    from .files import save_figure

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"{run_dir}: no such run directory (expected a directory that `layernet train` writes)")
    for name, value in (("interval", interval), ("idle", idle)):
        if not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"--{name}: expected a number of seconds > 0, found {value!r}")
    out = Path(out) if out is not None else run_dir / "history.png"
    drawn, seen, changed_at = None, None, clock()
    while True:
        finished = run_status(run_dir) not in (None, "running")  # read before the files: nothing is missed
        signature = _signature(run_dir)
        if signature != seen:
            seen, changed_at = signature, clock()
        finished = finished or clock() - changed_at >= idle
        if signature != drawn and signature[0] is not None:
            try:
                save_figure(plot_history(run_dir), out)
                drawn = signature
                if on_draw is not None:
                    on_draw(out)
            except ValueError:
                pass  # no row yet, or a line being written: next round
        if finished:
            return out
        sleep(interval)
