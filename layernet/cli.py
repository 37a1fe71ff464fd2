"""The ``layernet`` command.

    layernet train CONFIG [KEY=VALUE ...] [--resume RUN_DIR] [--print-config]
    layernet eval RUN_DIR [--split test|val|train] [--confusion FILE]
    layernet summary CONFIG [KEY=VALUE ...]
    layernet gradcheck CONFIG [KEY=VALUE ...] [--batch-size N] [--plot FILE]
    layernet plot RUN_DIR [RUN_DIR ...] [-o FILE] [--metric NAME]
    layernet data path|verify DATASET [--root DIR] [--path FILE]
    layernet sample RUN_DIR [--length N] [--prime TEXT] [--temperature T] [--seed S]
    layernet sweep SWEEP.yaml [KEY=VALUE ...] [--resume SWEEP_DIR] [--dry-run]   (layernet.sweep.command)

Exit codes: 0 success; 1 a check failed (gradcheck above 1e-5, data verify, a run that diverged);
2 bad usage, config or data (the message, one line per problem, on stderr, no traceback);
130 interrupted (Ctrl-C). User errors are ``ValueError``/``OSError`` subclasses and are printed
as messages; anything else is a bug and keeps its traceback.

Heavy modules (the layers, numba, pydantic) are imported by the commands that need them, so
``layernet --help`` and ``layernet data path`` stay fast.
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
    if args.print_config:
        import yaml

        from .config import resolve

        print(yaml.safe_dump(resolve(args.config, args.overrides), sort_keys=False), end="")
        return EXIT_OK
    from .trainer import TrainingError, run

    try:
        run_dir = run(args.config, resume=args.resume, overrides=args.overrides)
    except TrainingError as err:  # diverged, or a checkpoint could not be written
        _say_error("train", err)
        return EXIT_FAILED
    print(run_dir)
    return EXIT_OK


def cmd_eval(args) -> int:
    from .trainer import evaluate_run

    result = evaluate_run(args.run_dir, args.split, predictions=args.confusion is not None)
    print(
        f"{result['split']}: loss {result['loss']:.4f}, acc {result['acc']:.4f} "
        f"({result['num_examples']} examples, {result['checkpoint']} checkpoint, epoch {result['epoch']})"
    )
    if args.confusion is not None:
        from .plotting import confusion_command

        title = f"{Path(args.run_dir).name}: {result['split']} split, accuracy {result['acc']:.2%}"
        print(confusion_command(result["y_true"], result["y_pred"], args.confusion, result["class_names"], title=title))
    return EXIT_OK


def _config_and_data(args):
    """The validated config, its resolved dict and its data set, with the model's shapes checked."""
    from .config import check_model_shapes, load_config
    from . import trainer  # noqa: F401  (runner.py must be imported through trainer.py: they import each other)
    from .runner import load_run_data

    config = load_config(args.config, args.overrides)
    resolved = config.model_dump()
    dataset = load_run_data(resolved)
    if dataset.vocabulary is not None:  # text: embedding and output sizes default to the vocabulary's
        from .data.text import fill_vocabulary_sizes

        for layers in (config.model.layers, resolved["model"]["layers"]):
            fill_vocabulary_sizes(layers, len(dataset.vocabulary))
    check_model_shapes(config, dataset.input_shape, num_classes=dataset.num_classes, label_shape=dataset.label_shape)
    return config, resolved, dataset


def cmd_summary(args) -> int:
    from .model import Sequential

    _, resolved, dataset = _config_and_data(args)
    model = Sequential.from_config(resolved["model"], input_shape=dataset.input_shape, rng=resolved["seed"])
    print(f"{resolved['name']}: data '{dataset.name}', {dataset.num_classes} classes, loss {resolved['model']['loss']}")
    model.summary(dataset.input_shape)
    return EXIT_OK


def cmd_gradcheck(args) -> int:
    import numpy as np

    from .gradcheck import BAD, GOOD, gradcheck_report, random_input
    from .losses import make_loss
    from .model import Sequential

    _, resolved, dataset = _config_and_data(args)
    # Random inputs of the data's shape, not real examples: flat image backgrounds make max-pool
    # windows tie, where a finite difference measures nothing meaningful.
    rng = np.random.default_rng(args.seed)
    model = Sequential.from_config(resolved["model"], input_shape=dataset.input_shape, rng=resolved["seed"])
    x = random_input(model[0], rng, (args.batch_size, *dataset.input_shape))  # valid indices for an Embedding
    y = rng.integers(0, dataset.num_classes, size=(args.batch_size, *dataset.label_shape))
    model.astype(np.float64)
    loss = make_loss(resolved["model"]["loss"])
    report = gradcheck_report(model, loss, x, y, samples=args.samples, seed=args.seed)

    rows = [(group, name, error) for group, errors in report.items() for name, error in errors.items()]
    width = max(len(group) for group, _, _ in rows)
    sampled = "every element" if args.samples == 0 else f"{args.samples} elements per array"
    print(f"gradient check of '{resolved['name']}' in float64 on {args.batch_size} random inputs of shape "
          f"{tuple(dataset.input_shape)}; layers: every element, model: {sampled}")
    print(f"{'layer':<{width}}  {'array':<10}  {'rel. error':>10}  verdict (ok < {GOOD:g} <= check <= {BAD:g} < FAIL)")
    failed = 0
    for group, name, error in rows:
        verdict = "ok" if error < GOOD else "check" if error <= BAD else "FAIL"
        failed += verdict == "FAIL" or not np.isfinite(error)
        print(f"{group:<{width}}  {name:<10}  {error:>10.2e}  {verdict}")
    if args.plot:
        from .plotting import gradcheck_command

        print(f"plot: {gradcheck_command(report, args.plot, title=resolved['name'])}")
    if failed:
        print(f"layernet gradcheck: {failed} gradient(s) with a relative error above {BAD:g}", file=sys.stderr)
        return EXIT_FAILED
    print(f"all {len(rows)} gradients within {BAD:g}")
    return EXIT_OK


def cmd_plot(args) -> int:
    from .plotting import plot_command

    print(plot_command(args.run_dirs, out=args.output, metric=args.metric))
    return EXIT_OK


def cmd_data(args) -> int:
    from .data import dataset_files, verify

    options = {} if args.path is None else {"path": args.path}
    if args.action == "path":
        files = dataset_files(args.dataset, args.root, **options)
        if not files:
            print(f"{args.dataset}: no files needed (embedded in the package, generated, or named by data.path)")
        for path in files:
            print(path)
        return EXIT_OK
    checks = verify(args.dataset, args.root, **options)
    for check in checks:
        print(f"{'ok' if check.ok else 'FAIL':<4}  {check.path}: {check.detail}")
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILED


def cmd_sample(args) -> int:
    from .sample import sample

    print(sample(args.run_dir, length=args.length, prime=args.prime, temperature=args.temperature, seed=args.seed))
    return EXIT_OK


def add_sample_parser(commands) -> None:
    """``layernet sample RUN_DIR --length 300 --prime "The " --temperature 0.8 --seed 0``."""
    sample = commands.add_parser("sample", help="print text generated by a trained character model",
                                 description="Generate text from RUN_DIR's character model (trained with dataset: "
                                             "text): PRIME, then LENGTH characters drawn one at a time from the "
                                             "model's softmax at TEMPERATURE. The same seed gives the same text.")
    sample.add_argument("run_dir", metavar="RUN_DIR")
    sample.add_argument("--length", type=_count, default=300, metavar="N", help="characters to generate (default 300)")
    sample.add_argument("--prime", default="", metavar="TEXT", help="text to start from (default: none)")
    sample.add_argument("--temperature", type=_positive_float, default=1.0, metavar="T",
                        help="softmax temperature > 0 (default 1.0; lower is more conservative)")
    sample.add_argument("--seed", type=_count, default=0, help="seed of the draws (default 0)")
    sample.set_defaults(func=cmd_sample)


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

    parser = _Parser(prog="layernet", description="Train, check and inspect layernet models from YAML run configs.")
    parser.add_argument("--version", action="version", version=f"layernet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    overrides = dict(nargs="*", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. trainer.epochs=3 optimizer.lr=3e-4 model.layers.0.out_channels=16")

    train = commands.add_parser("train", intermixed=True, help="train a model from a YAML config; prints the run directory",
                                description="Train from CONFIG into a new run directory (printed at the end).")
    train.add_argument("config", metavar="CONFIG", help="YAML run config, e.g. configs/quickstart.yaml")
    train.add_argument("overrides", **overrides)
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    train.add_argument("--print-config", action="store_true", help="print the resolved config (defaults filled in) and exit")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("eval", help="score a run's best checkpoint on a split",
                                   description="Evaluate RUN_DIR's best checkpoint (else its last) on one split.")
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--split", choices=["test", "val", "train"], default="test")
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
    plot.set_defaults(func=cmd_plot)

    data = commands.add_parser("data", help="where a data set's files go, and whether they are usable",
                               description="path: list the files DATASET is read from; verify: check them "
                                           "(exit 1 if any is missing or damaged). Nothing is downloaded.")
    data.add_argument("action", choices=["path", "verify"])
    data.add_argument("dataset", metavar="DATASET", help="digits, spiral, mnist, fashion_mnist, cifar10 or npz")
    data.add_argument("--root", metavar="DIR", help="the directory holding the files (default: $LAYERNET_DATA/<name> "
                                                    "or ~/.cache/layernet/<name>)")
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


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    command = None
    try:
        args = parser.parse_args(argv)
        command = args.command
        return args.func(args)
    except SystemExit as stop:  # --help and --version print and "exit"
        return stop.code if isinstance(stop.code, int) else EXIT_OK if stop.code is None else EXIT_USAGE
    except KeyboardInterrupt:
        hint = " (continue with: layernet train CONFIG --resume RUN_DIR)" if command == "train" else ""
        print(f"layernet {command or ''}: interrupted{hint}".replace(" :", ":"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as err:
        _say_error(command, err)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
