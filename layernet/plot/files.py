"""Writing figures to files: the pictures left in a run directory and the command-line entry points.

Every file is written atomically (``layernet._io.atomic_write``: a temporary file in the same
directory, then ``os.replace``), so a reader never sees half a PNG. The format follows the suffix
(``.png``, ``.pdf``, ``.svg``). Figures made here are closed after saving (no pyplot build-up in a
long training process). The ``*_command`` functions are what ``layernet plot``, ``layernet eval
--confusion`` and ``layernet gradcheck --plot`` call; each returns the path it wrote.
"""

from __future__ import annotations

from pathlib import Path

from .._io import atomic_write
from .confusion import plot_confusion
from .curves import plot_history, plot_runs
from .gradcheck_plot import plot_gradcheck
from .run_curves import as_run_curves

DPI = 120


def save_figure(fig, path, close: bool = True) -> Path:
    """Save ``fig`` to ``path`` atomically (format from the suffix, default PNG); returns the path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"{path}: directory {path.parent} does not exist")
    fmt = path.suffix[1:].lower() or "png"
    try:
        with atomic_write(path, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=DPI)
    finally:
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
    return path


def save_run_plots(run_dir, smoothing: float | None = None) -> dict[str, Path]:
    """Write ``loss.png`` and ``accuracy.png`` into a run directory; returns ``{"loss": path, ...}``.

    ``accuracy.png`` is left out when the history has no accuracy (e.g. an MSE regression run).
    """
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    history = as_run_curves(run_dir)
    written = {}
    fig, loss_ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    plot_history(history, ax=loss_ax, smoothing=smoothing)
    loss_ax.set_title(f"{history.name}: loss")
    written["loss"] = save_figure(fig, run_dir / "loss.png")
    if history.has("train_acc") or history.has("val_acc"):
        fig, acc_ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        plot_history(history, ax=[None, acc_ax])
        acc_ax.set_title(f"{history.name}: accuracy")
        written["accuracy"] = save_figure(fig, run_dir / "accuracy.png")
    return written


def plot_command(run_dirs, out=None, metric: str | None = None) -> Path:
    """``layernet plot RUN_DIR [RUN_DIR ...] [-o FILE] [--metric val_acc]``.

    One run without ``--metric`` gives the standard figure (``plot_history``), written to
    ``RUN_DIR/history.png`` by default. Several runs (or a metric) overlay that metric, default
    ``val_acc``, written to ``compare_<metric>.png`` in the current directory by default.
    """
    run_dirs = [run_dirs] if isinstance(run_dirs, (str, Path)) else list(run_dirs)
    if not run_dirs:
        raise ValueError("layernet plot: give at least one run directory")
    if len(run_dirs) == 1 and metric is None:
        fig = plot_history(run_dirs[0])
        default = as_run_curves(run_dirs[0]).source / "history.png"
    else:
        metric = metric or "val_acc"
        fig = plot_runs(run_dirs, metric=metric)
        default = Path(f"compare_{metric}.png")
    return save_figure(fig, out if out is not None else default)


def confusion_command(y_true, y_pred, out, class_names=None, title: str | None = None) -> Path:
    """``layernet eval RUN_DIR --confusion out.png``: the eval command passes its labels and predictions."""
    return save_figure(plot_confusion(y_true, y_pred, class_names=class_names, title=title), out)


def gradcheck_command(report, out, title: str | None = None) -> Path:
    """``layernet gradcheck CONFIG --plot out.png``: the gradcheck command passes its report."""
    return save_figure(plot_gradcheck(report, title=title), out)
