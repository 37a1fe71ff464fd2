"""The lines ``layernet sweep`` prints besides progress: the dry run and the closing summary.

    dry_run_lines(plan)     one ``layernet train ...`` command per trial (grid, random), or the
                            search and its space (optuna: trials are chosen while the sweep runs)
    summary_line(sweep_dir) ``12 ok, 1 failed; best t007 val_acc 0.9633 -> .../best.yaml``
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import table
from .runner import Plan


def dry_run_lines(plan: Plan) -> list[str]:
    """One line per trial: the ``layernet train`` command that reproduces it (optuna: the search, the space)."""
    if plan.adaptive:
        return _adaptive_lines(plan)
    return [f"{table.trial_id(i)}  layernet train {plan.spec.base} {' '.join(plan.overrides(i))}".rstrip()
            for i in range(len(plan.values))]


def _adaptive_lines(plan: Plan) -> list[str]:
    spec = plan.spec
    executor = spec.executor
    batch = (f"{max(1, executor.workers or 1)} at a time (executor.workers)" if executor.type == "local"
             else "as many at a time as the Dask workers have threads")
    lines = [f"optuna search (TPE): {len(plan.values)} trials, chosen adaptively from the results of earlier "
             "trials, so they cannot be listed before they run",
             f"trials asked {batch}; seed {spec.seed}; metric {spec.metric.name} ({spec.mode})", "space:"]
    width = max(map(len, spec.space))
    lines += [f"  {dim.key:<{width}}  {dim.kind} {table.format_value(list(dim.values))}"
              for dim in spec.build_space().dimensions]
    lines.append(f"each trial: layernet train {spec.base} {' '.join(plan.base_overrides)} "
                 f"{' '.join(f'{key}=<value>' for key in spec.space)}".replace("  ", " "))
    return lines


def summary_line(sweep_dir) -> str:
    """``12 ok, 1 failed, 0 lost; best t007 val_acc 0.9633 -> best.yaml`` for the CLI's last line."""
    sweep_dir = Path(sweep_dir)
    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    metric = spec["metric"]["name"]
    rows = table.read_table(sweep_dir / "trials.csv")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "lost", "pending")}
    text = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s == "ok")
    mode = spec["metric"]["mode"] if spec["metric"]["mode"] != "auto" else ("min" if metric.endswith("_loss") else "max")
    best = table.best_row(rows, metric, mode)
    if best is not None:
        value = table.metric_of(best, metric)
        text += f"; best {best['trial']} {metric} {value:.4f} -> {sweep_dir / 'best.yaml'}"
    return text
