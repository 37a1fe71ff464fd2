"""Conv2d's own paths against each other: Winograd in chunks of tiles against im2col, per layer.

    python -m benchmarks.conv_paths [--rounds 8] [--threads 1]

For each case (float32, batch 128, padding that keeps the size), forward in training mode and
backward with dx, through the tile path (``layers/conv.py``'s ``TILE_SIZES``, ``TILES_CHUNK``) and
through im2col (the tile path switched off by its channel threshold), in interleaved rounds in
one process. Printed per case: both medians in ms and the median of the per-round ratios
tiles / im2col (< 1: the tile path is faster), which is what ``TILES_MIN_CHANNELS`` and
``TILE_SIZES`` were chosen from.

``--threads 1`` (the default) runs OpenBLAS on one thread, so the chunks run one after the other
and the figure is CPU time, which a busy machine disturbs least; ``--threads 2`` runs the chunks
on two threads, as a training step does. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import layernet  # noqa: F401  (thread configuration before numpy loads, as in benchmarks/__init__)
import numpy as np

#: (in_channels, out_channels, kernel, size): the CIFAR net's 3x3 layers and LeNet's 5x5 one, and
#: small channel counts around the threshold.
CASES = [(32, 32, 3, 32), (32, 64, 3, 32), (64, 64, 3, 16), (32, 64, 3, 16), (64, 64, 3, 8),
         (16, 32, 3, 32), (16, 16, 3, 16), (8, 16, 3, 32), (3, 32, 3, 32),
         (32, 64, 5, 14), (32, 32, 5, 8)]


def compare(case, rounds: int, rng) -> dict:
    from layernet.layers import Conv2d
    from layernet.layers import conv as conv_module

    c, f, k, size = case
    x = rng.standard_normal((128, c, size, size), dtype=np.float32)
    dout = rng.standard_normal((128, f, size, size), dtype=np.float32)
    layer = Conv2d(c, f, k, padding=k // 2, rng=0)
    chosen = conv_module.TILES_MIN_CHANNELS
    paths = {"tiles": 1, "im2col": 10**9}
    times = {name: [] for name in paths}

    def step():
        layer.forward(x, training=True)
        layer.backward(dout)

    for name, threshold in paths.items():  # warm-up: compile / load the Numba cache
        conv_module.TILES_MIN_CHANNELS = threshold
        step()
    try:
        for _ in range(rounds):
            for name, threshold in paths.items():
                conv_module.TILES_MIN_CHANNELS = threshold
                step()
                start = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - start)
    finally:
        conv_module.TILES_MIN_CHANNELS = chosen
    ratios = np.array(times["tiles"]) / np.array(times["im2col"])
    return {"case": case, "tiles_ms": 1e3 * float(np.median(times["tiles"])),
            "im2col_ms": 1e3 * float(np.median(times["im2col"])), "ratio": float(np.median(ratios)),
            "default": "tiles" if c >= chosen else "im2col"}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conv_paths", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    print("| C->F, kernel, size | tiles ms | im2col ms | tiles / im2col | Conv2d uses |")
    print("|---|---|---|---|---|")
    with threadpool_limits(args.threads, user_api="blas"):
        for case in CASES:
            row = compare(case, args.rounds, rng)
            c, f, k, size = case
            print(f"| {c}->{f}, {k}x{k}, {size}x{size} | {row['tiles_ms']:.1f} | {row['im2col_ms']:.1f} "
                  f"| {row['ratio']:.2f} | {row['default']} |", flush=True)


if __name__ == "__main__":
    main()
