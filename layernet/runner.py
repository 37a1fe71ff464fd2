"""``run(config)``: one training run from a config, into a run directory; ``evaluate_run`` reloads one.

A run directory holds

- ``config.yaml``: the resolved config (every default filled in);
- ``history.csv`` (epoch, train_loss, train_acc, val_loss, val_acc, lr, time_s) and ``steps.csv``
  (step, epoch, loss, lr), see ``layernet.metrics``;
- ``checkpoints/last.npz`` and ``checkpoints/best.npz``, see ``layernet.checkpoint``;
- ``summary.json``: ``status`` (running, completed, early_stopping, nan, interrupted, error) and
  ``stop_reason`` (a sentence), epochs and steps run, the monitored metric's best epoch and value,
  the best epoch's val metrics, ``test_loss``/``test_acc`` of the *best* checkpoint on the test
  split (when the data set has one and the run did not stop on an error), wall time, how many
  times the run was resumed, and the versions of layernet, numpy, numba and Python;
- for classification runs, ``per_class_accuracy`` (class name -> accuracy) and ``confusion_matrix``
  (rows: true class, columns: predicted, in ``class_names`` order) in ``summary.json``, of the same
  checkpoint and split as ``test_acc`` (``confusion_split``);
- ``vocabulary.json`` for a character model (``dataset: text``): its characters in index order;
- ``loss.png``/``accuracy.png`` when ``output.plots`` is on and ``layernet.plot`` exists;
- ``tensorboard/`` (``output.tensorboard: true``: event files, ``layernet.callbacks.TensorBoard``)
  and ``live.png`` (``trainer.callbacks: [live_plot]``).

Seeding: ``seed`` fixes the validation split (and the spiral's points), the initial weights
(``Sequential.from_config(rng=seed)``) and the trainer's shuffling, so the same config gives the
same history and parameters bit for bit, and ``run(config, resume=run_dir)`` continues an
interrupted run to the same result as an uninterrupted one.

``summary.json`` and the closing line are built in ``layernet.run_summary``; which config keys a
resume may change (``RESUME_SAFE``, ``check_resume_config``) is ``layernet.resume_check``. Both are
importable from here as before.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .checkpoint import load_checkpoint, load_model_state
from .interrupt import deferred_sigint
from .progress import resolve_mode
from .resume_check import RESUME_SAFE, _config_name, check_resume_config  # noqa: F401  (RESUME_SAFE: importable from here)
from .run_summary import _summary, _test_best, _write_json, display_path, result_line
from .trainer import CallbackError, CheckpointError, Trainer, TrainingDiverged

# Not ``layernet/run.py``: a submodule named ``run`` would shadow the function ``layernet.run``.


def _build(run_config, cfg: dict, dataset):
    """Model, loss, optimizer and schedule for a config (RunConfig and its resolved dict) and a data set.

    The layer stack is checked against the data first (a ``ConfigError`` naming file:line and the layer).
    """
    from .config import check_augment, check_model_shapes
    from .model import Sequential
    from .losses import make_loss
    from .registry import OPTIMIZERS, SCHEDULES

    if dataset.vocabulary is not None:  # text: embedding and output sizes default to the vocabulary's
        from .data.text import fill_vocabulary_sizes

        for layers in (run_config.model.layers, cfg["model"]["layers"]):
            fill_vocabulary_sizes(layers, len(dataset.vocabulary))
    check_model_shapes(run_config, dataset.input_shape, num_classes=dataset.num_classes,
                       label_shape=dataset.label_shape)
    check_augment(run_config, dataset.input_shape)
    model = Sequential.from_config(cfg["model"], input_shape=dataset.input_shape, rng=cfg["seed"])
    loss = make_loss(cfg["model"]["loss"])
    opt_cfg = dict(cfg["optimizer"])
    optimizer = OPTIMIZERS.get(opt_cfg.pop("type"))(**opt_cfg)
    schedule = None
    if cfg.get("lr_schedule"):
        sched_cfg = dict(cfg["lr_schedule"])
        schedule = SCHEDULES.get(sched_cfg.pop("type"))(
            base_lr=optimizer.lr, epochs=cfg["trainer"]["epochs"], **sched_cfg)
    return model, loss, optimizer, schedule


def _augment(cfg: dict):
    """The training-batch augmentation of ``data.augment`` (seeded with the run's seed), or None."""
    from .data.augment import Augment

    return Augment.from_config(cfg["data"].get("augment"), cfg["seed"])


def _callbacks(cfg: dict, run_dir: Path) -> list:
    """The callbacks of ``trainer.callbacks`` (names or ``{type, ...}``) and ``output.tensorboard``."""
    from .callbacks import CALLBACKS, TensorBoard

    made = []
    for entry in cfg["trainer"].get("callbacks", []):
        name, args = (entry, {}) if isinstance(entry, str) else (entry["type"], {k: v for k, v in entry.items() if k != "type"})
        if name == "tensorboard":
            made.append(TensorBoard(run_dir / "tensorboard", config=cfg,
                                    **{"histograms_every": cfg["output"].get("histograms_every", 1), **args}))
        else:
            made.append(CALLBACKS[name](run_dir / "live.png", **args))
    if cfg["output"].get("tensorboard") and not any(isinstance(cb, TensorBoard) for cb in made):
        made.append(TensorBoard(run_dir / "tensorboard", cfg["output"].get("histograms_every", 1), config=cfg))
    return made


def load_run_data(cfg: dict):
    """The data set a resolved config's ``data`` section describes (split with the run's seed)."""
    from .data import load_dataset

    data = dict(cfg["data"])
    options = {k: data.pop(k) for k in DATASET_OPTIONS if k in data}
    options = {k: v for k, v in options.items() if v is not None}
    return load_dataset(data["dataset"], root=data.get("root"), download=data.get("download", False),
                        val_size=data.get("val_size") or 0, normalize=data.get("normalize", "none"),
                        limit=data.get("limit"), seed=cfg["seed"], sequence=data.get("sequence"), **options)


#: Keys of the ``data`` section that are options of one data set (passed on only when set).
DATASET_OPTIONS = ("path", "num_classes", "class_names", "classes", "points_per_class", "noise", "seq_len")


def _resolve(config, overrides=()):
    """``(RunConfig, resolved dict)`` of a path, dict or RunConfig (``layernet.config``)."""
    from .config import to_run_config

    run_config = to_run_config(config, list(overrides))
    return run_config, run_config.model_dump()


def create_run_dir(pattern: str, name: str, now: datetime.datetime | None = None) -> Path:
    """Make a new directory from ``pattern`` (``{name}``, ``{timestamp}``), relative to the cwd.

    An existing directory is never reused: ``-2``, ``-3``, ... is appended until the name is free.
    """
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    try:
        base = Path(str(pattern).format(name=name, timestamp=stamp)).expanduser()
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f"output.dir: {pattern!r} is not a valid pattern ({err}); "
                         "use the placeholders {name} and {timestamp}") from None
    base = base if base.is_absolute() else Path.cwd() / base
    for attempt in range(1, 1000):
        path = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
        except OSError as err:
            raise ValueError(f"output.dir: cannot create run directory {path}: {err.strerror or err}") from None
    raise ValueError(f"output.dir: {base} and 998 numbered variants exist already")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped ``run``; ``run_dir`` is the run directory (resumable when it holds
    ``checkpoints/last.npz``). A ``KeyboardInterrupt``, so code that catches that still does."""

    def __init__(self, run_dir: Path):
        super().__init__(str(run_dir))
        self.run_dir = Path(run_dir)


def run(config=None, resume=None, *, overrides=(), verbose=None) -> Path:
    """Train from ``config`` (a YAML path, a dict or a RunConfig) and return the run directory.

    ``resume``: an existing run directory to continue in, from its ``checkpoints/last.npz`` (the
    config defaults to that directory's ``config.yaml``; the config and ``overrides`` may differ
    from it only in ``RESUME_SAFE`` keys, see ``check_resume_config``). A model that does not fit
    the checkpoint raises ValueError naming the first mismatching parameter and both shapes. ``verbose`` overrides
    ``trainer.verbose``. Raises ``TrainingDiverged`` (one-line message naming the step) on a
    non-finite loss, ``CheckpointError`` when a checkpoint cannot be written (both
    ``TrainingError``: the CLI exits 1) and ``RunInterrupted`` (a ``KeyboardInterrupt``; exit 130)
    when Ctrl-C stops training, each after writing the summary. Config and data problems are
    ValueErrors (exit 2).

    Unless quiet, the run directory is printed to stderr when the run starts, and a finished run
    ends with ``result_line`` there. Ctrl-C after the last epoch interrupts nothing: the test
    score, plots and summary are written as for any finished run (a second Ctrl-C stops at once
    and records the run as interrupted; ``--resume`` then writes the missing files).
    """
    run_dir = None
    if resume is not None:
        run_dir = Path(resume).expanduser().resolve()
        if not (run_dir / "checkpoints" / "last.npz").is_file():
            raise ValueError(f"--resume {resume}: no checkpoints/last.npz in that directory (not a run directory, "
                             "or it was stopped before its first checkpoint)")
        if config is None:
            config = run_dir / "config.yaml"
    if config is None:
        raise ValueError("run: give a config (a YAML file or a dict), or a run directory to resume")
    run_config, cfg = _resolve(config, overrides)
    if resume is not None:
        check_resume_config(cfg, _resolve(run_dir / "config.yaml")[1], overrides, config_name=_config_name(config),
                            run_dir=run_dir)
    dataset = load_run_data(cfg)
    model, loss, optimizer, schedule = _build(run_config, cfg, dataset)
    trainer_cfg, ckpt_cfg = cfg["trainer"], cfg["checkpoint"]
    if verbose is None:
        verbose = trainer_cfg.get("verbose", "auto")
    if run_dir is None:
        run_dir = create_run_dir(cfg["output"]["dir"], cfg["name"])
    trainer = Trainer(model, loss, optimizer, schedule, batch_size=trainer_cfg["batch_size"],
                      epochs=trainer_cfg["epochs"], seed=cfg["seed"], early_stopping=trainer_cfg.get("early_stopping"),
                      checkpoint_dir=run_dir / "checkpoints", checkpoint_every=ckpt_cfg["every_epochs"],
                      keep_best=ckpt_cfg["keep_best"], monitor=ckpt_cfg["monitor"], verbose=verbose,
                      history_dir=run_dir, drop_last=trainer_cfg.get("drop_last", False), augment=_augment(cfg),
                      clip_grad_norm=trainer_cfg.get("clip_grad_norm"), metrics=trainer_cfg.get("metrics", ["accuracy"]),
                      callbacks=_callbacks(cfg, run_dir))
    say = _say if resolve_mode(verbose, sys.stderr) != "quiet" else (lambda text: None)
    resumed = 0
    if resume is not None:
        trainer.restore(run_dir / "checkpoints" / "last.npz")
        previous = run_dir / "summary.json"
        resumed = 1 + (json.loads(previous.read_text()).get("resumed", 0) if previous.is_file() else 0)
        say(f"resuming {display_path(run_dir)} from step {trainer.step} ({trainer.epoch} of {trainer.epochs} "
            "epochs finished)")
    else:
        say(f"run directory: {display_path(run_dir)}")
    import yaml

    with atomic_write(run_dir / "config.yaml") as handle:
        yaml.safe_dump(cfg, handle, sort_keys=False)
    if dataset.vocabulary is not None:  # a character model: ``layernet sample`` needs the characters
        from .data.text import save_vocabulary

        save_vocabulary(run_dir, dataset.vocabulary)

    def write_summary(status, reason=None, test=None) -> dict:
        summary = _summary(cfg, trainer, status, reason, test, resumed)
        _write_json(run_dir / "summary.json", summary)
        return summary

    write_summary("running")
    with deferred_sigint(trainer.stop_flag):  # one handler over training and the run's files (fit nests in it)
        _fit(trainer, dataset, run_dir, write_summary)
        trainer.stop_flag.notice = ("interrupt: training has finished; writing its test score, plots and summary "
                                    "(press Ctrl-C again to stop at once)")
        summary = _write_results(trainer, dataset, run_dir, write_summary, plots=cfg["output"].get("plots"))
        if trainer.stop_flag.requested:
            say("interrupt: the run had finished its last epoch; its files are complete")
        say(result_line(summary, run_dir))
    return run_dir


def _fit(trainer: Trainer, dataset, run_dir: Path, write_summary) -> None:
    """``trainer.fit`` on the data set; a stop other than completion is recorded in summary.json."""
    try:
        trainer.fit(dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val)
    except KeyboardInterrupt:
        write_summary("interrupted")
        raise RunInterrupted(run_dir) from None
    except TrainingDiverged as err:
        write_summary("nan", f"{err}; checkpoints/last.npz keeps the last good state")
        raise TrainingDiverged(f"{err} (run directory {run_dir})", err.step, err.epoch) from None
    except (CheckpointError, CallbackError) as err:  # the last checkpoint on disk is kept as it was
        with contextlib.suppress(OSError):  # the disk may be just as full for the summary
            write_summary("error", str(err))
        raise


def _write_results(trainer: Trainer, dataset, run_dir: Path, write_summary, plots: bool) -> dict:
    """After training: the test score of the best checkpoint, summary.json, then the plots (which
    mark the summary's best epoch). Returns the summary. A Ctrl-C (the second one: the first only
    sets the flag) records the run as interrupted; ``--resume`` writes the files again."""
    try:
        summary = write_summary(trainer.stop_reason, None, _test_best(trainer, run_dir, dataset))
        if plots and importlib.util.find_spec("layernet.plot") is not None:
            from .plot import save_run_plots

            save_run_plots(run_dir)
    except KeyboardInterrupt:
        write_summary("interrupted", "interrupted (Ctrl-C) while writing the run's files after the last epoch; "
                                     "--resume writes them")
        raise RunInterrupted(run_dir) from None
    return summary


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def evaluate_run(run_dir, split: str = "test", checkpoint: str = "best", predictions: bool = False) -> dict:
    """Reload a run's config and checkpoint (``best``, falling back to ``last``) and score ``split``.

    Returns ``{"split", "loss", "acc", "num_examples", "checkpoint", "epoch"}``; with
    ``predictions=True`` also ``"y_true"``, ``"y_pred"`` (predicted classes, (N,) int arrays)
    and ``"class_names"``, e.g. for a confusion matrix.
    """
    run_dir = Path(run_dir).expanduser()
    if not (run_dir / "config.yaml").is_file():
        raise ValueError(f"{run_dir}: not a run directory (no config.yaml)")
    if split not in ("train", "val", "test"):
        raise ValueError(f"split: expected 'train', 'val' or 'test', found {split!r}")
    run_config, cfg = _resolve(run_dir / "config.yaml")
    dataset = load_run_data(cfg)
    x, y = getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}")
    if x is None:
        raise ValueError(f"{run_dir}: the data set has no {split} split"
                         + (" (data.val_size is 0)" if split == "val" else ""))
    model, loss, optimizer, schedule = _build(run_config, cfg, dataset)
    order = [checkpoint, "last"] if checkpoint == "best" else [checkpoint]
    paths = [run_dir / "checkpoints" / f"{which}.npz" for which in order]
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        raise ValueError(f"{run_dir}: no checkpoint ({', '.join(str(p.name) for p in paths)}) in checkpoints/")
    ckpt = load_checkpoint(path)
    load_model_state(model, ckpt)
    result = Trainer(model, loss, optimizer, verbose="quiet").evaluate(x, y)
    result = {"split": split, **result, "num_examples": int(len(x)), "checkpoint": path.stem,
              "epoch": ckpt.trainer["epoch"]}
    if predictions:
        result.update(y_true=np.asarray(y), y_pred=model.predict(x).argmax(axis=1),
                      class_names=list(dataset.class_names))
    return result
