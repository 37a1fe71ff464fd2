"""Training steps timed in a process of their own, on request from the suite.

    python -m benchmarks.step_worker LIB MODEL IMAGES THREADS

builds the reference ``MODEL`` (``models.layernet_model``; for ``LIB`` torch, its PyTorch copy
with the same initial weights) on the first ``IMAGES`` MNIST training images (the 8 batches of
``models.batches``, the same in every process), warms it up, prints ``{"ready": true}``, then
serves requests read from stdin, one per line: ``SETTLE TIMED`` runs SETTLE untimed steps and
then TIMED timed ones and prints their seconds as a JSON list. An empty line or EOF ends it.

Why a process per library: in one process the two libraries' thread pools meet. After each of
its calls PyTorch's OpenMP threads keep spinning on the two cores for a while, and OpenBLAS's
workers (numpy's products) sleep and must be woken, so whichever library runs second in a round
is timed while the other's idle threads still hold the cores. Measured on the MLP step (2
cores): layernet alone 2.7 ms, PyTorch alone 3.9 ms, but interleaved in one process 4.7-8.9 ms
and 3.3-7.8 ms. Users train with one library per process, so the suite times them that way and
keeps the interleaving (see ``models.bench_steps``): the parent alternates between the two
processes, one block at a time, so a slow moment of a shared machine still hits both.
The layernet process never imports torch.
"""

from __future__ import annotations

import json
import sys
import time


def serve(lib: str, model_name: str, images: int, threads: int, stdin=sys.stdin, stdout=sys.stdout) -> None:
    from .models import BATCH, batches, model_data, training_step

    x, y, _ = model_data(model_name, images)
    data = batches(x, y, 8)
    step = training_step(lib, model_name, threads)
    count = 0

    def one_step():
        nonlocal count
        xb, yb = data[count % len(data)]
        count += 1
        step(xb, yb)

    for _ in range(2):  # compile / load the Numba cache, warm the allocators
        one_step()
    print(json.dumps({"ready": True, "batch": BATCH}), file=stdout, flush=True)
    clock = time.perf_counter
    for line in stdin:
        if not line.strip():
            break
        settle, timed = (int(v) for v in line.split())
        for _ in range(settle):
            one_step()
        seconds = []
        for _ in range(timed):
            start = clock()
            one_step()
            seconds.append(clock() - start)
        print(json.dumps(seconds), file=stdout, flush=True)


if __name__ == "__main__":
    lib_arg, model_arg, images_arg, threads_arg = sys.argv[1:5]
    serve(lib_arg, model_arg, int(images_arg), int(threads_arg))
