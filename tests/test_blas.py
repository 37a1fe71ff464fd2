"""``_blas.batched``: every job runs once, on a valid worker, also in a forked child."""

import subprocess
import sys
import threading

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
