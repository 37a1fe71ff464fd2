"""layernet sweep on Dask: same trials and metrics as the local executor, a lost worker, bad addresses."""

from __future__ import annotations

import os
import socket
import sys

import pytest

distributed = pytest.importorskip("distributed")

import dask  # noqa: E402

from layernet.sweep import table  # noqa: E402
from layernet.sweep.local import LocalExecutor, thread_environment  # noqa: E402
from layernet.sweep.runner import run_sweep  # noqa: E402
from layernet.sweep.trial import run_trial  # noqa: E402

from test_sweep import SWEEP, cli, fake_trial, write_sweep  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on 127.0.0.1; a worker lost twice is a KilledWorker."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address=None, env=thread_environment(1)) as local:
            yield local


def dask_overrides(cluster):
    return ["sweep.executor.type=dask", f"sweep.executor.address={cluster.scheduler_address}", "trainer.epochs=1"]


def test_dask_same_trials_and_metrics_as_local(tmp_path, monkeypatch, cluster):
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path)
    local_dir = run_sweep(path, ["trainer.epochs=1", "sweep.name=local"],
                          executor=LocalExecutor(workers=2, threads=1), progress="quiet")
    dask_dir = run_sweep(path, [*dask_overrides(cluster), "sweep.name=dask"], progress="quiet")
    columns = ["trial", "optimizer.lr", "model.layers.0.out_channels", "val_acc", "test_acc", "epochs", "status"]
    local_rows = [[r[c] for c in columns] for r in table.read_table(local_dir / "trials.csv")]
    dask_rows = [[r[c] for c in columns] for r in table.read_table(dask_dir / "trials.csv")]
    assert dask_rows == local_rows and all(r[-1] == "ok" for r in dask_rows)
    assert (dask_dir / "best.yaml").read_text().split("\n", 1)[1] == (local_dir / "best.yaml").read_text().split("\n", 1)[1]


def _dying_trial(task):
    """Kills its worker process: t001 on the first attempt only, t002 on every attempt."""
    marker = os.path.join(os.path.dirname(task["config"]["output"]["dir"]), f"{task['trial']}.died")
    if task["trial"] == "t002" or (task["trial"] == "t001" and not os.path.exists(marker)):
        open(marker, "w").close()
        os._exit(1)
    return fake_trial(task)  # no training: restarted workers stay light, the test stays short


def test_lost_worker_retried_once_then_marked(tmp_path, monkeypatch, cluster):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    monkeypatch.chdir(tmp_path)
    path = write_sweep(tmp_path)
    lr = "sweep.space.optimizer.lr={loguniform: [1.0e-3, 1.0e-2]}"  # fake_trial: every lr here is ok
    sweep_dir = run_sweep(path, [*dask_overrides(cluster), lr], train_fn=_dying_trial, progress="quiet")
    rows = {r["trial"]: r for r in table.read_table(sweep_dir / "trials.csv")}
    assert rows["t001"]["status"] == "ok" and (sweep_dir / "runs" / "t001.died").exists()  # retried elsewhere
    assert rows["t002"]["status"] == "lost" and "KilledWorker" in rows["t002"]["error"]
    assert rows["t000"]["status"] == rows["t003"]["status"] == "ok"
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarted the dead workers


def test_unreachable_address_exit_2(tmp_path, capsys):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    path = write_sweep(tmp_path, SWEEP.replace("executor: {type: local, workers: 0}",
                                               f"executor: {{type: dask, address: '{address}', connect_timeout: 1}}"))
    assert cli([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and address in err and "Traceback" not in err
    assert not (tmp_path / "sweeps").exists()
