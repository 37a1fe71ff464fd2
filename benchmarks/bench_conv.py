"""Conv2d forward and forward+backward next to PyTorch (float32, batch 128, 2 threads).

    python -m benchmarks.bench_conv [--repeats 15]

Rounds are interleaved (layernet, torch, layernet, torch, ...) and the median of each is
printed in ms with the ratio layernet / torch. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CASES = [
    # name, (N, C, H, W), out_channels, kernel, padding
    ("1->32 5x5 pad 2, 128x1x28x28", (128, 1, 28, 28), 32, 5, 2),
    ("1->32 7x7 pad 3, 128x1x28x28", (128, 1, 28, 28), 32, 7, 3),
    ("32->64 5x5 pad 2, 128x32x14x14", (128, 32, 14, 14), 64, 5, 2),
]


def bench(repeats: int = 15, threads: int = 2):
    import numba

    from layernet.layers import Conv2d

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # the layernet column still prints
        torch = None
    rng = np.random.default_rng(0)
    rows = []
    for name, shape, filters, k, pad in CASES:
        layer = Conv2d(shape[1], filters, k, padding=pad, rng=0)
        x = rng.standard_normal(shape).astype(np.float32)
        dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:]))).astype(np.float32)

        def ln_fwd():
            layer.forward(x, training=True)
            layer._cache = None

        def ln_fwd_bwd():
            layer.forward(x, training=True)
            layer.backward(dout)

        candidates = {"layernet fwd": ln_fwd, "layernet fwd+bwd": ln_fwd_bwd}
        if torch is not None:
            conv = torch.nn.Conv2d(shape[1], filters, k, padding=pad)
            tx = torch.tensor(x, requires_grad=True)
            tdout = torch.tensor(dout)

            def t_fwd():
                with torch.no_grad():
                    conv(tx)

            def t_fwd_bwd():
                conv.zero_grad(set_to_none=True)
                tx.grad = None
                conv(tx).backward(tdout)

            candidates.update({"torch fwd": t_fwd, "torch fwd+bwd": t_fwd_bwd})
        times = {key: [] for key in candidates}
        for fn in candidates.values():  # warm-up (compilation, allocator)
            fn()
        for _ in range(repeats):
            for key, fn in candidates.items():
                t0 = time.perf_counter()
                fn()
                times[key].append(time.perf_counter() - t0)
        med = {key: 1e3 * float(np.median(v)) for key, v in times.items()}
        rows.append((name, med))
    return rows, torch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    rows, torch = bench(args.repeats, args.threads)
    print(f"threads={args.threads}, repeats={args.repeats}, torch={'absent' if torch is None else torch.__version__}")
    print("| case | layernet fwd | torch fwd | ratio | layernet fwd+bwd | torch fwd+bwd | ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, med in rows:
        cells = [name]
        for part in ("fwd", "fwd+bwd"):
            ours, ref = med[f"layernet {part}"], med.get(f"torch {part}")
            cells += [f"{ours:.1f} ms", "-" if ref is None else f"{ref:.1f} ms", "-" if ref is None else f"{ours / ref:.2f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
