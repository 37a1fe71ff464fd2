"""Thread-pool choices, applied whatever was imported first: ``configure_threads()``.

layernet runs two thread pools side by side: OpenBLAS (numpy's matrix products) and Numba's
``prange`` kernels. Left alone they fight on a small machine: after every BLAS call OpenBLAS's
workers keep polling for a while, and Numba's default OpenMP pool spins after every parallel
loop too, so each pool's busy-waiting threads steal the cores the other one is about to use.
layernet makes two choices, *only where the user has not set the variable already*:

- ``OPENBLAS_THREAD_TIMEOUT=4``: idle OpenBLAS workers go to sleep after 2**4 = 16 cycles of
  polling instead of the default 2**28, so they stop competing with Numba's threads between calls.
- ``NUMBA_THREADING_LAYER=workqueue``: Numba's own simple pool, whose threads block on a
  condition variable between loops instead of spinning (OpenMP's default wait policy). It is
  also independent of the OpenMP runtime PyTorch bundles, so both libraries can share a process.

Both libraries read these variables once: OpenBLAS when it loads (the first ``import numpy``,
also done by ``import torch``), Numba when its pool starts (the first parallel kernel). So
``import layernet`` does two things (``configure_threads``):

1. ``os.environ.setdefault`` for both variables, which is all that is needed when layernet is
   imported first, and which child processes inherit;
2. ``apply_threads()``: for a library that is *already loaded*, the same choice through the
   library's own controls, so ``import numpy; import layernet`` (or numba, or torch first) runs
   with the same configuration as ``import layernet`` first (tests/test_threads.py compares the
   three orders in fresh processes):

   - Numba, if imported and its pool not started yet: ``numba.config.THREADING_LAYER``, which
     the pool reads when it starts. (If the user already ran a parallel Numba function, the pool
     exists and keeps its layer; nothing can change that.)
   - OpenBLAS, if numpy is loaded: OpenBLAS has no setter for the timeout, but it exports the
     two functions it uses itself around ``fork``: ``openblas_read_env`` (reads the
     ``OPENBLAS_*`` variables again) and ``blas_thread_shutdown_`` (stops its workers; the next
     BLAS call starts them again, and they take the timeout read then). Done only when the
     timeout OpenBLAS holds differs from the chosen one, and only for OpenBLAS's own pthreads
     pool (an OpenMP build has no such timeout). The library is found with ``threadpoolctl``.

Measured (``python -m benchmarks``'s import-order rows; see docs/performance.md): without step 2,
``import numpy`` first left OpenBLAS's timeout at its default, and ``import numba`` first left
Numba's layer at its default, and the LeNet-BN step ran up to 1.8x slower (issue 16).

What is deliberately *not* set: ``OMP_WAIT_POLICY=PASSIVE`` (it applies to every OpenMP
runtime in the process, PyTorch's included, so importing layernet would change PyTorch's
speed) and the thread counts (``OPENBLAS_NUM_THREADS``, ``NUMBA_NUM_THREADS``), which keep
their defaults (one per core). Earlier measurements (``python -m benchmarks.threads``, one fresh
process per setting, LeNet-BN step, load 5-8): defaults 989-1308 ms, these two settings
564-695 ms; either alone gave less.
"""

from __future__ import annotations

import os
import sys

#: The defaults ``configure_threads`` applies; an explicit value in the environment wins.
DEFAULTS = {
    "OPENBLAS_THREAD_TIMEOUT": "4",
    "NUMBA_THREADING_LAYER": "workqueue",
}
#: The variables ``configure_threads`` put into this process's environment (not the user's own),
#: so that a tool starting fresh interpreters can hand them the environment a user's shell has.
SET_BY_LAYERNET: dict = {}


def configure_threads(environ=None) -> dict:
    """Set the ``DEFAULTS`` not already in ``environ`` (``os.environ``); return those it set.

    With the process's own environment (no argument) it then calls ``apply_threads()``, so
    libraries loaded before layernet get the same choices.
    """
    own = environ is None
    environ = os.environ if own else environ
    applied = {}
    for key, value in DEFAULTS.items():
        if key not in environ:
            environ[key] = value
            applied[key] = value
    if own:
        SET_BY_LAYERNET.update(applied)
        apply_threads()
    return applied


def apply_threads() -> dict:
    """Apply ``os.environ``'s choices to Numba and OpenBLAS if they are already loaded.

    Returns what it changed (``{"numba_threading_layer": ..., "openblas_thread_timeout": ...}``);
    libraries not loaded yet need nothing, they read the environment when they load.
    """
    changed = {}
    if "numba" in sys.modules:
        layer = _apply_numba_layer(os.environ.get("NUMBA_THREADING_LAYER"))
        if layer is not None:
            changed["numba_threading_layer"] = layer
    if "numpy" in sys.modules:
        timeout = _apply_openblas_timeout(os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
        if timeout is not None:
            changed["openblas_thread_timeout"] = timeout
    return changed


def _apply_numba_layer(layer):
    """Set ``numba.config.THREADING_LAYER`` if Numba's pool has not started; the layer set or None."""
    config = sys.modules.get("numba.core.config")
    pool = sys.modules.get("numba.np.ufunc.parallel")
    if not layer or config is None or getattr(pool, "_is_initialized", False):
        return None
    if config.THREADING_LAYER == layer:
        return None
    config.THREADING_LAYER = layer
    return layer


def openblas_libraries() -> list:
    """threadpoolctl's controllers of the OpenBLAS libraries loaded in this process ([] without it)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return []
    return [lib for lib in ThreadpoolController().lib_controllers if lib.internal_api == "openblas"]


def _apply_openblas_timeout(value):
    """Make loaded OpenBLAS pthreads pools use timeout ``value``; the value set, or None."""
    if not value or not value.strip().isdigit():
        return None
    wanted, done = int(value), None
    for lib in openblas_libraries():
        dll = lib.dynlib
        if lib.threading_layer != "pthreads" or not all(
                hasattr(dll, name) for name in ("openblas_thread_timeout", "openblas_read_env", "blas_thread_shutdown_")):
            continue
        if dll.openblas_thread_timeout() == wanted:
            continue
        dll.openblas_read_env()  # what OpenBLAS does at load: picks up OPENBLAS_THREAD_TIMEOUT
        dll.blas_thread_shutdown_()  # workers restart at the next BLAS call, with the new timeout
        done = wanted
    return done
