"""Run the benchmark suite: ``python -m benchmarks [--quick] [--out results.json]``.

Sections, in order:

- ``steps`` (the headline): training steps and 3x3 convolution layers, each library **alone in a
  fresh process**, one process at a time, rounds alternating (``benchmarks/alone.py``), as a user
  runs them; with the import-order rows (the LeNet-BN step with numpy, or torch, imported first).
- ``side``: the same training steps with both libraries' worker processes alive side by side,
  blocks alternating (``models.bench_steps``); a second opinion, labelled as such.
- ``layers``: layer micro-benchmarks in one process, interleaved with PyTorch and numpy.
- ``epochs``: full MNIST epochs with peak RSS (a subprocess per library).
- ``trainer``: one epoch of LeNet-BN through layernet's ``Trainer`` (the loop ``layernet train``
  runs) against its step time, in a subprocess.
- ``startup``: warm and cold Numba cache, subprocesses.
- ``breakdown``: per-layer profile of the LeNet-BN, ThreeLayerConvNet and CIFAR steps.

Prints markdown, writes JSON with ``--out``. A full run takes about 15 minutes on 2 cores;
``--quick`` (two rounds of the MLP and LeNet-BN steps, the import-order rows and one 3x3 layer;
partial epochs; start-up; no side-by-side, layer micro-benchmarks or breakdown) about 2; ``--smoke`` runs every code path on tiny sizes (the test suite uses it;
its numbers mean nothing). PyTorch is optional: without it (or with ``--no-torch``) the PyTorch
columns stay empty.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from . import harness, report
from .alone import CONV3X3, bench_alone, conv_case
from .breakdown import breakdown
from .layers import bench_layers
from .mnist import load_mnist
from .models import MNIST_MODELS, MODELS, bench_steps, epoch_in_subprocess, trainer_epoch_in_subprocess
from .startup import bench_startup

SECTIONS = ["steps", "side", "layers", "epochs", "trainer", "startup", "breakdown"]


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and rows, no side-by-side, layers or breakdown (about 2 min)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round: exercise the code paths only")
    parser.add_argument("--out", help="write the results as JSON to this file")
    parser.add_argument("--repeats", type=int, help="rounds per median (default: full 5 alone / 15 in-process, quick 2 / 7)")
    parser.add_argument("--threads", type=int, default=2, help="threads for Numba and PyTorch (default 2)")
    parser.add_argument("--no-torch", action="store_true", help="run as if PyTorch were not installed")
    parser.add_argument("--only", nargs="+", choices=SECTIONS + ["autograd"],
                        help="run only these sections (autograd runs only when named: benchmarks/autograd.py)")
    return parser.parse_args(argv)


def headline_variants(mode: str, with_torch: bool):
    """(model variants, layer variants) of the headline section: (lib, case, first) triples."""
    libs = ("layernet", "torch") if with_torch else ("layernet",)
    models = MODELS if mode == "full" else ("mlp", "lenet_bn")
    steps = [(lib, m, None) for m in models for lib in libs]
    firsts = ["numpy", "torch"] if with_torch else ["numpy"]
    steps += [("layernet", "lenet_bn", first) for first in firsts]
    convs = CONV3X3 if mode == "full" else [(32, 64, 16)]
    cases = [conv_case(*c) for c in convs]
    if mode == "full":  # LeNet-BN's two convolutions, ThreeLayerConvNet's first
        cases += [conv_case(32, 64, 14, k=5), "conv_first_5_28", "conv_first_7_28"]
    layers = [(lib, case, None) for case in cases for lib in libs]
    return steps, layers


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    repeats = args.repeats or {"smoke": 1, "quick": 7, "full": 15}[mode]
    rounds = args.repeats or {"smoke": 1, "quick": 2, "full": 5}[mode]
    sections = set(args.only or SECTIONS)
    if mode == "quick":
        sections -= {"breakdown", "side", "layers"}
    torch = None if args.no_torch else harness.set_threads(args.threads)
    if args.no_torch:
        harness.set_threads(args.threads)
    results = {"command": "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv),
               "mode": mode, "repeats": repeats, "rounds": rounds, "threads": args.threads,
               "torch": torch.__version__ if torch is not None else None}
    started = time.perf_counter()

    def say(text):
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    if torch is None:
        say("PyTorch is not installed (or --no-torch): layernet and numpy columns only")
    if "autograd" in sections:
        from .autograd import bench_autograd

        say("autograd engine (worker processes)")
        results["autograd"] = bench_autograd(repeats, smoke=mode == "smoke", torch=torch is not None)
        sections.discard("autograd")
        if not sections:  # --only autograd: its table alone
            print(_autograd_table(results["autograd"], repeats))
            return results
    x, y, results["data"] = load_mnist(2048 if mode == "smoke" else 8192)
    results["load_before"] = harness.load_average()
    if "steps" in sections:
        say("headline: each library alone in a fresh process, rounds alternating")
        steps, layers = headline_variants(mode, torch is not None)
        # (untimed, timed) steps per process
        block = {"smoke": (0, 1), "quick": (2, 5), "full": (3, 10)}[mode]
        results["alone"] = bench_alone(steps, rounds, args.threads, block, say)
        results["alone_layers"] = bench_alone(layers, rounds, args.threads, (3, 15) if mode != "smoke" else (0, 1), say)
    if "side" in sections:
        say("second opinion: training steps, both libraries' processes alive side by side")
        block = {"smoke": (1, 1), "quick": (2, 6), "full": (3, 10)}[mode]
        results["steps"] = bench_steps(torch, max(repeats, 2) if mode == "smoke" else max(repeats, 10),
                                       images=x.shape[0], threads=args.threads, block=block)
    if "layers" in sections:
        say("layer micro-benchmarks (one process, interleaved)")
        results["layers"] = bench_layers(torch, repeats, scale=1 / 32 if mode == "smoke" else 1.0)
    if "epochs" in sections:
        limit = {"smoke": 256, "quick": 30 * 128, "full": None}[mode]
        models = MNIST_MODELS if mode == "full" else ("lenet_bn",)
        results["epochs"] = []
        for name in models:
            for lib in ("layernet", "torch") if torch is not None else ("layernet",):
                say(f"epoch {name} {lib} ({'all' if limit is None else limit} images, subprocess)")
                results["epochs"].append(epoch_in_subprocess(name, lib, limit))
    if "trainer" in sections:
        limit = {"smoke": 256, "quick": 30 * 128, "full": None}[mode]
        say("epoch of LeNet-BN through layernet's Trainer against its step time (subprocess)")
        results["trainer_epoch"] = trainer_epoch_in_subprocess("lenet_bn", limit)
    if "startup" in sections:
        say("start-up (cold cache, then warm)")
        results["startup"] = bench_startup(warm_runs={"smoke": 1, "quick": 1, "full": 3}[mode],
                                           model="mlp" if mode == "smoke" else "lenet_bn")
    if "breakdown" in sections:
        results["breakdown"] = {}
        for name in ("lenet_bn", "three_layer_convnet", "cifar_vgg"):
            say(f"per-layer breakdown {name}")
            results["breakdown"][name] = breakdown(name, torch, repeats, batch=16 if mode == "smoke" else 128)
    results["machine"] = harness.machine()
    results["seconds"] = time.perf_counter() - started
    say("done")
    print(report.markdown(results))
    if "autograd" in results:
        print("\n" + _autograd_table(results["autograd"], repeats))
    print(f"\n(total {results['seconds']:.0f} s)")
    if args.out:
        report.write_json(results, args.out)
    return results


def _autograd_table(rows, repeats):
    from .autograd import markdown

    return markdown(rows, repeats, " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
