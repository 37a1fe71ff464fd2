"""Determinism: the same config and seed give bit-identical history, step losses, parameters,
buffers and optimizer state, across processes and thread counts (see docs/reliability.md).

Compared (wall-clock columns excluded): the in-process reference run against fresh processes
with NUMBA_NUM_THREADS=1 and 2 (OpenBLAS on 1 thread), and with OpenBLAS on 2 threads as well.
The interrupted-and-resumed runs of test_faults.py are compared against the same reference.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from .cases import fault_config
from .conftest import assert_same_arrays, checkpoint_arrays, cli_env, history_rows, run_cli, steps_text, write_config

THREADS = {
    "numba1-blas1": {"NUMBA_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1, "OMP_NUM_THREADS": 1},
    "numba2-blas1": {"NUMBA_NUM_THREADS": 2, "OPENBLAS_NUM_THREADS": 1, "OMP_NUM_THREADS": 1},
    "numba2-blas2": {"NUMBA_NUM_THREADS": 2, "OPENBLAS_NUM_THREADS": 2, "OMP_NUM_THREADS": 2},
}


@pytest.fixture(scope="module")
def process_runs(tmp_path_factory):
    """The fault config trained in three fresh processes at once, one per thread setting."""
    def train(name):
        root = tmp_path_factory.mktemp(name)
        config = write_config(root / "fault.yaml", fault_config(root / "runs", **{"trainer.verbose": "quiet"}))
        proc = run_cli("train", config, cwd=root, env=cli_env(**THREADS[name]), timeout=300)
        assert proc.returncode == 0, proc.stderr
        return name, root / "runs" / "fault"

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(THREADS)) as pool:
        return dict(pool.map(train, THREADS))


@pytest.mark.parametrize("name", list(THREADS))
def test_fresh_process_matches_the_reference_bit_for_bit(name, process_runs, reference_run):
    run_dir = process_runs[name]
    assert history_rows(run_dir) == history_rows(reference_run)
    assert steps_text(run_dir) == steps_text(reference_run)
    for which in ("last.npz", "best.npz"):
        assert_same_arrays(checkpoint_arrays(run_dir / "checkpoints" / which),
                           checkpoint_arrays(reference_run / "checkpoints" / which), f"{name} {which}")


def test_the_comparison_can_fail(process_runs, tmp_path):
    """A run with another seed differs: the comparison above is not vacuous."""
    import layernet

    config = write_config(tmp_path / "fault.yaml", fault_config(tmp_path / "runs", seed=1, **{"trainer.verbose": "quiet"}))
    other = layernet.run(config)
    reference = process_runs["numba1-blas1"]
    assert history_rows(other) != history_rows(reference)
    with pytest.raises(AssertionError):
        assert_same_arrays(checkpoint_arrays(other / "checkpoints" / "last.npz"),
                           checkpoint_arrays(reference / "checkpoints" / "last.npz"))
