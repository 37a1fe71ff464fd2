"""Ctrl-C during training: finish the current step, then stop cleanly.

While ``deferred_sigint(flag)`` is active in the main thread, the first SIGINT only sets
``flag.requested``; the trainer checks it between steps, writes a checkpoint of the state after
the last finished step and raises ``KeyboardInterrupt`` itself. A second Ctrl-C raises at once
(the state in memory is then not trusted, and the last checkpoint on disk stays as it was).

Outside the main thread, or when someone else installed a SIGINT handler (not Python's default),
nothing is changed and a Ctrl-C raises wherever it lands.
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
        print("\ninterrupt: stopping after this step (press Ctrl-C again to stop at once)", file=stream, flush=True)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
