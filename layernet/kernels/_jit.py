"""The one place that decides the Numba compilation flags of every kernel.

- ``cache=True``: compiled machine code is written next to the module's ``__pycache__`` so the
  second process start loads it instead of compiling (the first run of a fresh install compiles).
- ``fastmath``: every LLVM fast-math flag *except* ``nnan`` and ``ninf``, so that reductions
  vectorise and multiply-adds fuse while NaN and inf still propagate (the trainer relies on
  seeing a non-finite loss).
- ``parallel``: only for kernels whose outer loop is a ``prange`` over independent outputs;
  each output element is written by exactly one thread, so results do not depend on the
  number of threads.
"""

from __future__ import annotations

import numba

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def njit_kernel(fn=None, *, parallel: bool = False):
    """Decorate a kernel with the project's njit flags; usable bare or as ``@njit_kernel(parallel=True)``."""

    def wrap(f):
        return numba.njit(cache=True, nogil=True, fastmath=set(FASTMATH), parallel=parallel)(f)

    return wrap(fn) if fn is not None else wrap
