"""Training curves: one run's loss / accuracy / learning rate, and one metric of several runs.

Every function returns the matplotlib Figure; matplotlib is imported when a function is called.
All panels share the epoch axis described in ``layernet.plot.run_curves``: per-epoch values at
``x = epoch``, per-step losses spread over the epoch they belong to. A one-epoch run's axis runs
from 0 to 1 (the start and the end of its epoch), with those two ticks. The loss axis is
logarithmic when the positive losses drawn span a factor 10 or more. The accuracy panel marks the
checkpoint the run's test score came from (summary.json's monitored best epoch), else the best
validation accuracy.
"""

from __future__ import annotations

import numpy as np

from .run_curves import as_run_curves
from .smoothing import auto_weight, smooth
from .labels import run_labels

TRAIN, TRAIN_EPOCH, VAL, LR = "C0", "#0b3d6e", "C1", "C2"
METRIC_LABELS = {
    "train_loss": "train loss",
    "val_loss": "validation loss",
    "train_acc": "train accuracy",
    "val_acc": "validation accuracy",
    "lr": "learning rate",
    "time_s": "time per epoch (s)",
    "step_loss": "training loss (per step, smoothed)",
}


def _subplots(ncols: int, width: float = 4.6, height: float = 3.6):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), layout="constrained", squeeze=False)
    return fig, list(axes[0])


def _epoch_axis(ax, history, last_epoch=None):
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(history.x_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    if last_epoch is None:
        last_epoch = _last_epoch(history)
    if history.x_label == "epoch" and last_epoch <= 1:  # not 0.95 .. 1.05 around a single point
        ax.set_xlim(-0.05, 1.05)
        ax.set_xticks([0, 1])


def _last_epoch(history) -> float:
    epochs = [history.columns["epoch"], history.steps["epoch"] if history.steps is not None else np.zeros(0)]
    return float(np.nanmax(np.concatenate(epochs), initial=0))


def _log_if_a_decade(ax, values) -> None:
    """Log scale when every finite value is positive and they span a factor 10 or more."""
    finite = values[np.isfinite(values)]
    if finite.size > 1 and finite.min() > 0 and finite.max() / finite.min() >= 10:
        ax.set_yscale("log")


def _is_fraction(values) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and finite.min() >= 0.0 and finite.max() <= 1.0


def _lr_changed(history) -> bool:
    return history.has("lr") and np.unique(history.columns["lr"][np.isfinite(history.columns["lr"])]).size > 1


def _draw_loss(ax, history, smoothing):
    epochs = history.columns["epoch"]
    if history.steps is not None:
        x, loss = history.step_positions(), history.steps["loss"]
        weight = auto_weight(len(loss)) if smoothing is None else smoothing
        ax.plot(x, loss, color=TRAIN, alpha=0.35, linewidth=0.8, label="train (per step)")
        ax.plot(x, smooth(loss, weight), color=TRAIN, linewidth=2.0, label=f"train (smoothed, EMA {weight:.2g})")
    line = "o" if history.steps is not None else "o-"
    if history.has("train_loss"):
        ax.plot(epochs, history.columns["train_loss"], line, color=TRAIN_EPOCH, markersize=5,
                markeredgecolor="white", label="train (epoch mean)")
    if history.has("val_loss"):
        ax.plot(epochs, history.columns["val_loss"], "s-", color=VAL, markersize=4, label="validation")
    drawn = [history.steps["loss"]] if history.steps is not None else []
    drawn += [history.columns[key] for key in ("train_loss", "val_loss") if history.has(key)]
    _log_if_a_decade(ax, np.concatenate(drawn) if drawn else np.zeros(0))
    ax.set_ylabel("loss")
    ax.set_title("loss")
    _epoch_axis(ax, history)
    ax.legend(fontsize="small")


def _draw_accuracy(ax, history):
    from matplotlib.ticker import PercentFormatter

    epochs = history.columns["epoch"]
    if history.has("train_acc"):
        ax.plot(epochs, history.columns["train_acc"], "o-", color=TRAIN, markersize=4, label="train")
    if history.has("val_acc"):
        ax.plot(epochs, history.columns["val_acc"], "s-", color=VAL, markersize=4, label="validation")
    values = np.concatenate([history.columns.get(k, np.zeros(0)) for k in ("train_acc", "val_acc")])
    _mark_checkpoint(ax, history, percent=_is_fraction(values))
    if _is_fraction(values):
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        if len(epochs) == 1:  # one point: show it on the whole scale rather than +-5% around it
            ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy")
    ax.set_title("accuracy")
    _epoch_axis(ax, history)
    ax.legend(fontsize="small")


def _checkpoint_epoch(history):
    """The epoch of the checkpoint the test score came from (summary.json), or None if unknown."""
    summary = history.summary
    if summary.get("test_checkpoint") == "last":
        return (summary.get("last_checkpoint") or {}).get("epoch")
    return summary.get("best_epoch")


def _mark_checkpoint(ax, history, percent: bool) -> None:
    """A star on the validation (else train) accuracy at the test score's checkpoint; without a
    summary, at the best validation accuracy."""
    key = "val_acc" if history.has("val_acc") else "train_acc" if history.has("train_acc") else None
    if key is None:
        return
    epochs, values = history.columns["epoch"], history.columns[key]
    epoch = _checkpoint_epoch(history)
    at = np.flatnonzero(epochs == epoch) if epoch is not None else np.zeros(0, dtype=int)
    if at.size:
        index = int(at[0])
        which = history.summary.get("test_checkpoint") or "best"
        monitor = history.summary.get("monitor")
        by = f" by {monitor}" if which == "best" and monitor else ""
        test = history.summary.get("test_acc")
        test = "" if test is None else f", test {100 * test:.1f}%" if percent else f", test {test:.3g}"
        text = f"{which} checkpoint{by}: epoch {epochs[index]:g}, validation {{}}{test}"
    elif key == "val_acc":
        index = int(np.nanargmax(values))
        text = f"best {{}} at epoch {epochs[index]:g}"
    else:
        return
    shown = f"{100 * values[index]:.1f}%" if percent else f"{values[index]:.3g}"
    color = VAL if key == "val_acc" else TRAIN
    ax.plot([epochs[index]], [values[index]], "*", color=color, markersize=12, label=text.replace("{}", shown))


def _draw_lr(ax, history):
    lr = history.columns["lr"]
    # The lr logged for epoch e was used during it, i.e. over (e - 1, e] on the epoch axis.
    ax.plot(history.columns["epoch"], lr, "o-", color=LR, markersize=4, drawstyle="steps-pre", label="learning rate")
    finite = lr[np.isfinite(lr)]
    if finite.min() > 0 and finite.max() / finite.min() >= 10:
        ax.set_yscale("log")
    ax.set_ylabel("learning rate")
    ax.set_title("learning rate")
    _epoch_axis(ax, history)


def plot_history(run_or_history, ax=None, smoothing: float | None = None):
    """Loss, accuracy and (when it changed) learning rate of one run, side by side.

    ``run_or_history``: a run directory (or its history.csv), a ``RunCurves``, the Trainer's history
    dict (per-epoch lists ``train_loss``, ``val_acc``, ...; per-step losses under ``steps``), or a 1-D
    array of per-step losses. The loss panel shows per-step training losses raw (faint) with their
    bias-corrected EMA (``smoothing`` = its weight; None picks one from the number of steps) and the
    per-epoch train/validation losses as markers. The accuracy panel appears when there are accuracies;
    the learning-rate panel when the lr changed (log scale when it spans a factor 10 or more).

    ``ax``: None for a new figure; one Axes to draw only the loss panel into; a sequence of Axes to
    fill panels in the order loss, accuracy, lr (None skips a panel). Returns the Figure.
    """
    history = as_run_curves(run_or_history)
    panels = [("loss", lambda a: _draw_loss(a, history, smoothing))]
    if history.has("train_acc") or history.has("val_acc"):
        panels.append(("accuracy", lambda a: _draw_accuracy(a, history)))
    if _lr_changed(history):
        panels.append(("lr", lambda a: _draw_lr(a, history)))
    if ax is None:
        fig, axes = _subplots(len(panels))
        fig.suptitle(history.name)
    else:
        axes = [ax] if hasattr(ax, "plot") else list(ax)
        fig = next(axis.figure for axis in axes if axis is not None)
    for (_, draw), axis in zip(panels, axes):
        if axis is not None:
            draw(axis)
    return fig


def plot_runs(run_dirs, metric: str = "val_acc", ax=None, smoothing: float | None = None):
    """One metric of several runs overlaid, labelled by name plus the settings that differ.

    ``run_dirs``: run directories (or anything ``plot_history`` accepts). ``metric``: a history
    column (``val_acc``, ``train_loss``, ``lr``, ...) or ``step_loss`` (the per-step training loss,
    smoothed). A metric missing from a run raises ValueError naming the metrics it has.
    """
    if isinstance(run_dirs, (str, bytes)) or not hasattr(run_dirs, "__iter__"):
        run_dirs = [run_dirs]
    histories = [as_run_curves(run) for run in run_dirs]
    if not histories:
        raise ValueError("plot_runs: no runs given")
    curves = [history.metric(metric) for history in histories]  # raises for a missing metric
    if ax is None:
        fig, (ax,) = _subplots(1, width=6.4, height=4.2)
    fig = ax.figure
    for (x, y), label in zip(curves, run_labels(histories)):
        if metric == "step_loss":
            weight = auto_weight(len(y)) if smoothing is None else smoothing
            (line,) = ax.plot(x, smooth(y, weight), linewidth=1.8, label=label)
            ax.plot(x, y, color=line.get_color(), alpha=0.15, linewidth=0.6)
        else:
            ax.plot(x, y, "o-" if len(x) <= 30 else "-", markersize=3.5, label=label)
    ys = np.concatenate([y for _, y in curves])
    if metric.endswith("_acc") and _is_fraction(ys):
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    if metric == "lr" and np.nanmin(ys) > 0 and np.nanmax(ys) / np.nanmin(ys) >= 10:
        ax.set_yscale("log")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(f"{METRIC_LABELS.get(metric, metric)}: {len(histories)} run{'s' * (len(histories) > 1)}")
    _epoch_axis(ax, histories[0], last_epoch=max(_last_epoch(history) for history in histories))
    ax.legend(fontsize="small")
    return fig
