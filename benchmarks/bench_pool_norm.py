"""Max pool 2x2 and batch norm on 128x32x28x28 float32: layernet next to PyTorch.

Run: ``python -m benchmarks.bench_pool_norm [--repeats 30]``. Each round times every case once
per library, interleaved (layernet, torch, layernet, torch ...), after one warm-up call each
(so Numba compilation is not timed); the table gives the median over rounds in ms and the
ratio layernet / PyTorch (below 1 means layernet is faster). PyTorch runs with 2 threads.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np

from layernet.layers import BatchNorm, MaxPool2d

SHAPE = (128, 32, 28, 28)


def layernet_cases(x, dout_pool, dout_bn):
    pool, bn = MaxPool2d(2), BatchNorm(SHAPE[1])

    def pool_fwd():
        pool.forward(x, training=True)
        pool._cache = None

    def pool_fwd_bwd():
        pool.forward(x, training=True)
        pool.backward(dout_pool)

    def bn_fwd():
        bn.forward(x, training=True)
        bn._cache = None

    def bn_fwd_bwd():
        bn.forward(x, training=True)
        bn.backward(dout_bn)

    return {"maxpool 2x2 fwd": pool_fwd, "maxpool 2x2 fwd+bwd": pool_fwd_bwd,
            "batchnorm fwd": bn_fwd, "batchnorm fwd+bwd": bn_fwd_bwd}


def torch_cases(torch, x, dout_pool, dout_bn):
    F = torch.nn.functional
    xt = torch.from_numpy(x)
    xg = xt.clone().requires_grad_(True)
    gp, gb = torch.from_numpy(dout_pool), torch.from_numpy(dout_bn)
    gamma = torch.ones(SHAPE[1], requires_grad=True)
    beta = torch.zeros(SHAPE[1], requires_grad=True)
    rm, rv = torch.zeros(SHAPE[1]), torch.ones(SHAPE[1])

    def pool_fwd():
        with torch.no_grad():
            F.max_pool2d(xt, 2)

    def pool_fwd_bwd():
        F.max_pool2d(xg, 2).backward(gp)
        xg.grad = None

    def bn_fwd():
        with torch.no_grad():
            F.batch_norm(xt, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5)

    def bn_fwd_bwd():
        F.batch_norm(xg, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5).backward(gb)
        xg.grad = gamma.grad = beta.grad = None

    return {"maxpool 2x2 fwd": pool_fwd, "maxpool 2x2 fwd+bwd": pool_fwd_bwd,
            "batchnorm fwd": bn_fwd, "batchnorm fwd+bwd": bn_fwd_bwd}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    dout_pool = rng.standard_normal((*SHAPE[:2], SHAPE[2] // 2, SHAPE[3] // 2), dtype=np.float32)
    dout_bn = rng.standard_normal(SHAPE, dtype=np.float32)
    ours = layernet_cases(x, dout_pool, dout_bn)
    try:
        import torch

        torch.set_num_threads(2)
        theirs = torch_cases(torch, x, dout_pool, dout_bn)
        version = torch.__version__
    except ImportError:
        theirs, version = {}, None
    times = {name: ([], []) for name in ours}
    for name in ours:  # warm up: compile / load the Numba cache, allocate
        ours[name]()
        if name in theirs:
            theirs[name]()
    for _ in range(args.repeats):
        for name in ours:
            times[name][0].append(timed(ours[name]))
            if name in theirs:
                times[name][1].append(timed(theirs[name]))
    print(f"float32 {SHAPE}, numba threads {numba.get_num_threads()} ({numba.threading_layer()}), "
          f"torch {version or 'not installed'} with 2 threads, median of {args.repeats} interleaved rounds; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other processes inflate both columns)")
    print("| case | layernet ms | torch ms | ratio |\n|---|---|---|---|")
    for name, (a, b) in times.items():
        ms = float(np.median(a))
        if b:
            tms = float(np.median(b))
            print(f"| {name} | {ms:.2f} | {tms:.2f} | {ms / tms:.2f} |")
        else:
            print(f"| {name} | {ms:.2f} | - | - |")


if __name__ == "__main__":
    main()
