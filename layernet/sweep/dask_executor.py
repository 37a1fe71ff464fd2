"""The Dask executor: trials as tasks on a ``distributed`` cluster (``pip install layernet[dask]``).

- ``address: tcp://host:8786``: ``distributed.Client(address)`` connects to a running scheduler
  (``dask scheduler``; workers started with ``dask worker tcp://host:8786 --nthreads 1``). A
  scheduler that does not answer within ``connect_timeout`` seconds is a one-line ValueError
  naming the address (the CLI exits 2).
- ``address: local``: a ``LocalCluster`` on 127.0.0.1 with ``workers`` worker processes (default:
  one per core), one thread each, and the worker processes' thread variables set like the local
  executor's (``cores // workers`` threads for Numba and BLAS), so the same trial gives the same
  numbers under both executors.

Each trial is one task running the same ``run_trial`` as the local executor, submitted with
``pure=False`` and ``retries=1`` (an exception escaping the task is retried once); results come
back as they finish (``as_completed``). Only the trial's config travels: each worker loads the
data set itself, from its own ``LAYERNET_DATA``. A worker that dies mid-trial makes the
scheduler run the trial elsewhere; on a ``LocalCluster`` the scheduler allows that once
(``distributed.scheduler.allowed-failures: 1``, and ``worker-saturation: 1.0`` so that a worker
holds only the trial it is running: a dying worker takes no queued trial down with it); a remote
scheduler follows its own settings (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1`` where
``dask scheduler`` starts). Past that the trial comes back as ``KilledWorker``, recorded as lost.
"""

from __future__ import annotations

import uuid

from .local import cpu_count, thread_environment, threads_per_worker


def _missing() -> ValueError:
    return ValueError("executor.type: dask needs the distributed package: pip install 'layernet[dask]' "
                      "(or pip install distributed)")


class DaskExecutor:
    """``run(fn, tasks)`` yields ``(task, result or exception)`` in the order trials finish."""

    name = "dask"

    def __init__(self, address: str, workers: int | None = None, connect_timeout: float = 5.0):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise _missing() from None
        self.address = address
        self.cluster = None
        self.threads = None
        if address == "local":
            workers = workers or cpu_count()
            self.threads = threads_per_worker(workers)
            with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}):
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None,
                                            env=thread_environment(self.threads))
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout=f"{connect_timeout}s")
            except (OSError, TimeoutError) as err:
                reason = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise ValueError(f"executor.address: cannot reach the Dask scheduler at {address} within "
                                 f"{connect_timeout:g} s ({reason[:120]})") from None
            except ValueError as err:
                raise ValueError(f"executor.address: {address!r} is not a Dask scheduler address "
                                 f"(expected tcp://host:8786 or local): {err}") from None
        self._futures = []

    @property
    def parallelism(self) -> int:
        """How many trials run at once: the worker threads the scheduler knows now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        workers = len(self.client.scheduler_info().get("workers", {}))
        where = "a LocalCluster" if self.cluster is not None else f"the scheduler at {self.address}"
        return f"dask executor, {workers} worker(s) on {where}"

    def run(self, fn, tasks):
        from distributed import as_completed

        tasks = list(tasks)
        token = uuid.uuid4().hex[:8]
        by_key = {}
        for task in tasks:
            future = self.client.submit(fn, task, key=f"trial-{task['trial']}-{token}", pure=False, retries=1)
            by_key[future.key] = task
            self._futures.append(future)
        for future in as_completed(list(self._futures)):
            task = by_key[future.key]
            try:
                result = future.result()
            except Exception as err:  # KilledWorker, CancelledError, an error escaping the task
                result = err
            future.release()
            yield task, result
        self._futures = []

    def close(self, cancel: bool = False) -> None:
        if cancel and self._futures:
            self.client.cancel(self._futures)
        self._futures = []
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
