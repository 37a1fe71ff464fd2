"""Thread choices: ``configure_threads`` sets the documented defaults, never overrides a user's
choice, and gives the same configuration whatever was imported before layernet (issue 16). And
the suite's thread-count helpers (conftest): each count really runs, serial kernels are caught."""

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numba
import numpy as np
import pytest

from conftest import THREAD_COUNTS, assert_parallel, require_torch, results_across_threads
from layernet._threads import DEFAULTS, configure_threads
from layernet.layers import norm

ROOT = Path(__file__).resolve().parent.parent


def test_sets_defaults_in_an_empty_environment():
    env = {}
    assert configure_threads(env) == DEFAULTS
    assert env == DEFAULTS


def test_keeps_explicit_choices():
    env = {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "omp"}
    assert configure_threads(env) == {}
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "omp"}


def thread_count_run(rng):
    """What results_across_threads calls in its process: the thread count it was given."""
    return [np.array(numba.get_num_threads()), rng.standard_normal(2)]


def test_results_across_threads_runs_each_count():
    runs = results_across_threads("test_threads", "thread_count_run")
    assert [int(run[0]) for run in runs] == list(THREAD_COUNTS) and max(THREAD_COUNTS) > 1
    assert all(np.array_equal(run[1], runs[0][1]) for run in runs)  # a fresh generator per count


def test_assert_parallel_refuses_serial_kernels():
    assert_parallel(norm)
    serial = types.ModuleType("serial_kernels")
    serial.double = numba.njit(lambda x: 2 * x)
    with pytest.raises(AssertionError, match="serial_kernels uses no parallel kernel"):
        assert_parallel(serial)


#: Imports ``FIRST`` (nothing, numpy, numba or torch), then layernet; runs a parallel kernel
#: (batch norm's) and a BLAS product; prints the thread configuration in use.
_CHILD = """
import sys
for name in sys.argv[1:]:
    __import__(name)
import layernet
import numpy as np
import numba
from layernet.layers import BatchNorm
from layernet._threads import openblas_libraries

x = np.ones((4, 2, 8, 8), np.float32)
BatchNorm(2).forward(x, training=True)                 # a prange kernel: Numba's pool starts here
np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)
import json
print(json.dumps({
    "numba_threading_layer": numba.threading_layer(),
    "numba_threads": numba.get_num_threads(),
    "blas": [{"api": lib.internal_api, "threads": lib.get_num_threads(), "layer": lib.threading_layer,
              "timeout": lib.dynlib.openblas_thread_timeout()} for lib in openblas_libraries()],
}))
"""


def _config(first, **env):
    child_env = {k: v for k, v in os.environ.items() if k not in DEFAULTS}  # as a fresh shell has it
    child_env.update(env)
    proc = subprocess.run([sys.executable, "-c", _CHILD, *first], cwd=ROOT, env=child_env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def layernet_first():
    config = _config([])
    assert config["numba_threading_layer"] == DEFAULTS["NUMBA_THREADING_LAYER"]
    assert config["blas"] and all(b["timeout"] == int(DEFAULTS["OPENBLAS_THREAD_TIMEOUT"]) for b in config["blas"])
    return config


@pytest.mark.parametrize("first", [["numpy"], ["numba"], ["numpy", "numba"]], ids=lambda f: "+".join(f))
def test_import_order_gives_the_same_configuration(first, layernet_first):
    assert _config(first) == layernet_first


def test_torch_imported_first_gives_the_same_configuration(layernet_first):
    require_torch()
    assert _config(["torch"]) == layernet_first


def test_an_explicit_choice_wins_after_numpy_was_imported():
    config = _config(["numpy"], OPENBLAS_THREAD_TIMEOUT="9")
    assert all(b["timeout"] == 9 for b in config["blas"])
