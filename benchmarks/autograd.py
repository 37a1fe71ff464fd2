"""Autograd engine overhead: ``python -m benchmarks.autograd [--rounds N] [--smoke]``.

Two rows, each a ratio of medians over interleaved rounds:

- MLP step: one training step (forward, softmax cross-entropy, backward, SGD-momentum update)
  of a 784-256-128-10 ReLU MLP on a batch of 128 float32 images, written with Tensors
  (``ce(model(Tensor(x), training=True), y).backward()``) against the same step chained by
  hand (``model.backward(ce.backward(), input_grad=False)``). Same library, one worker process,
  the two steps alternating call by call (medians over every step).
- Scalar graph: a micrograd-style expression of 10,000 scalar nodes (``*``, ``+``, ``tanh``,
  ``** 2``), built and backpropagated, layernet Tensors against PyTorch autograd on 0-d float64
  tensors running the same code (``scalar_graph``). Each library runs in a worker process of
  its own: the PyTorch worker never imports layernet, the layernet worker never imports torch
  (this file is run by path for the workers, so the ``benchmarks`` package, which imports
  layernet, is not loaded). The parent alternates between them, one block per round, swapping
  which goes first, so a slow moment of the shared machine hits both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SCALAR_NODES = 10_000
NODES_PER_STEP = 6


def scalar_graph(leaves, nodes=SCALAR_NODES):
    """A chain of ``nodes`` scalar operations over the 0-d ``leaves``; works on layernet and torch."""
    acc = leaves[0]
    k = len(leaves)
    for i in range(nodes // NODES_PER_STEP):
        h = acc * leaves[i % k] + leaves[(3 * i + 1) % k]  # 2 nodes
        acc = h.tanh() + h**2 * 0.01  # 4 nodes
    return acc


# ---------------------------------------------------------------------------- workers
def _layernet_cases(smoke):
    import layernet  # noqa: F401  (first: it configures numpy's threads before numpy loads)
    import numpy as np
    from layernet import Sequential
    from layernet.autograd import Tensor
    from layernet.layers import Affine, ReLU
    from layernet.losses import SoftmaxCrossEntropy
    from layernet.optim import SGD

    rng = np.random.default_rng(0)
    batch, width = (16, 32) if smoke else (128, 256)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def mlp():
        layers = [Affine(784, width, rng=1), ReLU(), Affine(width, width // 2, rng=2), ReLU(), Affine(width // 2, 10, rng=3)]
        return Sequential(layers), SGD(lr=0.01, momentum=0.9), SoftmaxCrossEntropy()

    (hand, hand_opt, hand_ce), (engine, engine_opt, engine_ce) = mlp(), mlp()

    def step_hand():
        hand_ce.forward(hand.forward(x, training=True), y)
        hand.backward(hand_ce.backward(), input_grad=False)
        hand_opt.step(hand)

    def step_engine():
        engine_ce(engine(Tensor(x), training=True), y).backward()
        engine_opt.step(engine)

    leaves = [Tensor(v, requires_grad=True) for v in rng.uniform(-1, 1, 8)]
    nodes = 600 if smoke else SCALAR_NODES

    def scalar():
        scalar_graph(leaves, nodes).backward()

    return {"mlp-hand": step_hand, "mlp-tensor": step_engine, "scalar": scalar}


def _torch_cases(smoke):
    import torch

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    leaves = [(torch.rand((), dtype=torch.float64, generator=gen) * 2 - 1).requires_grad_() for _ in range(8)]
    nodes = 600 if smoke else SCALAR_NODES

    def scalar():
        scalar_graph(leaves, nodes).backward()

    return {"scalar": scalar}


def serve(lib, smoke, stdin=sys.stdin, stdout=sys.stdout):
    """Answer ``CASE COUNT`` lines with the seconds of each of COUNT calls of CASE, after one untimed
    call. ``pair COUNT`` alternates the two MLP steps call by call and answers both lists."""
    cases = _torch_cases(smoke) if lib == "torch" else _layernet_cases(smoke)
    for case in cases.values():
        case()  # warm-up: Numba caches, allocator
    print(json.dumps({"ready": True, "modules": sorted(m for m in ("torch", "layernet") if m in sys.modules)}), file=stdout, flush=True)
    for line in stdin:
        if not line.strip():
            break
        name, count = line.split()
        names = ["mlp-hand", "mlp-tensor"] if name == "pair" else [name]
        times = {n: [] for n in names}
        for n in names:
            cases[n]()
        for i in range(int(count)):
            for n in names if i % 2 == 0 else names[::-1]:
                start = time.perf_counter()
                cases[n]()
                times[n].append(time.perf_counter() - start)
        print(json.dumps(times), file=stdout, flush=True)


class Worker:
    """A worker process for one library, started by path (``python benchmarks/autograd.py``)."""

    def __init__(self, lib, smoke):
        args = [sys.executable, os.path.abspath(__file__), "--worker", lib] + (["--smoke"] if smoke else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.hello = json.loads(self.proc.stdout.readline())

    def time(self, case, count):
        self.proc.stdin.write(f"{case} {count}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def bench_autograd(rounds=15, smoke=False, torch=True) -> list[dict]:
    """The two rows (medians in ms and their ratio); the scalar row is left out without torch."""
    ours = Worker("layernet", smoke)
    theirs = Worker("torch", smoke) if torch else None
    steps = 2 if smoke else 10
    times = {"mlp-hand": [], "mlp-tensor": [], "scalar": [], "torch-scalar": []}
    try:
        for r in range(rounds):
            for key, value in ours.time("pair", steps).items():
                times[key] += value
            order = [("scalar", ours), ("torch-scalar", theirs)][:: 1 if r % 2 == 0 else -1]
            for key, worker in order:
                if worker is not None:
                    times[key] += worker.time("scalar", 1 if smoke else 3)["scalar"]
    finally:
        ours.close()
        if theirs:
            theirs.close()
    for worker, alone in ((ours, ["layernet"]), (theirs, ["torch"])):
        if worker is not None and worker.hello["modules"] != alone:
            raise RuntimeError(f"a worker meant to hold only {alone} had {worker.hello['modules']} loaded")
    ms = {key: 1000 * statistics.median(v) for key, v in times.items() if v}
    rows = [{"case": "MLP training step: loss.backward() vs Sequential.backward", "engine_ms": ms["mlp-tensor"],
             "reference_ms": ms["mlp-hand"], "ratio": ms["mlp-tensor"] / ms["mlp-hand"], "must": 1.15, "aim": 1.05}]
    if theirs:
        nodes = 600 if smoke else SCALAR_NODES
        rows.append({"case": f"{nodes:,} scalar nodes fwd+bwd vs PyTorch autograd (0-d)", "engine_ms": ms["scalar"],
                     "reference_ms": ms["torch-scalar"], "ratio": ms["scalar"] / ms["torch-scalar"], "must": 2.0, "aim": 1.0})
    return rows


def markdown(rows, rounds, load) -> str:
    lines = [f"### Autograd ({rounds} interleaved rounds, load average {load})", "",
             "| case | engine ms | reference ms | ratio | must / aim |", "|---|---:|---:|---:|---|"]
    lines += [f"| {r['case']} | {r['engine_ms']:.3f} | {r['reference_ms']:.3f} | {r['ratio']:.2f}x | "
              f"<= {r['must']}x / <= {r['aim']}x |" for r in rows]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.autograd", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per median (default 15)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to exercise the code paths")
    parser.add_argument("--no-torch", action="store_true", help="leave out the PyTorch row")
    parser.add_argument("--worker", choices=["layernet", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return serve(args.worker, args.smoke)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    rows = bench_autograd(args.rounds, args.smoke, torch=not args.no_torch)
    print(markdown(rows, args.rounds, load))
    return rows


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # run by path (a worker): benchmarks/*.py must not shadow top-level modules
    main()
