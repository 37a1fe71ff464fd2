"""The callback protocol (Keras's hook names) and ``CallbackList``, which calls the hooks in order.

A ``Callback`` overrides any of these; the ``Trainer`` calls them with 1-based numbers:

| hook | when | ``logs`` |
|---|---|---|
| ``on_train_begin(logs)`` | ``fit`` starts (also a resumed or finished one) | ``epoch``, ``step`` (already run), ``epochs`` |
| ``on_epoch_begin(epoch, logs)`` | before the epoch's first step | ``lr``, ``steps`` (batches in the epoch) |
| ``on_batch_end(step, logs)`` | after optimizer step ``step`` (global, across resumes) | ``loss``, ``acc`` (the batch's), ``lr`` (the step's), ``epoch`` |
| ``on_epoch_end(epoch, logs)`` | after validation | the history row (``train_loss``, ``val_acc``, ``lr``, ...) |
| ``on_train_end(logs)`` | ``fit`` ends normally (completed or stopped) | ``stop_reason``, ``epoch``, ``step`` |
| ``on_interrupt(logs)`` | Ctrl-C between two steps of an epoch | ``partial``: the position in the epoch |

``on_batch_end`` is also called, with the non-finite loss, for a step whose loss became NaN/inf,
just before ``TrainingDiverged`` is raised. ``self.trainer`` is the ``Trainer`` (set before
``on_train_begin``); setting ``trainer.stop_training = True`` ends training: in ``on_batch_end``
after that step (the epoch is closed with the batches it ran: validation, history row, checkpoint,
as in Keras), in ``on_epoch_end`` after that epoch.

Resume: ``state_dict()`` (a flat dict of numbers, strings or arrays) is saved in every checkpoint
under the callback's ``state_key`` (default: its class name) and given back to
``load_state_dict`` by ``Trainer.restore``, so a callback with counters continues where it was.
``close()`` releases files however ``fit`` ends; ``check(has_val)`` refuses a misuse (ValueError)
before training starts.

Errors: an exception raised inside a hook (other than a ``TrainingError``, already worded for the
user) stops training as ``CallbackError``: "callback LivePlot failed in on_epoch_end: ...". No
checkpoint is written from that moment, so ``last.npz`` stays the last consistent one.
"""

from __future__ import annotations

from ..errors import CallbackError, TrainingError

HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end", "on_interrupt")


class Callback:
    """Base class: every hook does nothing. See the module docstring for when each is called."""

    trainer = None
    #: Name of this callback's state in checkpoints (None: the class name).
    state_key: str | None = None
    #: Constructor arguments a config's ``trainer.callbacks`` entry may set (registered ones only).
    config_keys: tuple = ()

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    def check(self, has_val: bool) -> None:
        """Raise ValueError, before the first step, if this callback cannot work with this data."""

    def on_train_begin(self, logs=None): ...

    def on_epoch_begin(self, epoch, logs=None): ...

    def on_batch_end(self, step, logs=None): ...

    def on_epoch_end(self, epoch, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_interrupt(self, logs=None): ...

    def state_dict(self) -> dict:
        """What resume needs (flat: numbers, strings, arrays); empty for a stateless callback."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what ``state_dict`` returned."""

    def close(self) -> None:
        """Release files and windows; called however ``fit`` ends (also after an error)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def callback_name(callback) -> str:
    return type(callback).__name__


class CallbackList:
    """The callbacks of one ``fit``, in order; ``call(hook, *args)`` runs a hook on each.

    ``stopped_by`` is the first callback that set ``trainer.stop_training``.
    """

    def __init__(self, callbacks, trainer):
        self.callbacks = [cb for cb in callbacks if cb is not None]
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be layernet.callbacks.Callback instances, "
                                f"found {type(cb).__name__}")
        self.trainer = trainer
        self.stopped_by = None
        for cb in self.callbacks:
            cb.set_trainer(trainer)

    def check(self, has_val: bool) -> None:
        for cb in self.callbacks:
            cb.check(has_val)

    def call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            stopping = self.trainer.stop_training
            try:
                getattr(cb, hook)(*args)
            except TrainingError:
                raise
            except Exception as err:
                cause = " ".join(str(err).split()) or "no message"
                raise CallbackError(f"callback {callback_name(cb)} failed in {hook}: {type(err).__name__}: {cause}; "
                                    "training stopped (the last checkpoint is kept)", callback_name(cb), hook) from err
            if self.trainer.stop_training and not stopping and self.stopped_by is None:
                self.stopped_by = cb

    def close(self) -> None:
        for cb in self.callbacks:
            cb.close()

    # ------------------------------------------------------------------ state in checkpoints
    def keyed(self) -> list[tuple[str, Callback]]:
        """``(state_key, callback)`` pairs; a repeated key gets ``#2``, ``#3`` ..."""
        seen: dict[str, int] = {}
        out = []
        for cb in self.callbacks:
            key = cb.state_key or callback_name(cb)
            seen[key] = seen.get(key, 0) + 1
            out.append((key if seen[key] == 1 else f"{key}#{seen[key]}", cb))
        return out

    def state_dict(self) -> dict[str, dict]:
        return {key: state for key, cb in self.keyed() if (state := cb.state_dict())}

    def load_state_dict(self, states: dict[str, dict]) -> None:
        for key, cb in self.keyed():
            if key in states:
                cb.load_state_dict(states[key])
