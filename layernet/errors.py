"""Why training could not go on: one-line messages for the user (the CLI exits 1 on each).

``layernet.trainer`` re-exports these; they live here so that callbacks can raise and recognise
them without importing the trainer.
"""

from __future__ import annotations


class TrainingError(RuntimeError):
    """Training could not go on; the message is one line for the user (the CLI exits 1)."""


class TrainingDiverged(TrainingError):
    """The loss or the parameters became NaN/inf; ``step`` and ``epoch`` say where."""

    def __init__(self, message: str, step: int, epoch: int):
        super().__init__(message)
        self.step, self.epoch = step, epoch


class CheckpointError(TrainingError):
    """A checkpoint could not be written (disk full, permission denied); the previous file survives."""


class CallbackError(TrainingError):
    """A callback raised inside a hook; ``callback`` and ``hook`` name them, the cause is chained."""

    def __init__(self, message: str, callback: str = "", hook: str = ""):
        super().__init__(message)
        self.callback, self.hook = callback, hook
