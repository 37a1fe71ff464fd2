"""Recurrent layers against PyTorch: forward + backward of LSTM/RNN/GRU, and an epoch of mnist_lstm.

    python -m benchmarks.recurrent                 # layer rows (5 rounds) and one epoch each (1 round)
    python -m benchmarks.recurrent --rounds 7 --epoch-rounds 2 --threads 2
    python -m benchmarks.recurrent --no-epoch      # the layer rows only
    python -m benchmarks.recurrent --smoke         # tiny sizes: checks the code paths, numbers mean nothing

Layer rows (issue 14): ``LSTM(28 -> 128)``, ``RNN(28 -> 128)``, ``GRU(28 -> 128)`` on a float32 batch
of 128 sequences of T = 28 steps, batch-first; one timed call is the forward over the whole sequence
(every step's output) and the backward of a random upstream gradient, including the gradient of
the input (as for a layer inside a network). PyTorch's ``nn.LSTM``/``nn.RNN``/``nn.GRU`` get the
same shapes; weights are drawn independently (the work does not depend on their values).

Epoch row: one epoch of ``configs/mnist_lstm.yaml``'s model and training settings (LSTM 128 on
28 rows of 28 pixels, last state -> Affine 10, softmax cross-entropy, Adam lr 2e-3, global
gradient-norm clipping at 1.0, batch 128) on 55000 examples, the size of its training split.
The examples are seeded uniform pixels with random labels, the same in both processes: the time
of an epoch does not depend on the pixel values, and this keeps the benchmark free of data files.
layernet runs ``Trainer.fit`` for one epoch; PyTorch a plain loop over the same batch size, its
copy of the model starting from layernet's initial weights (LSTM blocks i,f,o,g -> i,f,g,o).

Method: every measurement runs in a fresh process of one library (the other library is not even
imported there, so no thread pool of it is alive), with ``--threads`` threads for BLAS, Numba
and PyTorch (OpenBLAS/OMP/Numba environment variables, ``torch.set_num_threads``). A layer
process warms up with 3 untimed calls and reports the median of ``--reps`` timed calls. Rounds
alternate the order (layernet first, then PyTorch first, ...) so a slow moment of the shared
machine hits both columns; the reported ratio is the median over rounds of layernet's time over
PyTorch's in the same round. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("lstm", "rnn", "gru")
SHAPE = {"batch": 128, "steps": 28, "features": 28, "hidden": 128}
SMOKE = {"batch": 4, "steps": 5, "features": 3, "hidden": 6}
EPOCH = {"examples": 55000, "batch": 128, "lr": 2e-3, "clip": 1.0}


# ------------------------------------------------------------------------------ workers
def _layer_call(lib: str, kind: str, shape: dict, seed: int = 0):
    """A no-argument function running one forward + backward of ``kind`` in ``lib``."""
    rng = np.random.default_rng(seed)
    n, t, d, h = shape["batch"], shape["steps"], shape["features"], shape["hidden"]
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    dout = rng.standard_normal((n, t, h)).astype(np.float32)
    if lib == "layernet":
        from layernet.registry import LAYERS as REGISTRY

        layer = REGISTRY.get(kind)(d, h, rng=seed)

        def call():
            layer.forward(x, training=True)
            layer.backward(dout)

        return call
    import torch

    module = {"lstm": torch.nn.LSTM, "rnn": torch.nn.RNN, "gru": torch.nn.GRU}[kind](d, h, batch_first=True)
    tx, tdout = torch.tensor(x, requires_grad=True), torch.tensor(dout)

    def call():
        module.zero_grad(set_to_none=True)
        tx.grad = None
        out, _ = module(tx)
        out.backward(tdout)

    return call


def _epoch_data(examples: int, steps: int, features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((examples, steps, features), dtype=np.float32)
    y = rng.integers(0, 10, size=examples)
    return x, y


def _layernet_epoch_model(features: int, hidden: int):
    from layernet.layers import LSTM, Affine
    from layernet.model import Sequential

    return Sequential([LSTM(features, hidden, return_sequences=False, rng=1), Affine(hidden, 10, rng=2)])


def save_initial_weights(path, shape: dict) -> None:
    """The layernet epoch model's initial weights, for the PyTorch process (which never imports layernet)."""
    model = _layernet_epoch_model(shape["features"], shape["hidden"])
    np.savez(path, **{name.replace(".", "_"): value for name, value, _ in model.parameters()})


def _epoch(lib: str, shape: dict, examples: int, weights) -> float:
    """Seconds of one training epoch of the mnist_lstm model in ``lib``."""
    x, y = _epoch_data(examples, shape["steps"], shape["features"])
    if lib == "layernet":
        model = _layernet_epoch_model(shape["features"], shape["hidden"])
        from layernet.losses import SoftmaxCrossEntropy
        from layernet.optim import Adam
        from layernet.trainer import Trainer

        trainer = Trainer(model, SoftmaxCrossEntropy(), Adam(lr=EPOCH["lr"]), batch_size=EPOCH["batch"], epochs=1,
                          verbose="quiet", monitor="train_acc", clip_grad_norm=EPOCH["clip"])
        start = time.perf_counter()
        trainer.fit(x, y)
        return time.perf_counter() - start
    import torch

    h = shape["hidden"]
    lstm = torch.nn.LSTM(shape["features"], h, batch_first=True)
    head = torch.nn.Linear(h, 10)
    saved = np.load(weights)
    p = {k: torch.tensor(saved[f"0_{k}"]) for k in ("Wx", "Wh", "b")}
    order = [0, 1, 3, 2]  # torch's i, f, g, o from layernet's i, f, o, g

    def blocks(w):
        return torch.cat([w[..., k * h:(k + 1) * h] for k in order], dim=-1)

    with torch.no_grad():
        lstm.weight_ih_l0.copy_(blocks(p["Wx"]).T)
        lstm.weight_hh_l0.copy_(blocks(p["Wh"]).T)
        lstm.bias_ih_l0.copy_(blocks(p["b"]))
        lstm.bias_hh_l0.zero_()
        head.weight.copy_(torch.tensor(saved["1_W"]).T)
        head.bias.copy_(torch.tensor(saved["1_b"]))
    params = list(lstm.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=EPOCH["lr"])
    tx, ty = torch.tensor(x), torch.tensor(y)
    start = time.perf_counter()
    perm = torch.randperm(len(tx), generator=torch.Generator().manual_seed(0))
    for i in range(0, len(tx), EPOCH["batch"]):
        idx = perm[i:i + EPOCH["batch"]]
        out, _ = lstm(tx[idx])
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), ty[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, EPOCH["clip"])
        optimizer.step()
    return time.perf_counter() - start


def worker(lib: str, case: str, threads: int, reps: int, smoke: bool, examples: int, weights=None) -> dict:
    """Runs in the child process: time ``case`` in ``lib``; returns what the parent prints."""
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
    else:
        import numba

        import layernet  # noqa: F401  (its thread defaults, as a user gets them)

        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    shape = SMOKE if smoke else SHAPE
    if case == "epoch":
        return {"seconds": _epoch(lib, shape, examples, weights)}
    call = _layer_call(lib, case, shape)
    for _ in range(3):
        call()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times)), "times": times}


def _spawn(lib: str, case: str, threads: int, reps: int, smoke: bool, examples: int, weights=None) -> float:
    env = dict(os.environ)
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[key] = str(threads)
    if lib == "layernet":  # what ``import layernet`` sets before numpy loads (the worker loads numpy first)
        from layernet._threads import configure_threads

        configure_threads(env)
    argv = [sys.executable, "-m", "benchmarks.recurrent", "--worker", lib, case, "--threads", str(threads),
            "--reps", str(reps), "--examples", str(examples)] + (["--smoke"] if smoke else [])
    argv += ["--weights", str(weights)] if weights else []
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} {case} worker failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]


# ------------------------------------------------------------------------------ the suite
def measure(case: str, rounds: int, threads: int, reps: int, smoke: bool, examples: int, torch: bool) -> dict:
    """Alternating rounds of fresh processes; medians and the median per-round ratio."""
    libs = ("layernet", "torch") if torch else ("layernet",)
    seconds = {lib: [] for lib in libs}
    weights = None
    if case == "epoch":
        import tempfile

        weights = Path(tempfile.mkdtemp(prefix="layernet-bench-")) / "initial.npz"
        save_initial_weights(weights, SMOKE if smoke else SHAPE)
    for r in range(rounds):
        for lib in libs if r % 2 == 0 else libs[::-1]:
            seconds[lib].append(_spawn(lib, case, threads, reps, smoke, examples, weights))
    row = {"case": case, "rounds": rounds, **{f"{lib}_s": seconds[lib] for lib in libs}}
    row["layernet_median_s"] = float(np.median(seconds["layernet"]))
    if torch:
        row["torch_median_s"] = float(np.median(seconds["torch"]))
        row["ratios"] = [a / b for a, b in zip(seconds["layernet"], seconds["torch"])]
        row["ratio"] = float(np.median(row["ratios"]))
    return row


def _label(case: str, smoke: bool) -> str:
    s = SMOKE if smoke else SHAPE
    if case == "epoch":
        return "mnist_lstm epoch (LSTM 128, Adam, clip 1.0)"
    name = {"lstm": "LSTM", "rnn": "RNN", "gru": "GRU"}[case]
    return f"{name}({s['features']} -> {s['hidden']}), T={s['steps']}, N={s['batch']}, fwd+bwd"


def report(rows: list, smoke: bool) -> str:
    lines = ["| case | layernet | PyTorch | ratio (median of rounds) | per-round ratios |", "|---|---|---|---|---|"]
    for row in rows:
        unit, scale = ("s", 1.0) if row["case"] == "epoch" else ("ms", 1e3)
        torch_col = f"{row['torch_median_s'] * scale:.4g} {unit}" if "ratio" in row else "-"
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else "-"
        per_round = ", ".join(f"{r:.2f}" for r in row.get("ratios", []))
        lines.append(f"| {_label(row['case'], smoke)} | {row['layernet_median_s'] * scale:.4g} {unit} | {torch_col} "
                     f"| {ratio} | {per_round} |")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recurrent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("LIB", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the layer rows (default 5)")
    parser.add_argument("--reps", type=int, default=10, help="timed calls per layer process (default 10)")
    parser.add_argument("--epoch-rounds", type=int, default=1, help="rounds of the epoch row (default 1)")
    parser.add_argument("--examples", type=int, default=EPOCH["examples"], help="examples in the epoch (default 55000)")
    parser.add_argument("--no-epoch", action="store_true", help="skip the epoch row")
    parser.add_argument("--no-torch", action="store_true", help="layernet only")
    parser.add_argument("--only", nargs="+", choices=LAYERS + ("epoch",), help="run these rows only")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (checks the code paths)")
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker, args.threads, args.reps, args.smoke, args.examples, args.weights)))
        return {}
    import importlib.util

    torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    cases = list(args.only or (LAYERS + (() if args.no_epoch else ("epoch",))))
    load_before = [round(v, 1) for v in os.getloadavg()]
    print(f"recurrent benchmarks: float32, {args.threads} threads, one fresh process per library and measurement; "
          f"load average before {load_before}", flush=True)
    rows = []
    for case in cases:
        rounds = args.epoch_rounds if case == "epoch" else args.rounds
        rows.append(measure(case, rounds, args.threads, args.reps, args.smoke, args.examples, torch))
        print(report(rows[-1:], args.smoke).splitlines()[-1], flush=True)
    load_after = [round(v, 1) for v in os.getloadavg()]
    results = {"threads": args.threads, "load_before": load_before, "load_after": load_after, "rows": rows,
               "smoke": args.smoke}
    print()
    print(report(rows, args.smoke))
    print(f"load average after {load_after}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
