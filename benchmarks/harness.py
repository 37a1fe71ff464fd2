"""Timing machinery shared by the suite: interleaved rounds, medians, threads, subprocesses.

- ``interleave(cases, repeats)``: every round calls each case once, in turn (layernet, torch,
  numpy, layernet, torch, numpy ...), so a slow moment of a shared machine hits every column
  alike; the result is the median seconds per case. One untimed warm-up call per case first
  (Numba compilation or cache load, allocator warm-up).
- ``set_threads(n)``: the same thread count for Numba and PyTorch. numpy's OpenBLAS reads its
  thread count once, at load, from the environment (``__main__`` sets it before numpy loads).
- ``run_python(code, env)``: a fresh interpreter that prints one JSON line as its last line;
  used for start-up times and for peak RSS (``peak_rss_mb`` in the child: that child only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def optional_torch(threads: int):
    """``torch`` with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def set_threads(threads: int):
    """Numba's thread count (capped at its pool size); returns the torch module or None."""
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return optional_torch(threads)


#: Seconds to wait before each case's untimed call in ``interleave``. PyTorch's OpenMP threads
#: busy-wait for a few milliseconds after each parallel region (libgomp's default spin count);
#: a case timed while they spin shares the two cores with them. One untimed call alone was not
#: enough for short cases: the affine 784->512 forward measured 2.9x PyTorch's time that way.
HANDOVER_PAUSE = 0.02


def _busy_wait(seconds: float) -> None:
    """Spin on this thread for ``seconds``. Not ``time.sleep``: an idle virtual CPU is slow to
    come back (tiny cases timed right after a sleep took ~4 ms, a scheduler tick)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def interleave(cases: dict, repeats: int, warmup: int = 1) -> dict:
    """Median seconds of each zero-argument callable in ``cases``, timed in interleaved rounds.

    In each round every case waits ``HANDOVER_PAUSE`` (the previous case's idle threads stop
    spinning and go to sleep), runs once untimed (it takes the cores, caches and its own thread
    pool back) and then once timed, so neither library is timed while the other's idle threads
    still hold the cores.
    """
    for fn in cases.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in cases}
    clock = time.perf_counter
    for _ in range(repeats):
        for name, fn in cases.items():
            _busy_wait(HANDOVER_PAUSE)
            fn()  # settle: take the cores back from the previous case's spinning threads
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: float(np.median(values)) for name, values in times.items()}


def child_env(env: dict | None = None) -> dict:
    """The environment for a fresh interpreter: this process's, *without* the thread variables
    ``import layernet`` set here (the child decides for itself, as a user's process would; the
    user's own settings stay), plus ``env`` (a value of None removes the variable)."""
    from layernet._threads import SET_BY_LAYERNET

    out = {k: v for k, v in os.environ.items() if SET_BY_LAYERNET.get(k) != v}
    for key, value in (env or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = str(value)
    return out


def run_python(code: str, env: dict | None = None, timeout: float = 900) -> dict:
    """Run ``code`` in a fresh ``python -c`` from the repository root; its last stdout line as JSON.

    ``env`` entries are added to (a copy of) this process's environment; a value of None removes
    the variable. A failing child raises RuntimeError with the end of its stderr.
    """
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env(env), capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: ``VmHWM`` from ``/proc/self/status``, which starts afresh at ``exec``. (``getrusage``'s
    ``ru_maxrss`` does not: a child started from a big parent reports at least the parent's
    size at fork time, so every child of the suite would read the same.) Elsewhere getrusage.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    per_mib = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0  # macOS reports bytes, Linux KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / per_mib


def load_average():
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    return [round(v, 1) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def machine() -> dict:
    """CPU model, core count and library versions, for the report header."""
    import numba

    info = {"python": sys.version.split()[0], "numpy": np.__version__, "numba": numba.__version__,
            "cores": os.cpu_count(), "cpu": "unknown"}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
        info["simd"] = " ".join(f for f in ("avx2", "fma", "avx512f") if f" {f}" in flags)
    except OSError:
        pass
    try:
        info["numba_threading_layer"] = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        info["numba_threading_layer"] = os.environ.get("NUMBA_THREADING_LAYER", "default")
    info["load_average"] = load_average()
    info["env"] = {k: os.environ[k] for k in sorted(os.environ)
                   if k.startswith(("OPENBLAS_", "NUMBA_", "OMP_", "MKL_"))}
    return info
