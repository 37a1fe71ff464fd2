"""Ctrl-C during training: finish the current step, then stop cleanly.

While ``deferred_sigint(flag)`` is active in the main thread, the first SIGINT only sets
``flag.requested``; the trainer checks it between steps, writes a checkpoint of the state after
the last finished step and raises ``KeyboardInterrupt`` itself. A second Ctrl-C raises at once
(the state in memory is then not trusted, and the last checkpoint on disk stays as it was).

Outside the main thread, or when a SIGINT handler other than Python's default is installed,
nothing is changed. That handler may be an outer ``deferred_sigint`` sharing the flag (``run``
keeps one over training *and* writing the run's files, so a Ctrl-C after the last epoch lets the
files be finished); any other handler decides for itself.

``flag.notice`` is what the first Ctrl-C prints (the runner changes it once training is over).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading


class StopFlag:
    """Set by the handler; read by the training loop."""

    def __init__(self):
        self.requested = False
        self.notice = "interrupt: stopping after this step (press Ctrl-C again to stop at once)"


@contextlib.contextmanager
def deferred_sigint(flag: StopFlag, stream=None):
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield flag
        return
    stream = sys.stderr if stream is None else stream

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        print(f"\n{flag.notice}", file=stream, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
