"""Which thread settings make the LeNet-BN step fastest: ``python -m benchmarks.threads``.

Each configuration runs in a fresh process (the variables are read when OpenBLAS and Numba's
pool load), times layernet's LeNet-BN training step interleaved with PyTorch's in that same
process, and reports both medians. Each row runs exactly the environment listed, with the
libraries' own defaults for everything else. This is how ``layernet/_threads.py`` was chosen.
"""

from __future__ import annotations

import argparse
import json

from .harness import run_python

#: name -> environment overrides (None removes a variable inherited from this process).
CONFIGS = {
    "defaults (omp layer, OpenBLAS default timeout)": {},
    "OPENBLAS_THREAD_TIMEOUT=4": {"OPENBLAS_THREAD_TIMEOUT": "4"},
    "NUMBA_THREADING_LAYER=workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
    "timeout 4 + workqueue (chosen)": {"OPENBLAS_THREAD_TIMEOUT": "4", "NUMBA_THREADING_LAYER": "workqueue"},
    "timeout 4 + single-threaded Numba": {"OPENBLAS_THREAD_TIMEOUT": "4", "NUMBA_NUM_THREADS": "1"},
    "OMP_WAIT_POLICY=PASSIVE (omp layer)": {"OMP_WAIT_POLICY": "PASSIVE"},
}
#: The libraries' own defaults, written out so that ``configure_threads`` (run when the child
#: imports ``benchmarks``) leaves them alone: OpenBLAS polls 2**28 cycles; Numba picks tbb, then
#: omp, then workqueue.
_LIBRARY_DEFAULTS = {"OPENBLAS_THREAD_TIMEOUT": "28", "NUMBA_THREADING_LAYER": "default",
                     "NUMBA_NUM_THREADS": None, "OMP_WAIT_POLICY": None}

_CHILD = """
import json
from benchmarks.harness import interleave, set_threads
from benchmarks.mnist import load_mnist
from benchmarks.models import batches, layernet_model, layernet_trainer, torch_model, torch_trainer
import numba
x, y, _ = load_mnist(2048)
torch = set_threads(2)
data = batches(x, y, 4)
model = layernet_model({model!r})
cases = {{"layernet": layernet_trainer(model)}}
if torch is not None:
    cases["torch"] = torch_trainer(torch, torch_model(torch, model))
it = iter(range(10**9))
calls = {{k: (lambda f=f: f(*data[next(it) % 4])) for k, f in cases.items()}}
med = interleave(calls, {repeats}, warmup=2)
med["layer"] = numba.threading_layer()
med["numba_threads"] = numba.get_num_threads()
print(json.dumps(med))
"""


def measure(env: dict, repeats: int, model: str = "lenet_bn") -> dict:
    overrides = dict(_LIBRARY_DEFAULTS)
    overrides.update(env)
    return run_python(_CHILD.format(repeats=repeats, model=model), env=overrides)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--model", default="lenet_bn")
    args = parser.parse_args(argv)
    rows = {}
    print(f"{args.model} training step, batch 128, float32; medians of {args.repeats} interleaved rounds")
    print("| environment | numba layer | layernet ms | torch ms | ratio |\n|---|---|---|---|---|")
    for name, env in CONFIGS.items():
        med = measure(env, args.repeats, args.model)
        rows[name] = med
        ln, th = 1e3 * med["layernet"], 1e3 * med.get("torch", float("nan"))
        print(f"| {name} | {med['layer']} x{med['numba_threads']} | {ln:.1f} | {th:.1f} | {ln / th:.2f} |", flush=True)
    return rows


if __name__ == "__main__":
    json.dumps(main())
