"""Pictures of a sweep: the metric against each swept parameter, and the best runs' learning curves.

- ``plot_sweep(sweep_dir)``: one panel per swept key, the metric of every ``ok`` trial as a dot
  (the best one circled); a log x axis for ``loguniform`` keys; ``choice`` values (numbers or
  not) evenly spaced on a categorical axis, in the order of the space.
- ``plot_best_runs(sweep_dir, top=3)``: ``layernet.plot.plot_runs`` over the best trials'
  run directories, for the metric's history column (``val_acc`` for ``test_*`` metrics).
- ``save_sweep_plots(sweep_dir)``: both, as ``metric_vs_params.png`` and ``best_runs.png``.

Everything is read from the sweep directory (``sweep.yaml``, ``trials.csv``, ``runs/``), so the
plots can be remade at any time; matplotlib is imported when a function runs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import table
from .space import Space


def _load(sweep_dir):
    sweep_dir = Path(sweep_dir)
    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    metric = spec["metric"]["name"]
    mode = spec["metric"]["mode"]
    mode = mode if mode != "auto" else ("min" if metric.endswith("_loss") else "max")
    return sweep_dir, spec, metric, mode, table.read_table(sweep_dir / "trials.csv")


def _number(text: str):
    try:
        value = yaml.safe_load(text) if text != "" else None
    except yaml.YAMLError:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def plot_sweep(sweep_dir):
    """The metric of every finished trial against each swept parameter; returns the Figure."""
    import matplotlib.pyplot as plt

    sweep_dir, spec, metric, mode, rows = _load(sweep_dir)
    space = Space.from_dict(spec["space"])
    good = table.ranked(rows, metric, mode)
    if not good:
        raise ValueError(f"{sweep_dir}: no finished trial with a {metric} to plot")
    best = good[0]
    ncols = len(space.dimensions)
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.6), layout="constrained", squeeze=False)
    for ax, dim in zip(axes[0], space.dimensions):
        cells = [row[dim.key] for row in good]
        ys = [table.metric_of(row, metric) for row in good]
        if dim.kind != "choice":
            xs = [_number(c) for c in cells]
            if dim.log_scale:
                from matplotlib.ticker import NullFormatter

                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
        else:  # choices, numbers or not, evenly spaced in the order of the space
            order = list(dict.fromkeys(table.format_value(v) for v in dim.values))
            order += [c for c in dict.fromkeys(cells) if c not in order]
            xs = [order.index(c) for c in cells]
            ax.set_xticks(range(len(order)), order, rotation=30 if max(map(len, order)) > 6 else 0)
            ax.set_xlim(-0.5, len(order) - 0.5)
        ax.scatter(xs, ys, s=22, alpha=0.8)
        ax.scatter([xs[0]], [ys[0]], s=90, facecolors="none", edgecolors="C3", label=f"best ({best['trial']})")
        ax.set_xlabel(dim.key + (" (log)" if dim.log_scale else ""))
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(loc="best", fontsize="small")
    failed = sum(row["status"] != "ok" for row in rows)
    fig.suptitle(f"sweep {spec['name']}: {len(good)} trials" + (f" ({failed} not ok, not shown)" if failed else ""))
    return fig


def plot_best_runs(sweep_dir, top: int = 3):
    """The best ``top`` trials' learning curves overlaid (``layernet.plot.plot_runs``)."""
    from ..plot import plot_runs

    sweep_dir, spec, metric, mode, rows = _load(sweep_dir)
    column = metric if not metric.startswith("test_") else "val_acc"
    runs = [sweep_dir / row["run_dir"] for row in table.ranked(rows, metric, mode)[:top]]
    runs = [run for run in runs if (run / "history.csv").is_file()]
    if not runs:
        raise ValueError(f"{sweep_dir}: no finished trial with a history to plot")
    fig = plot_runs(runs, metric=column)
    fig.axes[0].set_title(f"sweep {spec['name']}: best {len(runs)} of {len(rows)} trials")
    return fig


def save_sweep_plots(sweep_dir, top: int = 3) -> dict:
    """Write ``metric_vs_params.png`` and ``best_runs.png`` into the sweep directory; returns the paths."""
    from ..plot import save_figure

    sweep_dir = Path(sweep_dir)
    return {"params": save_figure(plot_sweep(sweep_dir), sweep_dir / "metric_vs_params.png"),
            "best_runs": save_figure(plot_best_runs(sweep_dir, top), sweep_dir / "best_runs.png")}


__all__ = ["plot_best_runs", "plot_sweep", "save_sweep_plots"]
