"""Whether operations on Tensors are recorded: ``no_grad()`` switches recording off in a block."""

from __future__ import annotations

import contextlib

_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside ``no_grad()``."""
    return _enabled


@contextlib.contextmanager
def no_grad():
    """A block in which nothing is recorded: results have ``requires_grad=False`` and no history.

        with no_grad():
            y = w * x        # plain values, e.g. for an evaluation or an optimizer update
    """
    global _enabled
    saved, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = saved
