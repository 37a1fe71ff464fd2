"""The local executor: trials in a pool of worker processes on this machine (or in this process).

Threads. Each of ``workers`` processes gets an equal share of the cores,
``threads = max(1, cores // workers)``, for *both* of its thread pools: ``NUMBA_NUM_THREADS``,
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are set to ``threads``
before the worker imports numpy or numba (they are read once, when those libraries load), so 2
workers on 2 cores run single-threaded kernels and never oversubscribe the machine. The workers
are started with the ``spawn`` method (a fresh interpreter, never a fork of a process whose
thread pools already exist); the variables are in the environment the interpreter starts with
*and* set again by the pool's initializer, and every worker is started and checked (``probe``)
before the first trial is handed out.

``workers: 0`` runs the trials in this process, one after the other, with this process's
threads (handy under a debugger).

A worker that dies mid-trial (killed, out of memory) breaks the pool: the pool is replaced, and
each trial that was running is retried once, then reported lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
from concurrent.futures import FIRST_COMPLETED, wait
from concurrent.futures.process import BrokenProcessPool

THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask where the platform has one)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    return max(1, (cores or cpu_count()) // max(1, workers))


def thread_environment(threads: int) -> dict:
    return {name: str(int(threads)) for name in THREAD_VARIABLES}


def _init_worker(threads: int) -> None:
    """Pool initializer: runs in the fresh worker before any trial imports numpy or numba."""
    os.environ.update(thread_environment(threads))
    global _PRELOADED
    _PRELOADED = sorted(name for name in ("numpy", "numba") if name in sys.modules)


_PRELOADED: list = []


def probe(task=None) -> dict:
    """What a worker runs with: pid, its Numba thread count, the thread variables, libraries loaded too early."""
    import numba

    return {"pid": os.getpid(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "environ": {name: os.environ.get(name) for name in THREAD_VARIABLES}, "preloaded": _PRELOADED}


@contextlib.contextmanager
def _environment(values: dict):
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalExecutor:
    """Runs ``fn(task)`` for each task; ``run`` yields ``(task, result or exception)`` as trials finish."""

    name = "local"

    def __init__(self, workers: int = 1, threads: int | None = None):
        self.workers = int(workers)
        self.threads = threads or threads_per_worker(self.workers)
        self._pool = None
        self.info = []

    @property
    def parallelism(self) -> int:
        """How many trials run at once (``workers: 0`` runs one at a time, in this process)."""
        return max(1, self.workers)

    def describe(self) -> str:
        if self.workers == 0:
            return "local executor, in this process"
        return f"local executor, {self.workers} worker process(es) x {self.threads} thread(s)"

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with _environment(thread_environment(self.threads)):
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_init_worker, initargs=(self.threads,))
            # start every worker now, while the environment holds the thread counts
            self.info = [f.result() for f in [self._pool.submit(probe) for _ in range(self.workers)]]

    def run(self, fn, tasks):
        tasks = list(tasks)
        if self.workers == 0:
            for task in tasks:
                yield task, fn(task)
            return
        pending, running, attempts = list(reversed(tasks)), {}, {}
        if self._pool is None:
            self._start()
        while pending or running:
            while pending and len(running) < self.workers:
                task = pending.pop()
                running[self._pool.submit(fn, task)] = task
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                task = running.pop(future)
                error = future.exception()
                if isinstance(error, BrokenProcessPool):
                    broken = True
                    attempts[task["trial"]] = attempts.get(task["trial"], 0) + 1
                    if attempts[task["trial"]] <= 1:
                        pending.append(task)
                        continue
                    error = RuntimeError(f"worker process died twice while running trial {task['trial']}")
                yield task, (error if error is not None else future.result())
            if broken:  # every future of a broken pool fails: requeue the others, start a new pool
                for future, task in running.items():
                    pending.append(task)
                running.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._start()

    def close(self, cancel: bool = False) -> None:
        if self._pool is not None:
            if cancel:
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        process.terminate()
            self._pool.shutdown(wait=not cancel, cancel_futures=True)
            self._pool = None
