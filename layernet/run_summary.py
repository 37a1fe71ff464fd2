"""What a finished run writes and says: ``summary.json`` and the one line a run ends with.

``_summary`` builds the summary dict (status, stop reason, best epoch, test score of the best
checkpoint, per-class accuracy and confusion matrix of a classification run, versions);
``_write_json`` writes it JSON-safe (NaN/inf -> null); ``result_line`` and ``display_path``
format the line ``run`` prints to stderr. Used by ``layernet.runner``.
"""

from __future__ import annotations

import contextlib
import json
import platform
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .checkpoint import load_checkpoint, load_model_state
from .trainer import Trainer


def _versions() -> dict:
    import numba

    from . import __version__

    return {"layernet": __version__, "numpy": np.__version__, "numba": numba.__version__,
            "python": platform.python_version()}


def _clean(value):
    """JSON-safe: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _write_json(path: Path, data: dict) -> None:
    with atomic_write(path) as handle:
        json.dump(_clean(data), handle, indent=2)
        handle.write("\n")


_REASONS = {
    "running": "the run is in progress (or was killed)",
    "completed": "all epochs ran",
    "early_stopping": "early stopping: the monitored metric stopped improving",
    "interrupted": "interrupted (Ctrl-C)",
    "stopped": "a callback stopped training",
}


def _summary(cfg, trainer: Trainer, status: str, reason: str | None, test: dict | None, resumed: int) -> dict:
    history = trainer.history
    best_row = next((row for row in history.rows if row["epoch"] == trainer.best_epoch), None)
    return {
        "name": cfg["name"], "status": status, "stopped_early": status != "completed",
        "stop_reason": reason or _REASONS.get(status, status),
        "epochs_run": len(history), "epochs": trainer.epochs, "steps": trainer.step,
        "monitor": trainer.monitor, "best_epoch": trainer.best_epoch or None, "best_value": trainer.best_value,
        "best_val_loss": best_row["val_loss"] if best_row else None,
        "best_val_acc": best_row["val_acc"] if best_row else None,
        "final": history.rows[-1] if history.rows else None,
        "test_loss": test["loss"] if test else None, "test_acc": test["acc"] if test else None,
        "test_checkpoint": test["checkpoint"] if test else None,
        "last_checkpoint": None if trainer.last_checkpoint is None else
        {"epoch": trainer.last_checkpoint[0], "step": trainer.last_checkpoint[1]},
        "wall_time_s": trainer.wall_time, "resumed": resumed, "versions": _versions(),
        **({k: test[k] for k in ("per_class_accuracy", "confusion_matrix", "confusion_split") if k in test}
           if test else {}),
    }


def _test_best(trainer: Trainer, run_dir: Path, dataset) -> dict | None:
    """Evaluate the best checkpoint (else the last one) on the test split, if there is one, with
    the per-class accuracy and confusion matrix of a classification run."""
    if dataset.x_test is None:
        return None
    for which in ("best", "last"):
        path = run_dir / "checkpoints" / f"{which}.npz"
        if path.is_file():
            load_model_state(trainer.model, load_checkpoint(path))
            result = {**trainer.evaluate(dataset.x_test, dataset.y_test), "checkpoint": which}
            return {**result, **_per_class(trainer.model, dataset.x_test, dataset.y_test, dataset, "test")}
    return None


def _per_class(model, x, y, dataset, split: str) -> dict:
    """``per_class_accuracy``, ``confusion_matrix`` and ``confusion_split`` for integer labels and
    (N, C) class scores; ``{}`` otherwise (a regression run)."""
    from .metrics import confusion_counts, per_class_accuracy

    y = np.asarray(y)
    names = [str(name) for name in (dataset.class_names or [])]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or not names:
        return {}
    scores = model.predict(x)
    if scores.ndim != 2 or scores.shape[1] != len(names):
        return {}
    matrix = confusion_counts(y, scores.argmax(axis=1), len(names))
    return {"per_class_accuracy": dict(zip(names, per_class_accuracy(matrix))),
            "confusion_matrix": matrix.tolist(), "confusion_split": split}


def display_path(path) -> str:
    """``path`` relative to the working directory when it lies inside it, else absolute."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def result_line(summary: dict, run_dir) -> str:
    """The one line a finished run ends with: the test score of the checkpoint it came from,
    that checkpoint's epoch, and the run directory (the best validation score without a test split)."""
    where = f"run directory {display_path(run_dir)}"
    if summary.get("test_acc") is not None:
        which = summary["test_checkpoint"]
        epoch = summary["best_epoch"] if which == "best" else (summary["last_checkpoint"] or {}).get("epoch")
        return (f"test acc {summary['test_acc']:.4f}, loss {summary['test_loss']:.4f} "
                f"({which} checkpoint, epoch {epoch}); {where}")
    if summary.get("best_epoch") is not None and summary.get("best_value") is not None:
        return (f"best {summary['monitor']} {summary['best_value']:.4f} at epoch {summary['best_epoch']} "
                f"(no test split); {where}")
    return where
