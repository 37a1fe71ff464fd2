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

Measured with ``python -m benchmarks.threads`` (LeNet-BN training step, batch 128, float32,
one fresh process per setting, layernet interleaved with PyTorch; three runs on a shared 2-core
machine under load 5-8, so absolute times are inflated): layernet's step took 989-1308 ms with
the libraries' defaults (omp layer, OpenBLAS timeout 2**28) and 564-695 ms with these two
settings, 0.53-0.64x; either one alone gave less (timeout only 0.77-1.13x, workqueue only
0.47-0.87x of the defaults' time, unsteady), and single-threaded Numba beside 2-thread BLAS was
about as good as the choice (634-943 ms) but gives up the parallel convolution kernels.

What is deliberately *not* set: ``OMP_WAIT_POLICY=PASSIVE`` (it applies to every OpenMP
runtime in the process, PyTorch's included, so importing layernet would change PyTorch's
speed: slower on a quiet machine, per issue 6; faster under heavy load in the runs above, while
it did not help layernet's step, 792-1214 ms) and the thread counts
(``OPENBLAS_NUM_THREADS``, ``NUMBA_NUM_THREADS``), which keep their defaults (one per core).

These variables are read once, when OpenBLAS (first ``import numpy``) and Numba's pool load,
so this runs at the very top of ``layernet/__init__.py``. If numpy was imported before
layernet, the OpenBLAS setting has no effect in that process (nothing fails; it is just the
slower default). ``import torch`` imports numpy, so a script that imports torch first gets
OpenBLAS's default timeout (Numba's layer is still set, since Numba loads later); set the
variables in the shell to be sure.
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
