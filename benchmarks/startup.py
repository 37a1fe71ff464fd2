"""Start-up: a fresh process's time from ``import layernet`` to the end of its first training step.

The step is LeNet-BN's (every kernel family: one-channel and im2col convolution, batch norm, ReLU,
max pool, affine, softmax cross-entropy) on one batch of 128 random images. Numba's cache goes
to a new temporary ``NUMBA_CACHE_DIR``: the first process finds it empty and compiles every
kernel it uses (cold); the following processes load the machine code it wrote (warm).
Interpreter start-up itself is not counted, only what ``import layernet`` and the step cost.
"""

from __future__ import annotations

import tempfile

from .harness import run_python

_CHILD = """
import time
start = time.perf_counter()
import layernet
import numpy as np
from layernet.layers import Conv2d
from benchmarks.models import layernet_model, layernet_trainer
imported = time.perf_counter()
rng = np.random.default_rng(0)
x = rng.standard_normal((128, 1, 28, 28), dtype=np.float32)
y = rng.integers(0, 10, 128)
layernet_trainer(layernet_model({model!r}))(x, y)
end = time.perf_counter()
import json
print(json.dumps({{"import_s": imported - start, "first_step_s": end - start}}))
"""


def bench_startup(warm_runs: int = 2, model: str = "lenet_bn") -> dict:
    """Seconds to the end of the first step: cold (empty cache) once, warm (median of ``warm_runs``)."""
    code = _CHILD.format(model=model)
    with tempfile.TemporaryDirectory(prefix="layernet-numba-cache-") as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = run_python(code, env=env)
        warm = sorted((run_python(code, env=env) for _ in range(warm_runs)), key=lambda r: r["first_step_s"])
    return {"model": model, "cold_s": cold["first_step_s"], "warm_s": warm[len(warm) // 2]["first_step_s"],
            "warm_import_s": warm[len(warm) // 2]["import_s"], "warm_runs": warm_runs}
