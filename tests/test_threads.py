"""Thread choices: ``configure_threads`` sets the documented defaults, never overrides a user's
choice, and gives the same configuration whatever was imported before layernet (issue 16)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layernet._threads import DEFAULTS, configure_threads

ROOT = Path(__file__).resolve().parent.parent


def test_sets_defaults_in_an_empty_environment():
    env = {}
    assert configure_threads(env) == DEFAULTS
    assert env == DEFAULTS


def test_keeps_explicit_choices():
    env = {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "omp"}
    assert configure_threads(env) == {}
    assert env == {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "omp"}


#: Imports ``FIRST`` (nothing, numpy, numba or torch), then layernet; runs a parallel kernel
#: (the one-channel convolution) and a BLAS product; prints the thread configuration in use.
_CHILD = """
import sys
for name in sys.argv[1:]:
    __import__(name)
import layernet
import numpy as np
import numba
from layernet.layers import Conv2d
from layernet._threads import openblas_libraries

x = np.ones((4, 1, 8, 8), np.float32)
Conv2d(1, 4, 3, rng=0).forward(x)                      # a prange kernel: Numba's pool starts here
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
    pytest.importorskip("torch")
    assert _config(["torch"]) == layernet_first


def test_an_explicit_choice_wins_after_numpy_was_imported():
    config = _config(["numpy"], OPENBLAS_THREAD_TIMEOUT="9")
    assert all(b["timeout"] == 9 for b in config["blas"])
