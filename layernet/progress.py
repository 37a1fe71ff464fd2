"""Training progress display: a tqdm bar per epoch, one plain line per epoch, or nothing.

Everything goes to stderr (progress and logs), so stdout carries only a command's results and
``RUN=$(layernet train cfg.yaml)`` captures the run directory alone.

``verbose`` modes:

- ``"auto"``: a bar when stderr is a terminal that reports its width (or the code runs in
  Jupyter); otherwise one line per epoch, so CI logs, redirected output and terminals that
  report 0 columns never fill with carriage returns.
- ``"bar"``: a tqdm bar during each epoch (running loss/acc as its short postfix), replaced at
  the end of the epoch by the epoch's plain line, so val_acc shows even in 80 columns.
- ``"epoch"``: one line per epoch (at most 80 characters for usual values), e.g.
  ``epoch 3/10 loss 0.3123 acc 0.9120 val_loss 0.2871 val_acc 0.9250 lr 0.001 1.2s``
- ``"quiet"``: nothing.

``compile_notice(progress)``: while training, the first Numba compilation (the kernel cache is
cold: a fresh install, or kernels changed) prints ``compiling kernels (once) ...``.
Numba announces a compilation only on a cache miss, so a warm cache costs nothing.

Keras' integers are accepted too: 0 -> quiet, 1 -> bar, 2 -> epoch; ``True`` -> auto, ``False`` -> quiet.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys

MODES = ("auto", "bar", "epoch", "quiet")
_KERAS = {0: "quiet", 1: "bar", 2: "epoch"}


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell); False in a terminal IPython or plain Python."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython() if hasattr(ipython, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def resolve_mode(verbose, stream=None) -> str:
    """``"bar"``, ``"epoch"`` or ``"quiet"`` for a ``verbose`` setting and an output stream."""
    if isinstance(verbose, bool):
        verbose = "auto" if verbose else "quiet"
    elif isinstance(verbose, int):
        if verbose not in _KERAS:
            raise ValueError(f"verbose: expected one of {', '.join(MODES)} (or 0, 1, 2), found {verbose!r}")
        verbose = _KERAS[verbose]
    if verbose not in MODES:
        raise ValueError(f"verbose: expected one of {', '.join(MODES)}, found {verbose!r}")
    if verbose != "auto":
        return verbose
    stream = sys.stderr if stream is None else stream
    if in_notebook():
        return "bar"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() and terminal_columns(stream) != 0 else "epoch"


def terminal_columns(stream) -> int | None:
    """The width ``stream``'s terminal reports (0 for some pseudo-terminals), None if unknown."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _fmt(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _lr(value: float) -> str:
    """A learning rate in at most 7 characters: 0.001, 0.0005, 7.94e-5."""
    text = f"{value:.3g}"
    return text if len(text) <= 7 else f"{value:.2e}".replace("e-0", "e-").replace("e+0", "e+")


def epoch_line(row: dict, epochs: int, width: int = 80) -> str:
    """The one-line summary of a history row, at most ``width`` characters where it can be.

    ``epoch 3/10 loss 0.3123 acc 0.9120 val_loss 0.2871 val_acc 0.9250 lr 0.001 1.2s``; when
    that is wider than ``width`` (long runs, many epochs), the training accuracy and then the
    time are left out, so the validation numbers always fit an 80-column terminal.
    """
    head = [f"epoch {row['epoch']}/{epochs}", f"loss {_fmt(row['train_loss'])}"]
    train_acc = [f"acc {_fmt(row['train_acc'])}"]
    val = []
    if not math.isnan(row["val_loss"]):
        val = [f"val_loss {_fmt(row['val_loss'])}", f"val_acc {_fmt(row['val_acc'])}"]
    lr, time_s = [f"lr {_lr(row['lr'])}"], [f"{row['time_s']:.1f}s"]
    for parts in (head + train_acc + val + lr + time_s, head + val + lr + time_s, head + val + lr):
        line = " ".join(parts)
        if len(line) <= width:
            break
    return line


class Progress:
    """Interface and the quiet mode: every hook does nothing."""

    def __init__(self, epochs: int, stream=None):
        self.epochs = epochs
        self.stream = sys.stderr if stream is None else stream

    def start_epoch(self, epoch: int, steps: int, done: int = 0) -> None:
        """Epoch ``epoch`` (1-based) of ``steps`` batches begins, ``done`` of them already run (resume)."""

    def step(self, loss: float, acc: float) -> None:
        """A step finished; ``loss``/``acc`` are the epoch's running means."""

    def end_epoch(self, row: dict) -> None:
        """The epoch's history row is complete."""

    def message(self, text: str) -> None:
        """A note for the user (early stopping, resume), shown unless quiet."""

    def close(self) -> None:
        pass


class EpochLines(Progress):
    """One plain line per epoch; no carriage returns."""

    def end_epoch(self, row):
        print(epoch_line(row, self.epochs), file=self.stream, flush=True)

    def message(self, text):
        print(text, file=self.stream, flush=True)


class Bar(Progress):
    """A tqdm bar per epoch (``tqdm.auto`` in Jupyter), with running loss/acc as its postfix; at the
    end of the epoch the bar is cleared and the epoch's plain line (with the val metrics) printed."""

    def __init__(self, epochs, stream=None):
        super().__init__(epochs, stream)
        if in_notebook():
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        self._tqdm = tqdm
        self._bar = None

    def start_epoch(self, epoch, steps, done=0):
        self.close()
        self._bar = self._tqdm(total=steps, initial=done, desc=f"epoch {epoch}/{self.epochs}", unit="step",
                               file=self.stream, leave=False, dynamic_ncols=True)

    def step(self, loss, acc):
        self._bar.set_postfix({"loss": f"{loss:.4f}", "acc": f"{acc:.4f}"}, refresh=False)
        self._bar.update(1)

    def end_epoch(self, row):
        self.close()
        print(epoch_line(row, self.epochs), file=self.stream, flush=True)

    def message(self, text):
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(verbose, epochs: int, stream=None) -> Progress:
    """The display for ``verbose`` (see the module docstring)."""
    mode = resolve_mode(verbose, stream)
    return {"bar": Bar, "epoch": EpochLines, "quiet": Progress}[mode](epochs, stream)


@contextlib.contextmanager
def compile_notice(progress: Progress):
    """Say ``compiling kernels (once) ...`` through ``progress`` at the first Numba compilation
    while the block runs (once per block); silent when every kernel loads from the cache."""
    from numba.core import event

    class Notice(event.Listener):
        said = False

        def on_start(self, ev):
            if not self.said:
                self.said = True
                progress.message("compiling kernels (once) ...")

        def on_end(self, ev):
            pass

    with event.install_listener("numba:compile", Notice()):
        yield
