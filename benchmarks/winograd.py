"""Winograd against im2col in one process: where should ``Conv2d`` take the Winograd path?

    python -m benchmarks.winograd [--rounds 5] [--batch 128] [--threads 2] [--chunk-bytes B] [CASE ...]

CASE is ``K_C_F_S`` (a KxK convolution, stride 1, padding K//2, C -> F channels on S x S maps);
the default list covers the CIFAR and LeNet layers around the thresholds of ``layers/conv.py``.
Each step is forward in training mode + backward with dx, float32. For every case the two paths
alternate, ``--rounds`` times a block of 3 timed steps each (after two warm-up steps), and the
median per path is printed with the range of the block medians and the ratio Winograd / im2col.
The im2col timing is the same layer with the Winograd thresholds switched off. Timings on a
shared machine move with the load: compare the two columns, measured side by side, and read
``uptime`` before and after (printed). ``--chunk-bytes`` sets ``WINOGRAD_CHUNK_BYTES`` (how many
images a Winograd chunk holds) for the run.
"""

from __future__ import annotations

import argparse
import os
import time

DEFAULT_CASES = ["3_3_32_32", "3_16_32_32", "3_32_32_32", "3_32_64_32", "3_64_64_32",
                 "3_16_32_16", "3_32_32_16", "3_32_64_16", "3_64_64_16", "3_64_128_8", "3_128_128_8",
                 "5_6_16_14", "5_16_32_14", "5_32_64_14", "5_32_32_28"]


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def measure(case: str, rounds: int, batch: int):
    """(winograd ms list, im2col ms list): block medians, alternating the two paths."""
    import numpy as np

    from layernet.layers import Conv2d
    from layernet.layers import conv as conv_module

    k, c, f, s = (int(v) for v in case.split("_"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, c, s, s), dtype=np.float32)
    dout = rng.standard_normal((batch, f, s, s), dtype=np.float32)
    layer = Conv2d(c, f, k, padding=k // 2, rng=0)
    names = ("WINOGRAD_MIN_CHANNELS", "WINOGRAD_MIN_PIXELS", "WINOGRAD_MIN_SIZE")
    saved = [getattr(conv_module, name) for name in names]
    always = (1, 1, {k: 1 for k in saved[2]})
    never = (10**9, 10**9, {k: 10**9 for k in saved[2]})

    def step():
        layer.forward(x, training=True)
        layer.backward(dout)

    def block(winograd: bool):
        for name, value in zip(names, always if winograd else never):
            setattr(conv_module, name, value)
        assert layer._winograd(s, s) == winograd
        times = []
        for _ in range(3):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        return 1e3 * float(np.median(times))

    try:
        for w in (True, False):
            block(w)  # warm-up: compile / load the Numba cache
        wino, im2col = [], []
        for _ in range(rounds):
            wino.append(block(True))
            im2col.append(block(False))
    finally:
        for name, value in zip(names, saved):
            setattr(conv_module, name, value)
    return wino, im2col


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.winograd", description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2, help="Numba threads (OpenBLAS keeps layernet's setting)")
    parser.add_argument("--chunk-bytes", type=int, help="WINOGRAD_CHUNK_BYTES for this run")
    args = parser.parse_args(argv)
    import numba
    import numpy as np

    numba.set_num_threads(max(1, min(args.threads, numba.config.NUMBA_NUM_THREADS)))
    if args.chunk_bytes:
        from layernet.layers import conv as conv_module

        conv_module.WINOGRAD_CHUNK_BYTES = args.chunk_bytes
    print(f"load before: {_load()}; batch {args.batch}, {args.threads} threads, fwd (training) + bwd with dx, float32")
    print(f"{'case (K_C_F_S)':16s} {'winograd ms':>22s} {'im2col ms':>22s} {'ratio':>6s}")
    for case in args.cases:
        wino, im2col = measure(case, args.rounds, args.batch)
        w, i = float(np.median(wino)), float(np.median(im2col))
        print(f"{case:16s} {w:7.1f} ({min(wino):6.1f}-{max(wino):6.1f}) {i:7.1f} ({min(im2col):6.1f}-{max(im2col):6.1f})"
              f" {w / i:6.2f}", flush=True)
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
