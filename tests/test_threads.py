"""``configure_threads``: sets the documented defaults, never overrides a user's choice. And the
suite's thread-count helpers (conftest): each count really runs, serial kernels are caught."""

import types

import numba
import numpy as np
import pytest

from conftest import THREAD_COUNTS, assert_parallel, results_across_threads
from layernet._threads import DEFAULTS, configure_threads
from layernet.layers import norm


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
