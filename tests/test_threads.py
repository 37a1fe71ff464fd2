"""``configure_threads``: sets the documented defaults, never overrides a user's choice."""

from layernet._threads import DEFAULTS, configure_threads


def test_sets_defaults_in_an_empty_environment():
    env = {}
    assert configure_threads(env) == DEFAULTS
    assert env == DEFAULTS


def test_keeps_explicit_choices():
    env = {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "omp"}
    assert configure_threads(env) == {}
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "omp"}
