"""Hyperparameter sweeps: one YAML file, one command, on this machine or on a Dask cluster.

    from layernet.sweep import run_sweep, plan_sweep
    sweep_dir = run_sweep("configs/sweep_quickstart.yaml", ["trainer.epochs=2"])

One concept per module: ``space`` (distributions, seeded sampling, grids), ``spec`` (the sweep
file's schema and validation), ``trial`` (the training function every executor runs), ``local``
and ``dask_executor`` (where trials run), ``table`` (trials.csv and best.yaml), ``runner`` (the
loop: plan, validate, run, record, resume), ``optuna_search`` (the TPE study behind ``search:
{type: optuna}``), ``progress``, ``plots``, ``text`` (the dry run and the summary line) and
``command`` (``layernet sweep``). Nothing heavy is imported here: a worker process imports this
package before it has set its thread counts.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "run_sweep": "layernet.sweep.runner",
    "plan_sweep": "layernet.sweep.runner",
    "dry_run_lines": "layernet.sweep.text",
    "load_sweep": "layernet.sweep.spec",
    "run_trial": "layernet.sweep.trial",
    "save_sweep_plots": "layernet.sweep.plots",
    "plot_sweep": "layernet.sweep.plots",
    "add_sweep_parser": "layernet.sweep.command",
    "sweep_command": "layernet.sweep.command",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'layernet.sweep' has no attribute {name!r}")
