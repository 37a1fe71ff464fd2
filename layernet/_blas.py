"""``single_threaded_blas()``: run a block of small matrix products on one OpenBLAS thread.

The recurrent layers make one small product per time step (``h_{t-1} @ Wh``: (128, 128) @ (128, 512)
for an LSTM of 128 units on a batch of 128, 8 MFLOP), one after another with elementwise work in
between. Split over two threads, each call must wake OpenBLAS's second thread, which went back to
sleep in between (``OPENBLAS_THREAD_TIMEOUT``, see ``_threads.py``), and wait for it; on a shared
machine that thread may not get a core for milliseconds. LSTM(28 -> 128) forward + backward over
T = 28 steps, float32, a fresh process per setting, load average 7-11 on 2 cores: 62-1615 ms with
two BLAS threads, 34-87 ms with one (``OPENBLAS_NUM_THREADS=1``). The recurrent layers therefore
run their forward and backward inside ``single_threaded_blas()`` (see ``layers/recurrent.py``).

How: numpy's bundled OpenBLAS is found among the process's loaded libraries (``/proc/self/maps``,
Linux) and its ``*openblas_set_num_threads*`` function is called through ctypes, the count being
restored on exit (the same mechanism as ``threadpoolctl``, which layernet does not depend on). The
setting is process-wide while the block runs. Where no OpenBLAS is found (another BLAS, another OS)
the block runs unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import re

_PREFIXES = ("scipy_openblas_", "openblas_")
_SUFFIXES = ("64_", "")
_UNSET = object()
_functions = _UNSET


def _find_openblas():
    """``(get_num_threads, set_num_threads)`` of the loaded OpenBLAS, or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as handle:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", handle.read())))
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                get = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    get.restype, set_.argtypes = ctypes.c_int, [ctypes.c_int]
                    return get, set_
    return None


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with numpy's OpenBLAS on one thread; restore its thread count afterwards."""
    global _functions
    if _functions is _UNSET:
        import numpy  # noqa: F401  (OpenBLAS is loaded with numpy)

        _functions = _find_openblas()
    if _functions is None:
        yield
        return
    get, set_ = _functions
    before = get()
    if before <= 1:
        yield
        return
    set_(1)
    try:
        yield
    finally:
        set_(before)
