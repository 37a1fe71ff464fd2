"""``Trainer``: mini-batch training of a ``Sequential`` with a loss, an optimizer and a schedule.

    trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(lr=1e-3), batch_size=64, epochs=10,
                      callbacks=[LivePlot()], metrics=["top5_accuracy"])
    history = trainer.fit(x_train, y_train, x_val, y_val)
    trainer.evaluate(x_test, y_test)          # {"loss": ..., "acc": ..., "top5_accuracy": ...}

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
validation set is scored in eval mode, a history row is appended (see ``layernet.metrics``; named
``metrics`` add columns), the schedule is stepped with the row's metrics and the lr for the next
epoch is set. A schedule with ``per_step = True`` (onecycle) instead sets the lr before every step,
``lr_at_step(step, total)`` of the 0-based global step and ``epochs * batches per epoch``; a
function of the step alone, so a resumed run continues the same curve.

Callbacks (``layernet.callbacks``, Keras's hooks) watch and steer the loop. Every ``fit`` runs, in
order: ``EarlyStopping`` (``early_stopping``: an instance or its config dict), the trainer's
``callbacks``, those given to ``fit``, ``ModelCheckpoint`` (``checkpoint_dir``: ``last.npz`` every
``checkpoint_every`` epochs and whenever training stops, ``best.npz`` when ``monitor`` improves,
``keep_best``) and ``CSVLogger`` (``history_dir``: ``history.csv`` and ``steps.csv``, a history row
only after the checkpoint holding it). Their state is in every checkpoint. A callback stops
training by setting ``trainer.stop_training = True``: in ``on_batch_end`` after that step (the
epoch's row then covers the batches it ran, as in Keras), in ``on_epoch_end`` after that epoch. One
that raises stops training with ``CallbackError`` (no further checkpoint is written).

Stopping:

- a callback: ``stop_reason`` ``"early_stopping"`` (``EarlyStopping``) or ``"stopped"`` (another).
- non-finite loss or parameters: ``TrainingDiverged`` naming the step; no checkpoint is written
  from the diverged state, so ``last.npz`` keeps the last good one. Inside ``fit`` numpy's
  overflow/invalid/divide warnings are silenced (``np.errstate``, for the loop only): a diverging
  run overflows on its way to inf, and this check, not a warning, is what reports it.
- Ctrl-C: see ``layernet.interrupt``. A first Ctrl-C finishes the step, writes ``last.npz`` with
  the state after it *and the position in the epoch's permutation* (``on_interrupt``), so
  ``restore`` + ``fit`` continue mid-epoch bit for bit; then ``KeyboardInterrupt`` is re-raised. A
  ``KeyboardInterrupt`` raised inside a step (second Ctrl-C, or from user code) leaves ``last.npz``
  as it was. A Ctrl-C after the last epoch's last step (during its validation or checkpoint)
  interrupts nothing: the run is complete, ``fit`` returns normally and ``stop_flag.requested``
  tells the caller (``run`` then finishes the run's files and says so).

``trainer.stop_reason`` says how the last ``fit`` ended: ``"completed"``, ``"early_stopping"``,
``"stopped"``, ``"nan"``, ``"error"`` (a callback failed) or ``"interrupted"``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .callbacks import CallbackList, CSVLogger, EarlyStopping, ModelCheckpoint
from .checkpoint import load_checkpoint, load_model_state, save_checkpoint
from .errors import CallbackError, CheckpointError, TrainingDiverged, TrainingError  # noqa: F401 (re-exported)
from .interrupt import StopFlag, deferred_sigint
from .history import TrainingHistory
from .metrics import check_metrics, metric_columns, metric_counts
from .optim import clip_grad_norm
from .progress import compile_notice, make_progress, resolve_mode


def _check_xy(x, y, what: str):
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"Trainer: x_{what} must be a batch of examples (N, ...) with N >= 1, found shape {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"Trainer: x_{what} has {len(x)} examples but y_{what} has {len(y)}")
    return x, y


class Trainer:
    """Trains ``model`` on arrays; see the module docstring for the epoch, callback and stop rules."""

    def __init__(self, model, loss, optimizer, schedule=None, *, batch_size: int = 64, epochs: int = 10,
                 seed: int = 0, early_stopping: dict | None = None, checkpoint_dir=None, checkpoint_every: int = 1,
                 keep_best: bool = True, monitor: str = "val_acc", verbose="auto", history_dir=None,
                 eval_batch_size: int = 256, drop_last: bool = False, augment=None,
                 clip_grad_norm: float | None = None, callbacks=(), metrics=("accuracy",)):
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
        self.metrics = check_metrics(metrics)
        self.early_stopping = EarlyStopping.from_config(early_stopping)
        self.checkpoint = ModelCheckpoint(checkpoint_dir, monitor, checkpoint_every, keep_best)
        self.csv_logger = None if history_dir is None else CSVLogger(history_dir)
        self.callbacks = list(callbacks)
        CallbackList(self.callbacks, self)  # type-checks them now rather than at fit
        resolve_mode(verbose)  # validates verbose now rather than at fit
        self.verbose = verbose
        # training state (all of it goes into a checkpoint)
        self.history = TrainingHistory(metric_columns(self.metrics))
        self.epoch = 0  # finished epochs
        self.step = 0  # finished optimizer steps
        self.wall_time = 0.0
        self.stop_reason = ""
        self.stop_training = False  # set by a callback: stop after this epoch
        self._partial = None  # mid-epoch position after restoring an interrupted run
        self._callback_states = {}  # restored states for callbacks given to fit
        self._active = None  # the CallbackList of the running fit
        self.last_checkpoint = None  # (epoch, step) that checkpoints/last.npz holds
        self.stop_flag = StopFlag()

    # the best epoch is the checkpoint callback's to track (it decides what best.npz holds)
    monitor = property(lambda self: self.checkpoint.monitor)
    best_value = property(lambda self: self.checkpoint.best_value)
    best_epoch = property(lambda self: self.checkpoint.best_epoch)

    def _callback_list(self, extra=()) -> CallbackList:
        return CallbackList([self.early_stopping, *self.callbacks, *extra, self.checkpoint, self.csv_logger], self)

    # ------------------------------------------------------------------ evaluation
    def _targets(self, y, scores):
        """Labels as the loss wants them: MSE on (N, C) scores gets one-hot targets for integer labels."""
        if getattr(self.loss, "type_name", "") == "mse" and y.ndim == 1 and scores.ndim == 2 \
                and np.issubdtype(y.dtype, np.integer):
            onehot = np.zeros(scores.shape, dtype=scores.dtype)
            onehot[np.arange(len(y)), y] = 1
            return onehot
        return y

    def evaluate(self, x, y, batch_size: int | None = None) -> dict:
        """``{"loss", "acc"}`` (and each named metric) of the model on ``(x, y)`` in eval mode,
        ``batch_size`` examples at a time. ``loss`` is the mean over all examples (batch losses
        weighted by batch size)."""
        x, y = _check_xy(x, y, "eval")
        batch_size = batch_size or self.eval_batch_size
        total, counts = 0.0, dict.fromkeys(self.metrics, 0)
        for start in range(0, len(x), batch_size):
            yb = y[start:start + batch_size]
            scores = self.model.predict(x[start:start + batch_size], batch_size=batch_size)
            total += self.loss.forward(scores, self._targets(yb, scores)) * len(yb)
            ignore_index = getattr(self.loss, "ignore_index", None)  # sequences: steps that do not count
            for name, count in metric_counts(self.metrics, scores, yb, ignore_index).items():
                counts[name] += count
        named = {name: counts[name] / len(x) for name in self.metrics if name != "accuracy"}
        return {"loss": float(total / len(x)), "acc": counts["accuracy"] / len(x), **named}

    # ------------------------------------------------------------------ checkpoints
    def _trainer_state(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "epochs": self.epochs, "wall_time": self.wall_time,
                "stop_reason": self.stop_reason}

    def save_checkpoint(self, path, partial: dict | None = None) -> None:
        """Write the whole training state to ``path`` atomically (``CheckpointError`` if that fails)."""
        callbacks = (self._active or self._callback_list()).state_dict()
        try:
            save_checkpoint(path, model=self.model, optimizer=self.optimizer, schedule=self.schedule, rng=self.rng,
                            trainer=self._trainer_state(), history=self.history, partial=partial, callbacks=callbacks)
        except OSError as err:
            raise CheckpointError(
                f"could not write checkpoint {path}: {err.strerror or err} (the previous checkpoint is kept)"
            ) from err

    def restore(self, path) -> "Trainer":
        """Load a checkpoint's model, optimizer, schedule, RNG, history, callback states and position;
        ``fit`` continues. With ``epochs`` other than the checkpointed run's, the schedule is stretched
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
        self.epoch, self.step, self.wall_time, self.stop_reason = t["epoch"], t["step"], t["wall_time"], t["stop_reason"]
        self._callback_states = ckpt.callbacks or {  # checkpoints written before callbacks held these in the trainer
            "early_stopping": {"best": t.get("es_best", math.nan), "wait": t.get("es_wait", 0)},
            "model_checkpoint": {"best_value": t.get("best_value", math.nan), "best_epoch": t.get("best_epoch", 0)}}
        self._callback_list().load_state_dict(self._callback_states)
        self.history = ckpt.history
        self._partial = ckpt.partial
        if self.schedule is not None and self.schedule.epochs not in (None, self.epochs) and self.epoch < self.epochs:
            # more (or fewer) epochs than the checkpointed run: the schedule continues from where it
            # was, anchored at the last epoch trained at its lr (the current one when mid-epoch)
            self.schedule.stretch(self.epochs, self.epoch if self._partial is not None else self.epoch - 1)
        self.last_checkpoint = (self.epoch, self.step)
        return self

    # ------------------------------------------------------------------ training
    def fit(self, x_train, y_train, x_val=None, y_val=None, callbacks=()) -> TrainingHistory:
        """Train until ``epochs`` epochs have run in total (restored ones count); returns ``self.history``.

        ``callbacks`` join the trainer's own for this call (after them, before the checkpoint)."""
        x_train, y_train = _check_xy(x_train, y_train, "train")
        if (x_val is None) != (y_val is None):
            raise ValueError("Trainer.fit: give both x_val and y_val, or neither")
        if x_val is not None:
            x_val, y_val = _check_xy(x_val, y_val, "val")
        callbacks = self._callback_list(callbacks)
        callbacks.check(x_val is not None)
        callbacks.load_state_dict(self._callback_states)  # fit's own callbacks, after a restore
        self._callback_states = {}
        self._check_batches(len(x_train), x_train.shape[1:])
        progress = make_progress(self.verbose, self.epochs)
        self.stop_flag.requested, self.stop_training, self._active = False, False, callbacks
        try:
            # a diverging run overflows on its way to inf/NaN: the loop checks every step's loss and
            # every epoch's parameters and metrics itself, so numpy's warnings are silenced in here only
            with deferred_sigint(self.stop_flag), compile_notice(progress), \
                    np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._train(x_train, y_train, x_val, y_val, callbacks, progress)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            raise
        except (TrainingDiverged, CallbackError) as err:
            self.stop_reason = "nan" if isinstance(err, TrainingDiverged) else "error"
            raise
        finally:
            self._active = None
            progress.close()
            callbacks.close()
        return self.history

    def _train(self, x, y, x_val, y_val, callbacks, progress):
        callbacks.call("on_train_begin", {"epoch": self.epoch, "step": self.step, "epochs": self.epochs})
        if self.epoch >= self.epochs:
            progress.message(f"nothing to do: {self.epoch} of {self.epochs} epochs already run")
        elif self.stop_training:
            stopper = callbacks.stopped_by
            who = "early stopping" if isinstance(stopper, EarlyStopping) else f"callback {type(stopper).__name__}"
            progress.message(f"nothing to do: {who} ended this run at epoch {self.epoch}")
        while self.epoch < self.epochs and not self.stop_training:
            row = self._run_epoch(x, y, x_val, y_val, callbacks, progress)
            callbacks.call("on_epoch_end", row["epoch"], dict(row))
            progress.end_epoch(row)
            if self.stop_flag.requested and self.epoch < self.epochs and not self.stop_training:
                raise KeyboardInterrupt
        stopper = callbacks.stopped_by
        self.stop_reason = ("completed" if stopper is None else
                            "early_stopping" if isinstance(stopper, EarlyStopping) else "stopped")
        if stopper is not None:
            progress.message(stopper.reason() if hasattr(stopper, "reason") else
                             f"stopped by callback {type(stopper).__name__} after epoch {self.epoch}")
        callbacks.call("on_train_end", {"stop_reason": self.stop_reason, "epoch": self.epoch, "step": self.step})

    def _run_epoch(self, x, y, x_val, y_val, callbacks, progress) -> dict:
        epoch, num_batches, per_step = self.epoch + 1, self._num_batches(len(x)), getattr(self.schedule, "per_step", False)
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.lr
        perm, start, sums, elapsed = self._epoch_start(len(x))
        if per_step:  # the history row's lr: the epoch's first step's
            self.optimizer.lr = self.schedule.lr_at_step(self.step - start, self.epochs * num_batches)
        lr, t0 = self.optimizer.lr, time.perf_counter() - elapsed
        callbacks.call("on_epoch_begin", epoch, {"lr": float(lr), "steps": num_batches})
        progress.start_epoch(epoch, num_batches, start)
        for b in range(start, num_batches):
            if self.stop_flag.requested:  # Ctrl-C: checkpoint the position after the last finished step
                partial = {"perm": perm, "pos": b, **sums, "time_s": time.perf_counter() - t0}
                self.wall_time += time.perf_counter() - t0 - elapsed
                callbacks.call("on_interrupt", {"partial": partial})
                raise KeyboardInterrupt
            if per_step:  # onecycle: a new lr every step
                self.optimizer.lr = self.schedule.lr_at_step(self.step, self.epochs * num_batches)
            idx = perm[b * self.batch_size:(b + 1) * self.batch_size]
            loss, counts = self._step(x[idx], y[idx], epoch, callbacks)
            sums["loss_sum"], sums["seen"], sums["correct"] = (
                sums["loss_sum"] + loss * len(idx), sums["seen"] + len(idx), sums["correct"] + counts.pop("accuracy"))
            for name, count in counts.items():
                sums[f"count_{name}"] += count
            progress.step(sums["loss_sum"] / sums["seen"], sums["correct"] / sums["seen"])
            if self.stop_training:  # set in on_batch_end: close the epoch with what it saw (Keras)
                break
        return self._end_epoch(epoch, sums, x_val, y_val, lr, t0, elapsed)

    def _epoch_start(self, n: int):
        """``(permutation, first batch, running sums, seconds already spent)`` of the epoch to run:
        a fresh permutation, or the position of a checkpoint taken mid-epoch."""
        sums = {"loss_sum": 0.0, "correct": 0, "seen": 0, **{f"count_{m}": 0 for m in self.metrics[1:]}}
        if self._partial is None:
            return self.rng.permutation(n), 0, sums, 0.0
        p, self._partial = self._partial, None
        if len(p["perm"]) != n:
            raise ValueError(f"the checkpoint was taken on a training set of {len(p['perm'])} examples, "
                             f"this one has {n}")
        sums.update({k: p[k] for k in sums if k in p})
        return np.asarray(p["perm"]), p["pos"], sums, p["time_s"]

    def _step(self, xb, yb, epoch: int, callbacks) -> tuple[float, dict]:
        """One optimizer step on a batch; returns its loss and metric counts (``metrics.metric_counts``)."""
        if self.augment is not None:
            xb = self.augment(xb, self.step)
        scores = self.model.forward(xb, training=True)
        loss = self.loss.forward(scores, self._targets(yb, scores))
        if not math.isfinite(loss):
            logs = {"loss": loss, "acc": math.nan, "lr": float(self.optimizer.lr), "epoch": epoch}
            callbacks.call("on_batch_end", self.step + 1, logs)
            raise TrainingDiverged(f"loss became {loss} at step {self.step + 1} (epoch {epoch})", self.step + 1, epoch)
        self.model.backward(self.loss.backward(), input_grad=False)
        if self.clip_grad_norm is not None:
            clip_grad_norm(self.model, self.clip_grad_norm)
        self.optimizer.step(self.model)
        self.step += 1
        counts = metric_counts(self.metrics, scores, yb, getattr(self.loss, "ignore_index", None))
        self.history.add_step(self.step, epoch, loss, self.optimizer.lr)
        callbacks.call("on_batch_end", self.step, {"loss": loss, "acc": counts["accuracy"] / len(yb),
                                                   "lr": float(self.optimizer.lr), "epoch": epoch})
        return loss, counts

    def _end_epoch(self, epoch, sums, x_val, y_val, lr, t0, elapsed) -> dict:
        """Validation, the history row (checked finite), the schedule's step; returns the row."""
        val = self.evaluate(x_val, y_val) if x_val is not None else {}
        seen, nan = sums["seen"], math.nan
        row = {"epoch": epoch, "train_loss": sums["loss_sum"] / seen, "train_acc": sums["correct"] / seen,
               "val_loss": val.get("loss", nan), "val_acc": val.get("acc", nan), "lr": float(lr),
               "time_s": time.perf_counter() - t0}
        for name in self.metrics[1:]:
            row[f"train_{name}"], row[f"val_{name}"] = sums[f"count_{name}"] / seen, val.get(name, nan)
        self._check_finite(row, x_val is not None)
        self.wall_time += row["time_s"] - elapsed
        self.history.append(row)
        self.epoch = epoch
        if self.schedule is not None:
            self.schedule.step({k: v for k, v in row.items() if isinstance(v, float) and not math.isnan(v)})
        return row

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

    def _check_finite(self, row, has_val: bool):
        for name, param, _ in self.model.parameters():
            if not np.all(np.isfinite(param)):
                raise TrainingDiverged(f"parameter '{name}' became non-finite at step {self.step} "
                                       f"(epoch {row['epoch']})", self.step, row["epoch"])
        for key in ("train_loss", "val_loss") if has_val else ("train_loss",):
            if not math.isfinite(row[key]):
                raise TrainingDiverged(f"{key} became {row[key]} at the end of epoch {row['epoch']} "
                                       f"(step {self.step})", self.step, row["epoch"])


# ``run``/``evaluate_run`` build a Trainer from a config (``layernet.run``); they live in runner.py.
def __getattr__(name):
    """``run`` and ``evaluate_run`` live in runner.py (which imports this module); load them lazily."""
    if name in ("run", "evaluate_run"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'layernet.trainer' has no attribute {name!r}")
