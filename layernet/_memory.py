"""Reusing freed memory from one training step to the next: ``keep_freed_memory()``.

Every training step allocates and frees the same large arrays: each layer's output and cached
input, im2col columns, gradients (1-15 MB each for a batch of 128 on MNIST). glibc's malloc
serves a request above ``M_MMAP_THRESHOLD`` (128 KiB, raised adaptively up to 32 MiB) with fresh
pages from ``mmap`` and gives them back on ``free``; memory freed at the top of the heap beyond
``M_TRIM_THRESHOLD`` goes back to the system too. The next step then gets new pages again, and
the first write to each 4 KiB page is a page fault in which the kernel zeroes it: ~3,000 faults
for every 12 MB array, every step.

``keep_freed_memory()`` raises both thresholds through glibc's own run-time control
(``mallopt``), so arrays up to ``MMAP_THRESHOLD`` come from the heap and freed memory stays in the
process for the next step (its pages are already mapped). Measured in one training step (the
ThreeLayerConvNet of ``benchmarks/models.py``, 2 threads, batch 128, each setting in fresh
processes): the ReLU after the convolution took 2.2-2.7 ms forward with the default thresholds
and 1.2-1.3 ms with these, the max pool 2.4 ms and 0.9-1.0 ms, the whole step 27.8-33.5 ms and
22.5-29.4 ms (the glibc variables ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_``).

The price: memory a step freed is not returned to the system while the process runs (its peak
is unchanged). The setting is process-wide, made once at ``import layernet``; nothing is changed
where the user set either glibc variable (an explicit choice wins, as in ``_threads.py``), or on
a C library other than glibc (musl, macOS, Windows), which is left alone.
"""

from __future__ import annotations

import ctypes
import os

#: glibc's ``mallopt`` parameter numbers (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Arrays up to this size come from the heap (larger ones, say a whole data set, are mapped alone).
MMAP_THRESHOLD = 256 << 20
#: Free memory the heap keeps at its top instead of returning it to the system.
TRIM_THRESHOLD = 512 << 20
#: The environment variables through which a user sets the same thresholds at process start.
USER_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def keep_freed_memory(environ=None) -> bool:
    """Set glibc's mmap and trim thresholds (``MMAP_THRESHOLD``, ``TRIM_THRESHOLD``); True if set.

    Leaves malloc alone (False) if ``environ`` (``os.environ``) sets either glibc variable of
    ``USER_VARIABLES``, or if the process's C library is not glibc.
    """
    environ = os.environ if environ is None else environ
    if any(name in environ for name in USER_VARIABLES):
        return False
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def _glibc_mallopt():
    """glibc's ``mallopt(int, int) -> int`` from the running process, or None elsewhere."""
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # only glibc has it (musl has a mallopt that does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt
