"""Thread-pool defaults, set before numpy and Numba load: ``configure_threads()``.

layernet runs two thread pools side by side: OpenBLAS (numpy's matrix products) and Numba's
``prange`` kernels. Left alone they fight on a small machine: after every BLAS call OpenBLAS's
workers keep spinning for a while, and Numba's default OpenMP pool spins after every parallel
loop too, so each pool's busy-waiting threads steal the cores the other one is about to use.
``configure_threads()`` sets, *only where the user has not set them already*
(``os.environ.setdefault``):

- ``OPENBLAS_THREAD_TIMEOUT=4``: idle OpenBLAS workers go to sleep after 2**4 = 16 cycles of
  polling instead of the default 2**28, so they stop competing with Numba's threads between calls.
- ``NUMBA_THREADING_LAYER=workqueue``: Numba's own simple pool, whose threads block on a
  condition variable between loops instead of spinning (OpenMP's default wait policy). It is
  also independent of the OpenMP runtime PyTorch bundles, so both libraries can share a process.

Measured on the LeNet-BN training step (batch 128, float32, 2 cores), layernet time / PyTorch
time in the same process, before -> after: see the "Performance" section of the README and
``python -m benchmarks.threads``.

What is deliberately *not* set: ``OMP_WAIT_POLICY=PASSIVE`` (it would make every OpenMP
runtime in the process passive, slowing PyTorch when both are loaded) and the thread counts
(``OPENBLAS_NUM_THREADS``, ``NUMBA_NUM_THREADS``), which keep their defaults (one per core).

These variables are read once, when OpenBLAS (first ``import numpy``) and Numba's pool load,
so this runs at the very top of ``layernet/__init__.py``. If numpy was imported before
layernet, the OpenBLAS setting has no effect in that process (nothing fails; it is just the
slower default); set the variables in the shell to be sure.
"""

from __future__ import annotations

import os

#: The defaults ``configure_threads`` applies; an explicit value in the environment wins.
DEFAULTS = {
    "OPENBLAS_THREAD_TIMEOUT": "4",
    "NUMBA_THREADING_LAYER": "workqueue",
}


def configure_threads(environ=None) -> dict:
    """Set the ``DEFAULTS`` not already in ``environ`` (``os.environ``); return those it set."""
    environ = os.environ if environ is None else environ
    applied = {}
    for key, value in DEFAULTS.items():
        if key not in environ:
            environ[key] = value
            applied[key] = value
    return applied
