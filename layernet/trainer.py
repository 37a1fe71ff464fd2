"""``Trainer``: mini-batch training of a ``Sequential`` with a loss, an optimizer and a schedule.

    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(lr=1e-3), batch_size=64, epochs=10)
    history = trainer.fit(x_train, y_train, x_val, y_val)
    trainer.evaluate(x_test, y_test)          # {"loss": ..., "acc": ...}

``augment`` (``layernet.data.augment.Augment`` or any ``(batch, step) -> batch``) changes each
training batch before its step; its randomness is a function of the step, so resume continues it.

One epoch (numbered from 1): the trainer's own generator (``seed``) draws a permutation of the
training set; consecutive ``batch_size`` slices of it are the batches. The last may be smaller
(``drop_last=False``, PyTorch's DataLoader default) or, with ``drop_last=True``, is left out; a
last batch smaller than a layer can train on (one example before batch norm on (N, D), see
``Layer.min_train_batch``) is refused before the first step, naming both fixes.
Each step runs ``forward(training=True)``, the loss, ``backward`` (then, with ``clip_grad_norm``,
scales the gradients down to that global L2 norm) and ``optimizer.step``; the
layers' backward *overwrites* their gradients, so no ``zero_grad`` is needed. After the steps the
validation set is scored in eval mode, a history row is appended (see ``layernet.metrics``), the
schedule is stepped with the row's metrics and the lr for the next epoch is set. A schedule with
``per_step = True`` (onecycle) instead sets the lr before every step, ``lr_at_step(step, total)``
of the 0-based global step and ``epochs * batches per epoch``; a function of the step alone, so a
resumed run continues the same curve.

Checkpoints (``checkpoint_dir``): ``last.npz`` every ``checkpoint_every`` epochs and whenever
training stops, ``best.npz`` when ``monitor`` improves (``keep_best``). History files
(``history_dir``): ``history.csv`` and ``steps.csv`` are rewritten from the in-memory history
when ``fit`` starts and appended as training goes; a history row is written only after the
checkpoint holding it, so with ``checkpoint_every=1`` ``history.csv`` never runs ahead of
``last.npz`` (after a crash it may lack the last row; ``restore`` + ``fit`` rewrite it).

Stopping:

- early stopping: an ``EarlyStopping`` or its config dict ``{"monitor", "patience", "mode",
  "min_delta"}`` (Keras semantics, see ``layernet.early_stopping``).
- non-finite loss or parameters: ``TrainingDiverged`` naming the step; no checkpoint is written
  from the diverged state, so ``last.npz`` keeps the last good one. Inside ``fit`` numpy's
  overflow/invalid/divide warnings are silenced (``np.errstate``, for the loop only): a diverging
  run overflows on its way to inf, and this check, not a warning, is what reports it.
- Ctrl-C: see ``layernet.interrupt``. A first Ctrl-C finishes the step, writes ``last.npz`` with
  the state after it *and the position in the epoch's permutation*, so ``restore`` + ``fit``
  continue mid-epoch bit for bit; then ``KeyboardInterrupt`` is re-raised. A ``KeyboardInterrupt``
  raised inside a step (second Ctrl-C, or from user code) leaves ``last.npz`` as it was. A Ctrl-C
  after the last epoch's last step (during its validation or checkpoint) interrupts nothing: the
  run is complete, ``fit`` returns normally and ``stop_flag.requested`` tells the caller (``run``
  then finishes the run's files and says so). ``stop_flag`` is a ``layernet.interrupt.StopFlag``.

``trainer.stop_reason`` says how the last ``fit`` ended: ``"completed"``, ``"early_stopping"``,
``"nan"`` or ``"interrupted"``.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np

from .checkpoint import load_checkpoint, load_model_state, save_checkpoint
from .early_stopping import EarlyStopping, check_monitor, improves
from .interrupt import StopFlag, deferred_sigint
from .metrics import HISTORY_COLUMNS, STEP_COLUMNS, CsvLog, TrainingHistory, count_correct, monitor_mode, write_csv
from .progress import compile_notice, make_progress, resolve_mode
from .metrics import sequence_correct
from .optim import clip_grad_norm


class TrainingError(RuntimeError):
    """Training could not go on; the message is one line for the user (the CLI exits 1)."""


class TrainingDiverged(TrainingError):
    """The loss or the parameters became NaN/inf; ``step`` and ``epoch`` say where."""

    def __init__(self, message: str, step: int, epoch: int):
        super().__init__(message)
        self.step, self.epoch = step, epoch


class CheckpointError(TrainingError):
    """A checkpoint could not be written (disk full, permission denied); the previous file survives."""


def _check_xy(x, y, what: str):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"Trainer: x_{what} must be a batch of examples (N, ...) with N >= 1, found shape {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"Trainer: x_{what} has {len(x)} examples but y_{what} has {len(y)}")
    return x, y


class Trainer:
    """Trains ``model`` on arrays; see the module docstring for the epoch, checkpoint and stop rules."""

    def __init__(self, model, loss, optimizer, schedule=None, *, batch_size: int = 64, epochs: int = 10,
                 seed: int = 0, early_stopping: dict | None = None, checkpoint_dir=None, checkpoint_every: int = 1,
                 keep_best: bool = True, monitor: str = "val_acc", verbose="auto", history_dir=None,
                 eval_batch_size: int = 256, drop_last: bool = False, augment=None,
                 clip_grad_norm: float | None = None):
        for name, value in (("batch_size", batch_size), ("epochs", epochs), ("checkpoint_every", checkpoint_every),
                            ("eval_batch_size", eval_batch_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Trainer: {name} must be a positive int, found {value!r}")
        self.model, self.loss, self.optimizer, self.schedule = model, loss, optimizer, schedule
        self.batch_size, self.epochs, self.eval_batch_size = int(batch_size), int(epochs), int(eval_batch_size)
        if not isinstance(drop_last, (bool, np.bool_)):
            raise ValueError(f"Trainer: drop_last must be True or False, found {drop_last!r}")
        self.drop_last = bool(drop_last)
        self.seed = seed
        if clip_grad_norm is not None and (isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, (int, float))
                                           or not 0 < clip_grad_norm < math.inf):
            raise ValueError(f"Trainer: clip_grad_norm must be a number > 0 or None, found {clip_grad_norm!r}")
        #: max global L2 norm of the gradients before each step (``optim.clip_grad_norm``), or None
        self.clip_grad_norm = clip_grad_norm
        self.augment = augment  # callable (batch, step) -> augmented batch, training batches only
        self.rng = np.random.default_rng(seed)
        self.early_stopping = EarlyStopping.from_config(early_stopping)
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.history_dir = None if history_dir is None else Path(history_dir)
        self.checkpoint_every, self.keep_best = int(checkpoint_every), bool(keep_best)
        self.monitor = check_monitor("Trainer", monitor)
        resolve_mode(verbose)  # validates verbose now rather than at fit
        self.verbose = verbose
        # training state (all of it goes into a checkpoint)
        self.history = TrainingHistory()
        self.epoch = 0  # finished epochs
        self.step = 0  # finished optimizer steps
        self.best_value, self.best_epoch = math.nan, 0
        self.wall_time = 0.0
        self.stop_reason = ""
        self._partial = None  # mid-epoch position after restoring an interrupted run
        self.last_checkpoint = None  # (epoch, step) that checkpoints/last.npz holds
        self.stop_flag = StopFlag()

    # ------------------------------------------------------------------ evaluation
    def _targets(self, y, scores):
        """Labels as the loss wants them: MSE on (N, C) scores gets one-hot targets for integer labels."""
        if getattr(self.loss, "type_name", "") == "mse" and y.ndim == 1 and scores.ndim == 2 \
                and np.issubdtype(y.dtype, np.integer):
            onehot = np.zeros(scores.shape, dtype=scores.dtype)
            onehot[np.arange(len(y)), y] = 1
            return onehot
        return y

    def _correct(self, scores, y) -> int:
        if scores.ndim == 3 and y.shape == scores.shape[:2]:  # sequences: the fraction of counted steps
            return sequence_correct(scores, y, getattr(self.loss, "ignore_index", None))
        return count_correct(scores, y) if scores.ndim == 2 and (y.ndim == 1 or y.shape == scores.shape) else 0

    def evaluate(self, x, y, batch_size: int | None = None) -> dict:
        """``{"loss", "acc"}`` of the model on ``(x, y)`` in eval mode, ``batch_size`` examples at a time.

        ``loss`` is the mean over all examples (batch losses weighted by batch size).
        """
        x, y = _check_xy(x, y, "eval")
        batch_size = batch_size or self.eval_batch_size
        total, correct = 0.0, 0
        for start in range(0, len(x), batch_size):
            yb = y[start:start + batch_size]
            scores = self.model.predict(x[start:start + batch_size], batch_size=batch_size)
            total += self.loss.forward(scores, self._targets(yb, scores)) * len(yb)
            correct += self._correct(scores, yb)
        return {"loss": float(total / len(x)), "acc": correct / len(x)}

    # ------------------------------------------------------------------ checkpoints
    def _trainer_state(self) -> dict:
        es = self.early_stopping
        return {"epoch": self.epoch, "step": self.step, "epochs": self.epochs, "best_value": self.best_value,
                "best_epoch": self.best_epoch, "es_best": es.best if es else math.nan, "es_wait": es.wait if es else 0,
                "wall_time": self.wall_time, "stop_reason": self.stop_reason, "monitor": self.monitor}

    def save_checkpoint(self, path, partial: dict | None = None) -> None:
        """Write the whole training state to ``path`` atomically (``CheckpointError`` if that fails)."""
        try:
            save_checkpoint(path, model=self.model, optimizer=self.optimizer, schedule=self.schedule, rng=self.rng,
                            trainer=self._trainer_state(), history=self.history, partial=partial)
        except OSError as err:
            raise CheckpointError(
                f"could not write checkpoint {path}: {err.strerror or err} (the previous checkpoint is kept)"
            ) from err

    def restore(self, path) -> "Trainer":
        """Load a checkpoint's model, optimizer, schedule, RNG, history and position; ``fit`` continues.

        With ``epochs`` other than the checkpointed run's, the schedule is stretched
        (``Schedule.stretch``): a cosine continues from its current lr instead of restarting."""
        ckpt = load_checkpoint(path)
        load_model_state(self.model, ckpt)
        if bool(ckpt.schedule_state) != (self.schedule is not None):
            has = "has" if ckpt.schedule_state else "has no"
            raise ValueError(f"{path}: the checkpoint {has} learning-rate schedule state, unlike this trainer")
        self.optimizer.load_state_dict(ckpt.optimizer_state)
        if self.schedule is not None:
            self.schedule.load_state_dict(ckpt.schedule_state)
        self.rng.bit_generator.state = ckpt.rng_state
        t = ckpt.trainer
        self.epoch, self.step, self.wall_time = t["epoch"], t["step"], t["wall_time"]
        self.best_value, self.best_epoch = t["best_value"], t["best_epoch"]
        self.stop_reason = t["stop_reason"]
        if self.early_stopping is not None:
            self.early_stopping.best, self.early_stopping.wait = t["es_best"], t["es_wait"]
        self.history = ckpt.history
        self._partial = ckpt.partial
        if self.schedule is not None and self.schedule.epochs not in (None, self.epochs) and self.epoch < self.epochs:
            # more (or fewer) epochs than the checkpointed run: the schedule continues from where it
            # was, anchored at the last epoch trained at its lr (the current one when mid-epoch)
            self.schedule.stretch(self.epochs, self.epoch if self._partial is not None else self.epoch - 1)
        self.last_checkpoint = (self.epoch, self.step)
        return self

    def _write_last(self, partial=None):
        if self.checkpoint_dir is not None:
            self.save_checkpoint(self.checkpoint_dir / "last.npz", partial)
            self.last_checkpoint = (self.epoch, self.step)

    # ------------------------------------------------------------------ training
    def fit(self, x_train, y_train, x_val=None, y_val=None) -> TrainingHistory:
        """Train until ``epochs`` epochs have run in total (restored ones count); returns ``self.history``."""
        x_train, y_train = _check_xy(x_train, y_train, "train")
        if (x_val is None) != (y_val is None):
            raise ValueError("Trainer.fit: give both x_val and y_val, or neither")
        if x_val is not None:
            x_val, y_val = _check_xy(x_val, y_val, "val")
        elif self.early_stopping and self.early_stopping.monitor.startswith("val_"):
            raise ValueError(f"Trainer: early_stopping monitors '{self.early_stopping.monitor}', "
                             "which needs validation data (x_val, y_val)")
        if x_val is None and self.monitor.startswith("val_"):
            warnings.warn(f"Trainer: no validation data; the best checkpoint monitors "
                          f"'train_{self.monitor[4:]}' instead of '{self.monitor}'", stacklevel=2)
            self.monitor = "train_" + self.monitor[4:]
        self._check_batches(len(x_train), x_train.shape[1:])
        for directory in (self.checkpoint_dir, self.history_dir):
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
        logs = self._open_logs()
        progress = make_progress(self.verbose, self.epochs)
        self.stop_flag.requested = False
        try:
            # a diverging run overflows on its way to inf/NaN: the loop checks every step's loss and
            # every epoch's parameters and metrics itself, so numpy's warnings are silenced in here only
            with deferred_sigint(self.stop_flag), compile_notice(progress), \
                    np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._train(x_train, y_train, x_val, y_val, logs, progress)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            raise
        except TrainingDiverged:
            self.stop_reason = "nan"
            raise
        finally:
            progress.close()
            for log in logs.values():
                log.close()
        return self.history

    def _num_batches(self, n: int) -> int:
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _check_batches(self, n: int, sample_shape) -> None:
        """Refuse, before the first step, batches the model cannot train on (one-line ValueError)."""
        if self._num_batches(n) == 0:
            raise ValueError(f"Trainer: drop_last=True with {n} training examples and batch_size {self.batch_size} "
                             "leaves no batch; use a smaller batch_size or drop_last=False")
        min_train_batch = getattr(self.model, "min_train_batch", None)
        if min_train_batch is None:
            return
        need, index = min_train_batch(sample_shape)
        last = n % self.batch_size
        if need <= 1 or (min(self.batch_size, n) >= need and (self.drop_last or last == 0 or last >= need)):
            return
        layer = f"layer {index} {self.model.layers[index]!r} cannot train on fewer than {need} examples"
        if min(self.batch_size, n) < need:
            raise ValueError(f"Trainer: batch_size {self.batch_size} with {n} training examples gives batches of "
                             f"{min(self.batch_size, n)}, but {layer}; use a batch_size of at least {need}")
        better = next((b for b in range(self.batch_size - 1, need - 1, -1) if n % b == 0 or n % b >= need), None)
        raise ValueError(f"Trainer: the last batch of each epoch holds {last} example{'s' * (last != 1)} "
                         f"({n} training examples, batch_size {self.batch_size}), but {layer}; "
                         "set drop_last=True (trainer.drop_last: true) or another batch_size"
                         + (f" (e.g. {better})" if better else ""))

    def _open_logs(self) -> dict:
        if self.history_dir is None:
            return {}
        history_path, steps_path = self.history_dir / "history.csv", self.history_dir / "steps.csv"
        write_csv(history_path, HISTORY_COLUMNS, self.history.rows)
        write_csv(steps_path, STEP_COLUMNS, self.history.step_rows())
        return {"history": CsvLog(history_path, HISTORY_COLUMNS),
                "steps": CsvLog(steps_path, STEP_COLUMNS, sync_every_row=False)}

    def _early_stopped(self) -> bool:
        return self.early_stopping is not None and self.early_stopping.stopped

    def _train(self, x, y, x_val, y_val, logs, progress):
        if self.epoch >= self.epochs:
            progress.message(f"nothing to do: {self.epoch} of {self.epochs} epochs already run")
        elif self._early_stopped():
            progress.message(f"nothing to do: early stopping ended this run at epoch {self.epoch}")
        while self.epoch < self.epochs and not self._early_stopped():
            row = self._run_epoch(x, y, x_val, y_val, logs, progress)
            if "history" in logs:
                logs["history"].append(row)
                logs["steps"].sync()
            progress.end_epoch(row)
            if self.stop_flag.requested and self.epoch < self.epochs and not self._early_stopped():
                raise KeyboardInterrupt
        if self._early_stopped():
            self.stop_reason = "early_stopping"
            progress.message(self.early_stopping.reason())
        else:
            self.stop_reason = "completed"

    def _run_epoch(self, x, y, x_val, y_val, logs, progress) -> dict:
        epoch, n = self.epoch + 1, len(x)
        num_batches = self._num_batches(n)
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.lr
        if self._partial is not None:
            p, self._partial = self._partial, None
            perm, start, loss_sum, correct, seen, elapsed = (
                np.asarray(p["perm"]), p["pos"], p["loss_sum"], p["correct"], p["seen"], p["time_s"])
            if len(perm) != n:
                raise ValueError(f"the checkpoint was taken on a training set of {len(perm)} examples, "
                                 f"this one has {n}")
        else:
            perm, start, loss_sum, correct, seen, elapsed = self.rng.permutation(n), 0, 0.0, 0, 0, 0.0
        if getattr(self.schedule, "per_step", False):  # the history row's lr: the epoch's first step's
            self.optimizer.lr = self.schedule.lr_at_step(self.step - start, self.epochs * num_batches)
        lr = self.optimizer.lr
        t0 = time.perf_counter() - elapsed
        progress.start_epoch(epoch, num_batches, start)
        for b in range(start, num_batches):
            if self.stop_flag.requested:
                partial = {"perm": perm, "pos": b, "loss_sum": loss_sum, "correct": correct, "seen": seen,
                           "time_s": time.perf_counter() - t0}
                self.wall_time += time.perf_counter() - t0 - elapsed
                self._write_last(partial)
                raise KeyboardInterrupt
            if getattr(self.schedule, "per_step", False):  # onecycle: a new lr every step
                self.optimizer.lr = self.schedule.lr_at_step(self.step, self.epochs * num_batches)
            idx = perm[b * self.batch_size:(b + 1) * self.batch_size]
            xb, yb = x[idx], y[idx]
            if self.augment is not None:
                xb = self.augment(xb, self.step)
            scores = self.model.forward(xb, training=True)
            loss = self.loss.forward(scores, self._targets(yb, scores))
            if not math.isfinite(loss):
                if "steps" in logs:
                    logs["steps"].append((self.step + 1, epoch, loss, self.optimizer.lr))
                raise TrainingDiverged(f"loss became {loss} at step {self.step + 1} (epoch {epoch})",
                                       self.step + 1, epoch)
            self.model.backward(self.loss.backward(), input_grad=False)
            if self.clip_grad_norm is not None:
                clip_grad_norm(self.model, self.clip_grad_norm)
            self.optimizer.step(self.model)
            self.step += 1
            loss_sum += loss * len(idx)
            correct += self._correct(scores, yb)
            seen += len(idx)
            self.history.add_step(self.step, epoch, loss, self.optimizer.lr)
            if "steps" in logs:
                logs["steps"].append((self.step, epoch, loss, self.optimizer.lr))
            progress.step(loss_sum / seen, correct / seen)
        val = self.evaluate(x_val, y_val) if x_val is not None else {"loss": math.nan, "acc": math.nan}
        time_s = time.perf_counter() - t0
        row = {"epoch": epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen,
               "val_loss": val["loss"], "val_acc": val["acc"], "lr": float(lr), "time_s": time_s}
        self._check_finite(row, x_val is not None)
        self.wall_time += time_s - elapsed
        self.history.append(row)
        self.epoch = epoch
        self._end_of_epoch(row)
        return row

    def _check_finite(self, row, has_val: bool):
        for name, param, _ in self.model.parameters():
            if not np.all(np.isfinite(param)):
                raise TrainingDiverged(f"parameter '{name}' became non-finite at step {self.step} "
                                       f"(epoch {row['epoch']})", self.step, row["epoch"])
        for key in ("train_loss", "val_loss") if has_val else ("train_loss",):
            if not math.isfinite(row[key]):
                raise TrainingDiverged(f"{key} became {row[key]} at the end of epoch {row['epoch']} "
                                       f"(step {self.step})", self.step, row["epoch"])

    def _end_of_epoch(self, row):
        metrics = {k: v for k, v in row.items() if isinstance(v, float) and not math.isnan(v)}
        if self.schedule is not None:
            self.schedule.step(metrics)
        improved_best = improves(row[self.monitor], self.best_value, monitor_mode(self.monitor))
        if improved_best:
            self.best_value, self.best_epoch = row[self.monitor], row["epoch"]
        if self.early_stopping is not None:
            self.early_stopping.update(row)
        if improved_best and self.keep_best and self.checkpoint_dir is not None:
            self.save_checkpoint(self.checkpoint_dir / "best.npz")
        last = row["epoch"] == self.epochs or self._early_stopped() or self.stop_flag.requested
        if last or row["epoch"] % self.checkpoint_every == 0:
            self._write_last()


# ``run``/``evaluate_run`` build a Trainer from a config (``layernet.run``); they live in runner.py.
def __getattr__(name):
    """``run`` and ``evaluate_run`` live in runner.py (which imports this module); load them lazily."""
    if name in ("run", "evaluate_run"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'layernet.trainer' has no attribute {name!r}")
