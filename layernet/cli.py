"""The ``layernet`` command.

    layernet train CONFIG [KEY=VALUE ...] [--resume RUN_DIR] [--print-config]
    layernet train --resume RUN_DIR [KEY=VALUE ...]       (the config from RUN_DIR/config.yaml)
    layernet eval RUN_DIR [--split test|val|train] [--checkpoint best|last] [--json] [--confusion FILE]
    layernet summary CONFIG [KEY=VALUE ...]
    layernet gradcheck CONFIG [KEY=VALUE ...] [--batch-size N] [--plot FILE]
    layernet plot RUN_DIR [RUN_DIR ...] [-o FILE] [--metric NAME]
    layernet plot RUN_DIR --watch [-o FILE] [--interval SECONDS] [--idle SECONDS]   (redraw while the run is written)
    layernet data path|verify|download DATASET [--root DIR] [--path FILE]
    layernet sample RUN_DIR [--length N] [--prime TEXT] [--temperature T] [--seed S]
    layernet sweep SWEEP.yaml [KEY=VALUE ...] [--resume SWEEP_DIR] [--dry-run]   (layernet.sweep.command)

Exit codes: 0 success; 1 a check failed (gradcheck above 1e-5, data verify, a run that diverged);
2 bad usage, config or data (the message, one line per problem, on stderr, no traceback);
130 interrupted (Ctrl-C). User errors are ``ValueError``/``OSError`` subclasses and are printed
as messages; anything else is a bug and keeps its traceback.

Heavy modules (the layers, numba, pydantic) are imported by the commands that need them, so
``layernet --help`` and ``layernet data path`` stay fast.

This module holds the parser, ``train`` and ``main``; the other commands are in ``cli_config``
(``summary``, ``gradcheck``), ``cli_run_dir`` (``eval``, ``plot``, ``sample``) and ``cli_data``
(``data``), imported by ``build_parser``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(ValueError):
    """Bad command-line usage (argparse's complaint, as one line)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are exceptions (one line) instead of exiting.

    With ``intermixed=True`` (the commands that take overrides), positionals may follow options:
    ``layernet train run.yaml --resume DIR trainer.epochs=3``; plain argparse would leave the
    overrides after the option unconsumed.
    """

    def __init__(self, *args, intermixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.intermixed = intermixed
        self._mixing = False

    def parse_known_args(self, args=None, namespace=None):
        if not self.intermixed or self._mixing:  # parse_known_intermixed_args calls back in here
            return super().parse_known_args(args, namespace)
        self._mixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._mixing = False

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _say_error(command: str | None, err: BaseException) -> None:
    """Print a user error: one line per problem (a ConfigError may list several)."""
    prefix = f"layernet {command}" if command else "layernet"
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        lines = [f"{err.filename}: {err.strerror}"]
    else:
        lines = getattr(err, "problems", None) or [" ".join(str(err).split()) or type(err).__name__]
    for line in lines:
        print(f"{prefix}: error: {line}", file=sys.stderr)


# ------------------------------------------------------------------ commands
def cmd_train(args) -> int:
    if args.config is not None and args.resume is not None and "=" in args.config and not Path(args.config).exists():
        args.overrides, args.config = [args.config, *args.overrides], None  # layernet train --resume DIR KEY=VALUE
    if args.config is None and args.resume is None:
        raise UsageError("train: give a CONFIG (a YAML file such as configs/quickstart.yaml), or --resume RUN_DIR "
                         "(see 'layernet train --help')")
    if args.print_config:
        import yaml

        from .config import resolve

        config = args.config if args.config is not None else Path(args.resume) / "config.yaml"
        print(yaml.safe_dump(resolve(config, args.overrides), sort_keys=False), end="")
        return EXIT_OK
    from .runner import RunInterrupted
    from .trainer import TrainingError, run

    try:
        run_dir = run(args.config, resume=args.resume, overrides=args.overrides)
    except TrainingError as err:  # diverged, or a checkpoint could not be written
        _say_error("train", err)
        return EXIT_FAILED
    except RunInterrupted as stop:
        print(f"layernet train: interrupted; {_resume_hint(args, stop.run_dir)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(run_dir)  # stdout holds the run directory alone: RUN=$(layernet train cfg.yaml)
    return EXIT_OK


def _resume_hint(args, run_dir: Path) -> str:
    """The command that continues ``run_dir``, with the paths and overrides this one was given."""
    import shlex

    from .runner import display_path

    if not (run_dir / "checkpoints" / "last.npz").is_file():
        return f"stopped before its first checkpoint, nothing to resume in {display_path(run_dir)}"
    words = ["layernet", "train", *([args.config] if args.config else []), "--resume", display_path(run_dir),
             *args.overrides]
    return "continue with: " + " ".join(shlex.quote(str(word)) for word in words)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, found {text!r}")
    return value


# ------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .cli_config import cmd_gradcheck, cmd_summary
    from .cli_data import cmd_data
    from .cli_run_dir import add_sample_parser, cmd_eval, cmd_plot

    parser = _Parser(prog="layernet", description="Train, check and inspect layernet models from YAML run configs.")
    parser.add_argument("--version", action="version", version=f"layernet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    overrides = dict(nargs="*", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. trainer.epochs=3 optimizer.lr=3e-4 model.layers.0.out_channels=16")

    train = commands.add_parser("train", intermixed=True, help="train a model from a YAML config; prints the run directory",
                                description="Train from CONFIG into a new run directory, printed on stdout at the "
                                            "end (progress goes to stderr). With --resume RUN_DIR, CONFIG may be "
                                            "left out: the run's own config.yaml is used; a CONFIG that differs "
                                            "from it (or an override) is refused, except in trainer.epochs, "
                                            "trainer.verbose, output.*, data.root and data.download.")
    train.add_argument("config", metavar="CONFIG", nargs="?", help="YAML run config, e.g. configs/quickstart.yaml")
    train.add_argument("overrides", **overrides)
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    train.add_argument("--print-config", action="store_true", help="print the resolved config (defaults filled in) and exit")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("eval", help="score a run's checkpoint on a split",
                                   description="Evaluate RUN_DIR's best checkpoint (else its last), or the one "
                                               "--checkpoint names, on one split.")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--split", choices=["test", "val", "train"], default="test")
    evaluate.add_argument("--checkpoint", choices=["best", "last"], default="best",
                          help="best: the monitored best (the last one when the run kept no best); "
                               "last: the end of the run (default best)")
    evaluate.add_argument("--json", action="store_true",
                          help="print the result as one JSON object: run_dir, split, loss, acc, num_examples, "
                               "checkpoint, epoch (and confusion)")
    evaluate.add_argument("--confusion", metavar="FILE", help="also write the confusion matrix figure (PNG)")
    evaluate.set_defaults(func=cmd_eval)

    summary = commands.add_parser("summary", intermixed=True, help="print the model table of a config",
                                  description="Print CONFIG's model: layers, output shapes and parameter counts.")
    summary.add_argument("config", metavar="CONFIG")
    summary.add_argument("overrides", **overrides)
    summary.set_defaults(func=cmd_summary)

    grad = commands.add_parser("gradcheck", intermixed=True, help="check every gradient of a config's model (float64)",
                               description="Gradient-check every layer of CONFIG's model and the whole model with "
                                           "its loss in float64 on a small batch of random inputs; exit 1 if any "
                                           "relative error is above 1e-5.")
    grad.add_argument("config", metavar="CONFIG")
    grad.add_argument("overrides", **overrides)
    grad.add_argument("--batch-size", type=_positive_int, default=4, metavar="N", help="examples in the batch (default 4)")
    grad.add_argument("--samples", type=_count, default=10, metavar="K",
                      help="elements of each array perturbed in the whole-model check (default 10; 0 = all, slow)")
    grad.add_argument("--seed", type=_count, default=0, help="seed of the random inputs, labels and samples (default 0)")
    grad.add_argument("--plot", metavar="FILE", help="also draw the errors into FILE (png, pdf, svg)")
    grad.set_defaults(func=cmd_gradcheck)

    plot = commands.add_parser("plot", help="plot training curves of one or more runs",
                               description="One run: its loss/accuracy/lr figure; several: one metric overlaid.")
    plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    plot.add_argument("-o", "--output", metavar="FILE", help="where to write the figure")
    plot.add_argument("--metric", help="the metric to compare (default val_acc)")
    plot.add_argument("--watch", action="store_true",
                      help="redraw RUN_DIR's figure whenever its history.csv/steps.csv change, until the run ends")
    plot.add_argument("--interval", type=_positive_float, default=2.0, metavar="SECONDS",
                      help="with --watch: how often to look at the files (default 2)")
    plot.add_argument("--idle", type=_positive_float, default=600.0, metavar="SECONDS",
                      help="with --watch: stop when the files have not changed for this long (default 600; "
                           "a run that ends normally stops the watch at once)")
    plot.set_defaults(func=cmd_plot)

    data = commands.add_parser("data", help="where a data set's files go, whether they are usable, fetch them",
                               description="path: list the files DATASET is read from; verify: check them "
                                           "(exit 1 if any is missing or damaged; nothing is downloaded); "
                                           "download: fetch the missing ones (MD5-checked, as data.download: true) "
                                           "and print their paths.")
    data.add_argument("action", choices=["path", "verify", "download"])
    data.add_argument("dataset", metavar="DATASET", help="digits, spiral, mnist, fashion_mnist, cifar10 or npz")
    data.add_argument("--root", metavar="DIR", help="the directory holding the files (default: $LAYERNET_DATA/<name>, "
                                                    "else $XDG_CACHE_HOME/layernet/<name>, else ~/.cache/layernet/<name>)")
    data.add_argument("--path", metavar="FILE", help="the .npz file (dataset npz)")
    data.set_defaults(func=cmd_data)

    add_sample_parser(commands)  # layernet sample RUN_DIR [--length N] [--prime TEXT] [--temperature T] [--seed S]

    from .sweep.command import add_sweep_parser  # layernet sweep SWEEP.yaml [KEY=VALUE ...] [--resume DIR] [--dry-run]

    add_sweep_parser(commands)
    return parser


def _int_at_least(minimum: int, words: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {words}, found {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive int")

_count = _int_at_least(0, "an int >= 0")


def _unrecognized(args, extras: list[str]) -> str:
    """argparse's "unrecognized arguments" complaint, plus the override an option was meant to be.

    Config values are set as ``KEY=VALUE``; a user who types ``--epochs 3`` (or ``--lr``, or
    ``--trainer.epochs``) is told ``use trainer.epochs=3``, the key found in CONFIG (see
    ``config.overrides.suggest_override``). Commands without a CONFIG get argparse's words only.
    """
    config = getattr(args, "config", None)
    if config is not None:  # argparse may set overrides after an unknown option aside too: not unrecognized
        extras = [word for word in extras if word.startswith("-") or "=" not in word]
    message = f"unrecognized arguments: {' '.join(extras)}"
    if config is not None:
        import yaml

        from .config.overrides import options_as_overrides
        from .config.yaml_lines import load_yaml

        try:
            raw = load_yaml(Path(config).read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError, yaml.YAMLError):
            raw = {}  # the schema's keys (trainer.epochs, ...) are still known
        hints = options_as_overrides(extras, raw)
        if hints:
            return f"{message}; config values are set as KEY=VALUE: use {' '.join(hints)}"
    return f"{message} (see 'layernet {args.command} --help')"


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    command = None
    try:
        args, extras = parser.parse_known_args(argv)
        command = args.command
        if extras:
            raise UsageError(_unrecognized(args, extras))
        return args.func(args)
    except SystemExit as stop:  # --help and --version print and "exit"
        return stop.code if isinstance(stop.code, int) else EXIT_OK if stop.code is None else EXIT_USAGE
    except KeyboardInterrupt:  # train says how to resume itself (cmd_train); here nothing was written yet
        print(f"layernet {command or ''}: interrupted".replace(" :", ":"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as err:
        _say_error(command, err)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
