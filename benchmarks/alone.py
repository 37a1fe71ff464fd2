"""The headline method: each library alone in a fresh process, one at a time, rounds alternating.

    python -m benchmarks.alone LIB CASE [--first numpy|torch] [--threads 2] [--settle 3] [--timed 10]

runs ``CASE`` for ``LIB`` (layernet or torch) in this process: builds it, runs two warm-up steps
(Numba cache load, allocators), then ``settle`` untimed and ``timed`` timed steps, and prints one
JSON line: the step seconds and the thread configuration in use. ``bench_alone`` starts one such
process per library per round, *one at a time* (nothing of the other library is alive while a
process is timed), alternating layernet, torch, layernet, torch ... as a user who tries both
libraries in turn would; the median is over every timed step of every round.

Cases: the reference models of ``models.py`` (a training step: forward, softmax-CE, backward,
SGD-momentum) and layer cases ``conv3x3_C_F_S`` (a 3x3 convolution, padding 1, C -> F channels
on S x S maps, batch 128: forward in training mode + backward with the input gradient, as in a
net's inner layer), ``conv5x5_C_F_S`` (the same with a 5x5 filter and padding 2, e.g.
``conv5x5_32_64_14``, LeNet's second convolution) and ``conv_first_K_S`` (a KxK convolution,
padding K//2, 1 -> 32 channels on S x S maps, batch 128: forward in training mode + backward
*without* the input gradient, as in the first layer of an MNIST net: layernet
``needs_input_grad=False``, torch's input does not require grad).

``--first`` imports another library *before* layernet, as a script or notebook may: ``numpy``
(``import numpy as np`` at the top), ``torch`` (imported and used for one product first, as in a
notebook that compares the two). These are the import-order rows: the same layernet step, which
must not depend on what was imported first (``layernet/_threads.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

#: What ``--first`` runs before ``import layernet`` (and before anything of the suite, which imports it).
PREAMBLES = {
    None: "",
    "numpy": "import numpy\n",
    "torch": "import torch\ntorch.ones(256, 256) @ torch.ones(256, 256)\n",
}
#: Layer cases of the headline table: (C, F, S) of the 3x3 convolutions in the CIFAR net and beside it.
CONV3X3 = [(3, 32, 32), (32, 32, 32), (32, 64, 32), (64, 64, 32),
           (3, 32, 16), (32, 32, 16), (32, 64, 16), (64, 64, 16)]


def conv_case(c, f, s, k=3) -> str:
    return f"conv{k}x{k}_{c}_{f}_{s}"


def _is_conv_case(case: str) -> bool:
    return case.startswith(("conv3x3_", "conv5x5_", "conv_first_"))


#: The first convolution of the MNIST nets: 1 -> FIRST_FILTERS channels (``conv_first_K_S``).
FIRST_FILTERS = 32


def _conv_step(lib: str, case: str, threads: int):
    """fwd (training) + bwd of one convolution; step(x, y). ``conv3x3_C_F_S`` / ``conv5x5_C_F_S``:
    KxK, padding K//2, dx included; ``conv_first_K_S``: KxK, padding K//2, 1 -> FIRST_FILTERS
    channels, no dx."""
    import numpy as np

    from .models import BATCH

    if case.startswith("conv_first_"):
        k, s = (int(v) for v in case.split("_")[2:])
        c, f, need_dx = 1, FIRST_FILTERS, False
    else:
        (c, f, s), k, need_dx = (int(v) for v in case.split("_")[1:]), int(case[4]), True
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, c, s, s), dtype=np.float32)
    dout = rng.standard_normal((BATCH, f, s, s), dtype=np.float32)
    from layernet.layers import Conv2d

    layer = Conv2d(c, f, k, padding=k // 2, rng=0)
    layer.needs_input_grad = need_dx
    if lib == "torch":
        from .harness import set_threads

        torch = set_threads(threads)
        conv = torch.nn.Conv2d(c, f, k, padding=k // 2)
        conv.weight.data = torch.tensor(layer.params["W"])
        xt, gt = torch.from_numpy(x).requires_grad_(need_dx), torch.from_numpy(dout)

        def step(*_):
            conv.zero_grad(set_to_none=True)
            xt.grad = None
            conv(xt).backward(gt)

        return step, (x, None)
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))

    def step(*_):
        layer.forward(x, training=True)
        layer.backward(dout)

    return step, (x, None)


def thread_config() -> dict:
    """Numba's threading layer (once a parallel kernel ran) and the OpenBLAS pools' settings."""
    import numba

    from layernet._threads import openblas_libraries

    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = None
    return {"numba_threading_layer": layer, "numba_threads": numba.get_num_threads(),
            "blas": [{"threads": b.get_num_threads(), "timeout": b.dynlib.openblas_thread_timeout()}
                     for b in openblas_libraries() if hasattr(b.dynlib, "openblas_thread_timeout")]}


#: Timed steps per process: at least ``timed``, and for short steps as many as fill MIN_TIMED_SECONDS
#: (at most MAX_TIMED): the MLP's 2.5 ms step gets 100, a LeNet-BN step keeps 10. The same rule for
#: both libraries. (With 10 timed MLP steps, one slow moment of the shared machine moved a
#: process's median by up to 1.7x.)
MIN_TIMED_SECONDS = 0.25
MAX_TIMED = 200


def run(lib: str, case: str, threads: int = 2, settle: int = 3, timed: int = 10, images: int = 2048) -> dict:
    """Time ``case`` for ``lib`` in this process (see the module docstring); a JSON-able dict."""
    from .models import batches, model_data, training_step

    if _is_conv_case(case):
        step, (x, y) = _conv_step(lib, case, threads)
        data = [(x, y)]
    else:
        x, y, _ = model_data(case, images)
        data = batches(x, y, 8)
        step = training_step(lib, case, threads)
    for i in range(2):  # compile / load the Numba cache, warm the allocators
        step(*data[i % len(data)])
    clock = time.perf_counter
    settled = []
    for i in range(settle):
        start = clock()
        step(*data[i % len(data)])
        settled.append(clock() - start)
    if settled:  # short steps get more timed steps: a single hiccup of the machine then moves the median less
        timed = max(timed, min(MAX_TIMED, int(MIN_TIMED_SECONDS / max(sorted(settled)[len(settled) // 2], 1e-6))))
    seconds = []
    for i in range(timed):
        xb, yb = data[i % len(data)]
        start = clock()
        step(xb, yb)
        seconds.append(clock() - start)
    result = {"lib": lib, "case": case, "seconds": seconds}
    if lib == "layernet":
        result["threads"] = thread_config()
    return result


def command(lib: str, case: str, first=None, threads: int = 2, settle: int = 3, timed: int = 10) -> list:
    """The argv of a fresh interpreter running ``run`` after ``first``'s preamble."""
    call = f"run({lib!r}, {case!r}, {threads}, {settle}, {timed})"
    code = (PREAMBLES[first] + "import json\nfrom benchmarks.alone import run\n"
            f"print(json.dumps({call}))\n")
    return [sys.executable, "-c", code]


def run_alone(lib: str, case: str, first=None, threads: int = 2, settle: int = 3, timed: int = 10) -> dict:
    """``run`` in a fresh interpreter, waited for; raises RuntimeError with its stderr if it fails."""
    from .harness import ROOT, child_env

    proc = subprocess.run(command(lib, case, first, threads, settle, timed), cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmarks.alone {lib} {case} (first {first}) failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_alone(variants: list, rounds: int, threads: int = 2, block: tuple = (3, 10), say=None) -> list[dict]:
    """Median step of each variant ``(lib, case, first)``, one fresh process per variant per round.

    Each round runs every variant once, in the given order, one process at a time. Returns one
    row per variant: the median over all timed steps, the range of the per-round medians, and
    the thread configuration the layernet processes reported (the same in every round).
    """
    import numpy as np

    times = {v: [] for v in variants}
    per_round = {v: [] for v in variants}
    config = {}
    for r in range(rounds):
        for v in variants:
            if say:
                say(f"  round {r + 1}/{rounds}: {v[0]} {v[1]}" + (f" ({v[2]} imported first)" if v[2] else ""))
            out = run_alone(*v, threads=threads, settle=block[0], timed=block[1])
            times[v] += out["seconds"]
            per_round[v].append(float(np.median(out["seconds"])))
            config[v] = out.get("threads")
    return [{"lib": v[0], "case": v[1], "first": v[2], "ms": 1e3 * float(np.median(times[v])),
             "round_ms": [1e3 * t for t in per_round[v]], "steps": len(times[v]), "threads": config[v]}
            for v in variants]


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.alone", description=__doc__.splitlines()[0])
    parser.add_argument("lib", choices=["layernet", "torch"])
    parser.add_argument("case")
    parser.add_argument("--first", choices=[k for k in PREAMBLES if k])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settle", type=int, default=3)
    parser.add_argument("--timed", type=int, default=10)
    args = parser.parse_args(argv)
    out = run_alone(args.lib, args.case, args.first, args.threads, args.settle, args.timed)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
