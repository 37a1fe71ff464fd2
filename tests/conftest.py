"""Shared fixtures and helpers: seeded random generators, float64 tolerances, the PyTorch
oracle (``require_torch``), thread-count runs."""

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

#: float64 analytic-vs-numeric bound used across the suite (see layernet.gradcheck).
GRAD_TOL = 1e-7
#: Bound for whole-model checks (loss of order 1): the centred difference carries an absolute
#: round-off of about eps * |loss| / h ~ 1e-11, which is ~1e-6 relative to the smallest gradient
#: elements (~1e-5) of a random network, whatever the code's correctness.
MODEL_GRAD_TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(0)


#: Set to 1 (``.ci/run`` does) to make a missing PyTorch fail the oracle tests instead of skipping them.
REQUIRE_TORCH = "LAYERNET_REQUIRE_TORCH"


def require_torch():
    """The ``torch`` module, for a test that uses PyTorch as an independent oracle.

    Without torch the test is skipped, unless the environment sets ``LAYERNET_REQUIRE_TORCH=1``
    (CI installs torch, so there a missing torch must fail the run, not skip it quietly).
    """
    if os.environ.get(REQUIRE_TORCH) != "1":
        return pytest.importorskip("torch")
    try:
        import torch
    except ImportError as err:
        pytest.fail(f"{REQUIRE_TORCH}=1 but torch cannot be imported ({err}); install it: "
                    f"pip install torch==2.13.0 (the tests' oracle)", pytrace=False)
    return torch


#: Numba thread counts compared by ``results_across_threads``: one, and counts that split the
#: outer loops of the tests' shapes unevenly. The process is started with the largest, so the
#: comparison happens whatever the machine's core count (Numba may run more threads than cores).
THREAD_COUNTS = (1, 2, 3)


def results_across_threads(module: str, function: str) -> list[list[np.ndarray]]:
    """``[function(rng) for each count of THREAD_COUNTS]``, each run with that many Numba threads.

    ``function`` lives in ``tests/<module>.py``, takes a fresh ``np.random.default_rng(0)`` and
    returns a sequence of arrays. It runs in a fresh process started with
    ``NUMBA_NUM_THREADS=max(THREAD_COUNTS)`` (this process's thread pool may have one thread).
    """
    tests = Path(__file__).resolve().parent
    code = textwrap.dedent(f"""
        import sys, numba, numpy as np
        sys.path.insert(0, {str(tests)!r})
        from {module} import {function} as run
        results = {{}}
        for count in {THREAD_COUNTS!r}:
            numba.set_num_threads(count)
            for index, array in enumerate(run(np.random.default_rng(0))):
                results[f"{{count}}/{{index}}"] = np.asarray(array)
        np.savez(sys.argv[1], **results)
    """)
    env = {**os.environ, "NUMBA_NUM_THREADS": str(max(THREAD_COUNTS))}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.npz"
        proc = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        with np.load(path) as saved:
            return [[saved[f"{count}/{i}"] for i in range(len(saved.files) // len(THREAD_COUNTS))]
                    for count in THREAD_COUNTS]


def assert_parallel(module) -> None:
    """Fail unless ``module`` calls a Numba kernel compiled with ``parallel=True``: a thread-count
    test of serial kernels compares a computation with itself and cannot fail."""
    parallel = [name for name, value in vars(module).items() if getattr(value, "targetoptions", {}).get("parallel")]
    assert parallel, f"{module.__name__} uses no parallel kernel: its thread-count test cannot fail; remove it"
