"""Run the benchmark suite: ``python -m benchmarks [--quick] [--out results.json]``.

Sections, in order: layer micro-benchmarks, training steps, full MNIST epochs with peak RSS
(each library in its own subprocess), start-up (warm and cold Numba cache, subprocesses), and
the per-layer breakdown of the LeNet-BN and ThreeLayerConvNet steps. Prints markdown, writes
JSON with ``--out``. Full run under 10 minutes on 2 cores; ``--quick`` (fewer rounds, no full
epochs: peak RSS from a 30-batch partial epoch, no breakdown) under 2; ``--smoke`` runs every
code path (breakdown included) on tiny sizes in seconds (the test suite uses it; its numbers mean nothing).
PyTorch is optional: without it (or with ``--no-torch``) the PyTorch columns stay empty.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from . import harness, report
from .breakdown import breakdown
from .layers import bench_layers
from .mnist import load_mnist
from .models import MODELS, bench_steps, epoch_in_subprocess
from .startup import bench_startup


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, no full epochs, no breakdown (< 2 min)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round: exercise the code paths only")
    parser.add_argument("--out", help="write the results as JSON to this file")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per median (default 15, quick 7)")
    parser.add_argument("--threads", type=int, default=2, help="threads for Numba and PyTorch (default 2)")
    parser.add_argument("--no-torch", action="store_true", help="run as if PyTorch were not installed")
    parser.add_argument("--only", nargs="+", choices=["layers", "steps", "epochs", "startup", "breakdown", "autograd"],
                        help="run only these sections (autograd runs only when named: benchmarks/autograd.py)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    repeats = args.repeats or {"smoke": 1, "quick": 7, "full": 15}[mode]
    sections = set(args.only or ["layers", "steps", "epochs", "startup", "breakdown"])
    if mode == "quick":
        sections.discard("breakdown")
    torch = None if args.no_torch else harness.set_threads(args.threads)
    if args.no_torch:
        harness.set_threads(args.threads)
    results = {"command": "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv),
               "mode": mode, "repeats": repeats, "threads": args.threads,
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
    if "layers" in sections:
        say("layer micro-benchmarks")
        results["layers"] = bench_layers(torch, repeats, scale=1 / 32 if mode == "smoke" else 1.0)
    if "steps" in sections:
        say("training steps")
        # (rounds, (untimed, timed) steps per block): quick keeps the whole suite under 2 minutes
        rounds, block = {"smoke": (max(repeats, 2), (1, 1)), "quick": (max(repeats, 7), (2, 6)),
                         "full": (max(repeats, 10), (3, 10))}[mode]
        results["steps"] = bench_steps(torch, rounds, images=x.shape[0], threads=args.threads, block=block)
    if "epochs" in sections:
        limit = {"smoke": 256, "quick": 30 * 128, "full": None}[mode]
        models = MODELS if mode == "full" else ("lenet_bn",)
        results["epochs"] = []
        for name in models:
            for lib in ("layernet", "torch") if torch is not None else ("layernet",):
                say(f"epoch {name} {lib} ({'all' if limit is None else limit} images, subprocess)")
                results["epochs"].append(epoch_in_subprocess(name, lib, limit))
    if "startup" in sections:
        say("start-up (cold cache, then warm)")
        results["startup"] = bench_startup(warm_runs={"smoke": 1, "quick": 1, "full": 3}[mode],
                                           model="mlp" if mode == "smoke" else "lenet_bn")
    if "breakdown" in sections:
        results["breakdown"] = {}
        for name in ("lenet_bn", "three_layer_convnet"):
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
