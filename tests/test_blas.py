"""``_blas.batched``: every job runs once, on a valid worker, handed out as threads free up, also
in a forked child."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from layernet import _blas


def test_every_job_runs_once_on_a_valid_worker():
    seen, lock = [], threading.Lock()

    def job(k, worker):
        np.ones((64, 64)) @ np.ones((64, 64))
        with lock:
            seen.append((k, worker))

    _blas.batched(job, 16)
    assert sorted(k for k, _ in seen) == list(range(16))
    assert {w for _, w in seen} <= set(range(_blas.workers()))


def test_a_slow_job_does_not_hold_up_the_jobs_behind_it():
    """Worker 0's first job is slow; the other worker takes the remaining jobs meanwhile, instead
    of waiting at the end for the ones worker 0 would have had in fixed turns."""
    from threadpoolctl import threadpool_limits

    seen, lock = [], threading.Lock()

    def job(k, worker):
        if k == 0:
            time.sleep(0.3)
        with lock:
            seen.append((k, worker))

    with threadpool_limits(2, user_api="blas"):
        assert _blas.workers() == 2, "this test needs OpenBLAS with two threads"
        _blas.batched(job, 12)
    slow_worker = dict(seen)[0]
    assert [k for k, w in seen if w == slow_worker] == [0]
    assert sorted(k for k, _ in seen) == list(range(12))


def test_blas_threads_are_restored():
    lib = _blas._openblas()
    if lib is None:
        pytest.skip("no OpenBLAS pthreads pool")
    before = lib.get_num_threads()
    _blas.batched(lambda k, w: None, 4)
    assert lib.get_num_threads() == before


_FORK = """
import os, numpy as np, layernet
from layernet.layers import Conv2d
layer = Conv2d(3, 8, 3, padding=1, rng=0)
x = np.ones((40, 3, 8, 8), np.float32)
want = layer.forward(x)                       # the helper threads start in the parent
pid = os.fork()
if pid == 0:
    ok = np.array_equal(layer.forward(x), want)   # a child has no helper threads: it makes its own
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_hang():
    proc = subprocess.run([sys.executable, "-c", _FORK], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "0"
