"""Controlling numpy's OpenBLAS threads around a block of products.

- ``batched(fn, count)``: many independent BLAS jobs at once, one BLAS thread per job.
- ``single_threaded_blas()``: a block of small sequential products on one BLAS thread.

Both find numpy's OpenBLAS once (through threadpoolctl, ``_threads.openblas_libraries``), set its
thread count with its own ``openblas_set_num_threads`` and restore it afterwards; the setting is
process-wide while the block runs. Without OpenBLAS (MKL, Accelerate) both run the work unchanged.

``batched``:

Winograd convolution needs 16 independent products per chunk of images (one per transformed
element), each small (say 32x32 by 32x2048). Handed to a multi-threaded OpenBLAS one after the
other, every product splits over the cores and must wake OpenBLAS's workers, which layernet lets
sleep right after each call (``OPENBLAS_THREAD_TIMEOUT=4``, see ``_threads.py``); on a busy
machine each wake-up can wait for a time slice. Measured on the shared 2-core machine (load 8,
16 products 32x32 @ 32x2048 float32, median of 15): 8-108 ms with 2 OpenBLAS threads, 1.4-2.6 ms
with 1, and 0.9-2.9 ms with the products split over 2 Python threads running 1 OpenBLAS thread
each, which is what ``batched`` does: OpenBLAS is set to one thread for the duration (its own
``openblas_set_num_threads``, through threadpoolctl), and the products are shared out over as
many threads as OpenBLAS had (numpy releases the GIL inside a product). Each product is written
by exactly one thread, so results do not depend on the thread count.

The im2col convolution uses it the same way for its chunks of images (each job: the chunk's
copies in serial Numba kernels, which release the GIL, and its products); ``fn(k, worker)``
gets the index of the thread running it, so each thread can have its own workspace.

Jobs are handed out as threads free up, not in fixed turns: when another process takes a core
for a while, the other thread does more of the jobs instead of waiting for the slowed one at the
end. Which thread runs a job does not change its result (a worker's workspace serves one job at
a time, and each job writes its own part of the output).

Without OpenBLAS (MKL, Accelerate), with one BLAS thread, or when called while another
``batched`` runs, the jobs simply run in a loop on the calling thread (worker 0). Jobs must not
call parallel Numba kernels: Numba's workqueue pool may not be entered from two threads at once.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_state: dict = {}


def _openblas():
    """The OpenBLAS controller numpy uses (pthreads build), or None; looked up once."""
    if "lib" not in _state:
        from ._threads import openblas_libraries

        libs = [lib for lib in openblas_libraries() if lib.threading_layer == "pthreads"]
        if len(libs) > 1:  # e.g. scipy's own OpenBLAS beside numpy's: the one numpy ships
            libs = [lib for lib in libs if "numpy" in str(lib.filepath)]
        _state["lib"] = libs[0] if len(libs) == 1 else None
    return _state["lib"]


def _pool(workers: int) -> ThreadPoolExecutor:
    """The helper threads; a forked child (whose copy of the pool has no threads) makes its own."""
    pool, pid = _state.get("pool"), _state.get("pid")
    if pool is None or pid != os.getpid() or pool._max_workers < workers:
        pool = _state["pool"] = ThreadPoolExecutor(workers, thread_name_prefix="layernet-blas")
        _state["pid"] = os.getpid()
    return pool


def workers() -> int:
    """How many threads ``batched`` may use: the OpenBLAS thread count (1 without OpenBLAS)."""
    lib = _openblas()
    return lib.get_num_threads() if lib is not None else 1


def batched(fn, count: int) -> None:
    """Call ``fn(k, worker)`` for k in range(count), shared over ``workers()`` threads."""
    lib = _openblas()
    threads = lib.get_num_threads() if lib is not None else 1
    if threads <= 1 or count <= 1 or not _lock.acquire(blocking=False):
        for k in range(count):
            fn(k, 0)
        return
    try:
        lib.set_num_threads(1)
        n_workers = min(threads, count)

        jobs = itertools.count()  # handed out as threads free up (next() on a count is atomic under the GIL)

        def part(w):
            for k in jobs:
                if k >= count:
                    return
                fn(k, w)

        futures = [_pool(n_workers - 1).submit(part, w) for w in range(1, n_workers)]
        part(0)
        for future in futures:
            future.result()
    finally:
        lib.set_num_threads(threads)
        _lock.release()


# ---------------------------------------------------------------------- sequential small products
#: Why the recurrent layers use ``single_threaded_blas``: they make one small product per time
#: step (``h_{t-1} @ Wh``: (128, 128) @ (128, 512) for an LSTM of 128 units on a batch of 128,
#: 8 MFLOP), one after another with elementwise work in between. Split over two threads, each call
#: must wake OpenBLAS's second thread, which went back to sleep in between, and wait for it; on a
#: shared machine that thread may not get a core for milliseconds. LSTM(28 -> 128) forward +
#: backward over T = 28 steps, float32, a fresh process per setting, load average 7-11 on 2 cores:
#: 62-1615 ms with two BLAS threads, 34-87 ms with one (``OPENBLAS_NUM_THREADS=1``).


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with numpy's OpenBLAS on one thread; restore its thread count afterwards."""
    lib = _openblas()
    before = lib.get_num_threads() if lib is not None else 1
    if before <= 1:
        yield
        return
    lib.set_num_threads(1)
    try:
        yield
    finally:
        lib.set_num_threads(before)
