"""``TensorBoard(log_dir)``: event files that ``tensorboard --logdir`` shows, through tensorboardX.

What it writes (every scalar at the *global step*, an epoch's values at its last step, so the curves
of a resumed run join up and the per-step and per-epoch plots share one x axis):

- ``step/loss``, ``step/lr``: every optimizer step (the loss of that batch, the lr it used);
- ``epoch/train_loss``, ``epoch/train_acc``, ``epoch/val_loss``, ``epoch/val_acc``, ``epoch/lr`` and
  each named metric's columns: after every epoch (missing values, e.g. no validation data, are skipped);
- ``config``: the run's config as text (``config=``, a dict or YAML text), when training starts;
- ``weights/<param>`` and ``grads/<param>`` histograms (``0.W``, ``3.gamma`` ...; the gradients of the
  epoch's last step) every ``histograms_every`` epochs (0: never).

tensorboardX is an optional dependency (``pip install 'layernet[tensorboard]'``); neither
TensorFlow nor PyTorch is needed. Without it, ``TensorBoard(...)`` raises a one-line
``MissingExtraError`` (a ValueError and an ImportError) naming the extra. A resumed run opens a new event file with ``purge_step`` at its first new step,
so TensorBoard drops what the interrupted process logged after its checkpoint.
"""

from __future__ import annotations

import importlib.util
import math
import os
import time
from pathlib import Path

from .base import Callback

INSTALL_HINT = "pip install 'layernet[tensorboard]'"


class MissingExtraError(ValueError, ImportError):
    """An optional dependency is not installed: a ValueError (the CLI prints one line, exit 2) that
    ``except ImportError`` catches too."""


def tensorboardx_installed() -> bool:
    """Whether tensorboardX can be imported (without importing it: that takes seconds)."""
    try:
        return importlib.util.find_spec("tensorboardX") is not None
    except (ImportError, ValueError):
        return False


def require_tensorboardx():
    """tensorboardX's ``SummaryWriter``; ValueError naming the extra when it is not installed."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise MissingExtraError(f"TensorBoard logging needs the tensorboardX package, which is not installed: "
                         f"{INSTALL_HINT}") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Writes event files into ``log_dir`` (``RUN_DIR/tensorboard`` for ``output.tensorboard: true``)."""

    config_keys = ("histograms_every",)  # what a config's ``trainer.callbacks`` entry may set

    def __init__(self, log_dir, histograms_every: int = 1, config=None):
        self._writer_class = require_tensorboardx()
        if not isinstance(histograms_every, int) or isinstance(histograms_every, bool) or histograms_every < 0:
            raise ValueError(f"TensorBoard: `histograms_every` must be an int >= 0 (0: no histograms), "
                             f"found {histograms_every!r}")
        self.log_dir, self.histograms_every, self.config = Path(log_dir), histograms_every, config
        self.writer = None

    def on_train_begin(self, logs=None):
        step = self.trainer.step
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # event files are named by the second they were opened: a suffix keeps a quick resume from reusing one
        self.writer = self._writer_class(str(self.log_dir), purge_step=step + 1 if step else None, flush_secs=10,
                                         filename_suffix=f".{os.getpid()}.{time.time_ns()}")
        if self.config is not None:
            text = self.config
            if not isinstance(text, str):
                import yaml

                text = yaml.safe_dump(self.config, sort_keys=False)
            self.writer.add_text("config", "".join(f"    {line}\n" for line in text.splitlines()), step)

    def on_batch_end(self, step, logs=None):
        self.writer.add_scalar("step/loss", logs["loss"], step)
        self.writer.add_scalar("step/lr", logs["lr"], step)

    def on_epoch_end(self, epoch, logs=None):
        step = self.trainer.step
        for key, value in logs.items():
            if key not in ("epoch", "time_s") and isinstance(value, float) and math.isfinite(value):
                self.writer.add_scalar(f"epoch/{key}", value, step)
        if self.histograms_every and epoch % self.histograms_every == 0:
            for name, param, grad in self.trainer.model.parameters():
                self.writer.add_histogram(f"weights/{name}", param, step)
                if grad is not None:
                    self.writer.add_histogram(f"grads/{name}", grad, step)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __repr__(self) -> str:
        return f"TensorBoard({str(self.log_dir)!r}, histograms_every={self.histograms_every})"
