"""Issue 15's speed rows: LayerNorm, GroupNorm, a ResNet basic block's training step, augmentation.

    python -m benchmarks.modern [--rounds 5] [--reps 10] [--smoke]

Each library is timed in a fresh process of its own (``python -m benchmarks.modern --worker LIB``)
that times every case and exits, so nothing of the other library (PyTorch's spinning OpenMP
threads, its allocator) is alive while one is timed; rounds alternate the libraries (layernet,
torch, torch, layernet, ...) so a slow moment of the shared machine hits both. A case's figure is
the median over rounds of each process's median over ``reps`` timed calls (after warm-up calls:
Numba's cache load, allocator warm-up). Printed: milliseconds, the ratio layernet / PyTorch
(< 1: layernet is faster) and the load average before and after.

Cases (float32, batch 128):

- ``layernorm``: LayerNorm((64, 16, 16)) forward + backward on (128, 64, 16, 16);
- ``groupnorm``: GroupNorm(8, 64) forward + backward on (128, 64, 16, 16);
- ``block``: a ResNet basic block, conv3x3-BN-ReLU-conv3x3-BN + identity, ReLU (64 channels, 16x16):
  forward, backward with a fixed upstream gradient, an SGD-momentum step;
- ``augment``: random crop (padding 4) + flip + cutout 8 of a CIFAR batch (128, 3, 32, 32);
  layernet only, reported as a fraction of the block's step (the issue asks for under 5%).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import layernet  # noqa: F401  (thread configuration before numpy loads, as in benchmarks/__init__)
import numpy as np

SHAPE = (128, 64, 16, 16)
CIFAR = (128, 3, 32, 32)
CASES = ("layernorm", "groupnorm", "block", "augment")


def _layernet_cases(shape, cifar):
    from layernet.data.augment import Augment
    from layernet.layers import BatchNorm, Conv2d, GroupNorm, LayerNorm, ReLU, Residual
    from layernet.model import Sequential
    from layernet.optim import SGD

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    dout = rng.standard_normal(shape).astype(np.float32)
    ln, gn = LayerNorm(shape[1:]), GroupNorm(8, shape[1])
    c = shape[1]
    model = Sequential([Residual(Conv2d(c, c, 3, padding=1, bias=False, rng=0), BatchNorm(c), ReLU(),
                                 Conv2d(c, c, 3, padding=1, bias=False, rng=1), BatchNorm(c)), ReLU()])
    opt = SGD(lr=0.01, momentum=0.9)
    images = rng.standard_normal(cifar).astype(np.float32)
    augment = Augment(random_crop={"padding": 4}, horizontal_flip=True, cutout={"size": min(8, cifar[2])})
    step = [0]

    def norm(layer):
        def run():
            layer.forward(x, training=True)
            layer.backward(dout)
        return run

    def block():
        model.forward(x, training=True)
        model.backward(dout)
        opt.step(model)

    def augment_batch():
        step[0] += 1
        augment(images, step[0])

    return {"layernorm": norm(ln), "groupnorm": norm(gn), "block": block, "augment": augment_batch}


def _torch_cases(shape, cifar):
    import torch

    torch.manual_seed(0)
    x = torch.randn(shape, requires_grad=True)
    dout = torch.randn(shape)
    ln, gn = torch.nn.LayerNorm(shape[1:]), torch.nn.GroupNorm(8, shape[1])
    c = shape[1]
    f = torch.nn.Sequential(torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c), torch.nn.ReLU(),
                            torch.nn.Conv2d(c, c, 3, padding=1, bias=False), torch.nn.BatchNorm2d(c))
    f.train()
    opt = torch.optim.SGD(f.parameters(), lr=0.01, momentum=0.9)
    xb = torch.randn(shape)

    def norm(layer):
        def run():
            layer(x).backward(dout)
            x.grad = None
        return run

    def block():
        out = torch.relu(f(xb) + xb)
        out.backward(dout)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return {"layernorm": norm(ln), "groupnorm": norm(gn), "block": block}


def worker(lib: str, reps: int, smoke: bool) -> dict:
    """Median seconds per case of ``lib`` in this process (after 3 warm-up calls each)."""
    threads = int(os.environ.get("LAYERNET_BENCH_THREADS", "2"))
    shape, cifar = ((8, 16, 8, 8), (8, 3, 16, 16)) if smoke else (SHAPE, CIFAR)
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
        cases = _torch_cases(shape, cifar)
    else:
        import numba

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        cases = _layernet_cases(shape, cifar)
    result = {}
    for name, fn in cases.items():
        for _ in range(3):
            fn()
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        result[name] = float(np.median(times))
    return result


def _spawn(lib: str, reps: int, smoke: bool) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.modern", "--worker", lib, "--reps", str(reps)] + (["--smoke"] if smoke else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)) or ".")
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} worker failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.modern", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per library (default 5)")
    parser.add_argument("--reps", type=int, default=10, help="timed calls per case in each process (default 10)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check that the code runs")
    parser.add_argument("--no-torch", action="store_true", help="layernet only")
    parser.add_argument("--worker", choices=["layernet", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.reps, args.smoke)))
        return {}
    libs = ["layernet"]
    if not args.no_torch:
        try:
            import importlib.util

            if importlib.util.find_spec("torch") is not None:
                libs.append("torch")
        except ImportError:
            pass
    load_before = os.getloadavg()
    runs = {lib: [] for lib in libs}
    for r in range(args.rounds):
        for lib in (libs if r % 2 == 0 else libs[::-1]):
            runs[lib].append(_spawn(lib, args.reps, args.smoke))
    load_after = os.getloadavg()
    med = {lib: {case: float(np.median([run[case] for run in runs[lib]])) for case in runs[lib][0]} for lib in libs}
    rows = []
    print(f"issue 15 rows: {args.rounds} rounds x {args.reps} reps, one fresh process per library and round")
    print(f"{'case':<12}{'layernet ms':>13}{'torch ms':>11}{'ratio':>8}")
    for case in CASES:
        ours = med["layernet"][case]
        theirs = med.get("torch", {}).get(case)
        row = {"case": case, "layernet_ms": ours * 1e3}
        if theirs:
            row.update(torch_ms=theirs * 1e3, ratio=ours / theirs)
        rows.append(row)
        print(f"{case:<12}{ours * 1e3:>13.2f}{(theirs or float('nan')) * 1e3:>11.2f}{row.get('ratio', float('nan')):>8.2f}")
    share = med["layernet"]["augment"] / med["layernet"]["block"]
    print(f"augment / block step (layernet): {share:.2%}")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} ({os.cpu_count()} cores)")
    return {"rows": rows, "augment_share": share, "load_before": load_before, "load_after": load_after}


if __name__ == "__main__":
    main()
