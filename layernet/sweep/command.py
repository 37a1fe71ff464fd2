"""``layernet sweep SWEEP.yaml [overrides] [--resume SWEEP_DIR] [--dry-run]``.

``add_sweep_parser(subparsers)`` adds the subcommand to the ``layernet`` parser (its handler is
``sweep_command``, stored as the ``func`` default); ``sweep_command(args) -> int`` runs it.

Exit codes: 0 the sweep finished with at least one ``ok`` trial (or the dry run listed the
trials); 1 every trial failed; 2 a bad sweep file, base config, override or resume directory,
or an unreachable Dask scheduler (one line, no traceback); 130 interrupted (trials.csv is
written first, so ``--resume`` continues).
"""

from __future__ import annotations

import sys

HELP = "run a hyperparameter sweep (a YAML sweep file) locally or on a Dask cluster"


def add_sweep_parser(subparsers):
    # intermixed: overrides may come before or after the options (s.yaml --dry-run a=1 b=2)
    parser = subparsers.add_parser("sweep", intermixed=True, help=HELP, description=HELP + ". Every trial is an ordinary "
                                   "run directory under the sweep directory's runs/.")
    parser.add_argument("sweep_file", metavar="SWEEP.yaml", help="the sweep file (base config, space, search, executor)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="overrides for the base config of every trial (trainer.epochs=2), or for the sweep "
                             "file itself with a sweep. prefix (sweep.search.trials=4, sweep.executor.workers=1)")
    parser.add_argument("--resume", metavar="SWEEP_DIR", help="continue this sweep directory: finished trials are skipped")
    parser.add_argument("--dry-run", action="store_true", help="validate and print every trial's overrides (optuna: the "
                        "number of trials and the space, as its trials are chosen while it runs); run nothing")
    parser.add_argument("--progress", choices=("auto", "bar", "lines", "quiet"), default="auto",
                        help="a bar over trials (auto: on a terminal) or a line per finished trial")
    parser.set_defaults(func=sweep_command)
    return parser


def _error(message: str) -> int:
    lines = str(message).strip().splitlines() or ["error"]
    for line in lines:
        print(f"layernet sweep: error: {line}", file=sys.stderr)
    return 2


def sweep_command(args) -> int:
    from .runner import SweepError, plan_sweep, run_sweep
    from .text import dry_run_lines, summary_line

    try:
        if args.dry_run:
            for line in dry_run_lines(plan_sweep(args.sweep_file, args.overrides)):
                print(line)
            return 0
        sweep_dir = run_sweep(args.sweep_file, args.overrides, resume=args.resume, progress=args.progress)
    except KeyboardInterrupt:
        print("layernet sweep: interrupted; continue with --resume SWEEP_DIR", file=sys.stderr)
        return 130
    except (SweepError, ValueError, OSError) as err:
        return _error(err)
    print(summary_line(sweep_dir))
    print(sweep_dir)
    from . import table

    return 0 if any(row["status"] == "ok" for row in table.read_table(sweep_dir / "trials.csv")) else 1
