"""Training progress display: a tqdm bar per epoch, one plain line per epoch, or nothing.

``verbose`` modes:

- ``"auto"``: a bar when the output is a terminal or the code runs in Jupyter; otherwise one
  line per epoch, so CI logs and redirected output never fill with carriage returns.
- ``"bar"``: always the tqdm bar (running loss/acc after every step, val metrics at the end).
- ``"epoch"``: always one line per epoch, e.g.
  ``epoch 3/10  loss 0.3123  acc 0.9120  val_loss 0.2871  val_acc 0.9250  lr 0.001  1.2s``
- ``"quiet"``: nothing.

Keras' integers are accepted too: 0 -> quiet, 1 -> bar, 2 -> epoch; ``True`` -> auto, ``False`` -> quiet.
"""

from __future__ import annotations

import math
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
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "bar" if in_notebook() or (isatty is not None and isatty()) else "epoch"


def _fmt(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def epoch_line(row: dict, epochs: int) -> str:
    """The one-line summary of a history row."""
    parts = [f"epoch {row['epoch']}/{epochs}", f"loss {_fmt(row['train_loss'])}", f"acc {_fmt(row['train_acc'])}"]
    if not math.isnan(row["val_loss"]):
        parts += [f"val_loss {_fmt(row['val_loss'])}", f"val_acc {_fmt(row['val_acc'])}"]
    parts += [f"lr {row['lr']:.3g}", f"{row['time_s']:.1f}s"]
    return "  ".join(parts)


class Progress:
    """Interface and the quiet mode: every hook does nothing."""

    def __init__(self, epochs: int, stream=None):
        self.epochs = epochs
        self.stream = sys.stdout if stream is None else stream

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
    """A tqdm bar per epoch (``tqdm.auto`` in Jupyter), with running loss/acc as its postfix."""

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
                               file=self.stream, leave=True, dynamic_ncols=True)

    def step(self, loss, acc):
        self._bar.set_postfix({"loss": f"{loss:.4f}", "acc": f"{acc:.4f}"}, refresh=False)
        self._bar.update(1)

    def end_epoch(self, row):
        if self._bar is None:
            return
        postfix = {"loss": _fmt(row["train_loss"]), "acc": _fmt(row["train_acc"])}
        if not math.isnan(row["val_loss"]):
            postfix.update(val_loss=_fmt(row["val_loss"]), val_acc=_fmt(row["val_acc"]))
        postfix["lr"] = f"{row['lr']:.3g}"
        self._bar.set_postfix(postfix, refresh=True)
        self.close()

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
