"""End-to-end training: the three reference models in layernet and in PyTorch, step and epoch.

A training step is forward, softmax cross-entropy, backward and an SGD-momentum update
(lr 0.01, momentum 0.9) on a batch of 128 MNIST images, float32. The PyTorch model is built
with ``torch.nn`` and *copies layernet's initial weights* (He-normal, zero biases; Affine's
(in, out) weight is Linear's (out, in) transposed), so both start from the same point. Batch
norm keeps 0.9 of its running statistics in both (layernet ``momentum=0.9`` = torch ``0.1``).
Neither side computes the gradient of the input images (layernet: ``needs_input_grad=False``
on the first layer when it is a convolution; torch: the input does not require grad).

Epochs run in a fresh subprocess per library (``epoch_in_subprocess``), which also reports the
process's peak RSS; the layernet child never imports torch.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time

import numpy as np

MODELS = ("mlp", "three_layer_convnet", "lenet_bn", "cifar_vgg")
#: The models trained on MNIST (epochs, breakdown); cifar_vgg takes (N, 3, 32, 32) inputs.
MNIST_MODELS = ("mlp", "three_layer_convnet", "lenet_bn")
BATCH, LR, MOMENTUM = 128, 0.01, 0.9


def layernet_model(name: str, seed: int = 0):
    """The reference model ``name`` as a layernet Sequential (float32)."""
    from layernet.layers import Affine, BatchNorm, Conv2d, MaxPool2d, ReLU
    from layernet.model import Sequential

    rng = np.random.default_rng(seed)
    if name == "mlp":
        layers = [Affine(784, 512, rng=rng), ReLU(), Affine(512, 256, rng=rng), ReLU(), Affine(256, 10, rng=rng)]
    elif name == "three_layer_convnet":
        layers = [Conv2d(1, 32, 7, padding=3, rng=rng), ReLU(), MaxPool2d(2),
                  Affine(32 * 14 * 14, 100, rng=rng), ReLU(), Affine(100, 10, rng=rng)]
    elif name == "lenet_bn":
        layers = [Conv2d(1, 32, 5, padding=2, rng=rng), BatchNorm(32), ReLU(), MaxPool2d(2),
                  Conv2d(32, 64, 5, padding=2, rng=rng), BatchNorm(64), ReLU(), MaxPool2d(2),
                  Affine(64 * 7 * 7, 1024, rng=rng), ReLU(), Affine(1024, 10, rng=rng)]
    elif name == "cifar_vgg":  # issue 16's VGG-style CIFAR net: 3x3 convolutions, padding 1
        def block(c_in, c_out):
            return [Conv2d(c_in, c_out, 3, padding=1, rng=rng), BatchNorm(c_out), ReLU()]
        layers = [*block(3, 32), *block(32, 32), MaxPool2d(2), *block(32, 64), *block(64, 64), MaxPool2d(2),
                  Affine(64 * 8 * 8, 256, rng=rng), ReLU(), Affine(256, 10, rng=rng)]
    else:
        raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")
    if hasattr(layers[0], "needs_input_grad"):
        layers[0].needs_input_grad = False
    return Sequential(layers)


def torch_model(torch, model):
    """The same architecture in ``torch.nn``, with a copy of the layernet ``model``'s parameters."""
    nn = torch.nn
    modules = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Affine":
            if not any(isinstance(m, nn.Flatten) for m in modules):
                modules.append(nn.Flatten())
            lin = nn.Linear(layer.in_features, layer.out_features)
            lin.weight.data = torch.tensor(layer.params["W"].T.copy())
            lin.bias.data = torch.tensor(layer.params["b"].copy())
            modules.append(lin)
        elif kind == "Conv2d":
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer._k, stride=layer._s, padding=layer._p)
            conv.weight.data = torch.tensor(layer.params["W"].copy())
            conv.bias.data = torch.tensor(layer.params["b"].copy())
            modules.append(conv)
        elif kind == "BatchNorm":
            modules.append(nn.BatchNorm2d(layer.num_features, momentum=1 - layer.momentum, eps=layer.eps))
        elif kind == "ReLU":
            modules.append(nn.ReLU())
        elif kind == "MaxPool2d":
            modules.append(nn.MaxPool2d((layer._kh, layer._kw), stride=(layer._sh, layer._sw)))
        else:
            raise ValueError(f"no torch counterpart for {kind}")
    return nn.Sequential(*modules)


def layernet_trainer(model):
    """A function ``step(x, y) -> loss`` doing one layernet training step on ``model``."""
    from layernet.losses import SoftmaxCrossEntropy
    from layernet.optim import SGD

    loss_fn, opt = SoftmaxCrossEntropy(), SGD(LR, momentum=MOMENTUM)

    def step(x, y):
        loss = loss_fn.forward(model.forward(x, training=True), y)
        model.backward(loss_fn.backward())
        opt.step(model)
        return loss

    return step


def torch_trainer(torch, net):
    """A function ``step(x, y) -> loss`` doing one PyTorch training step on ``net`` (numpy in)."""
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    net.train()
    cross_entropy = torch.nn.functional.cross_entropy

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        opt.step()
        return loss.item()

    return step


def training_step(lib: str, name: str, threads: int):
    """``step(x, y) -> loss`` for reference model ``name`` in ``lib`` (layernet or torch) on ``threads``.

    The torch model copies layernet's initial weights. Only the torch side imports torch: the
    layernet side sets Numba's thread count alone.
    """
    model = layernet_model(name)
    if lib == "torch":
        from .harness import set_threads

        torch = set_threads(threads)
        return torch_trainer(torch, torch_model(torch, model))
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return layernet_trainer(model)


def input_shape(name: str) -> tuple:
    """One example's shape for reference model ``name``."""
    return (3, 32, 32) if name == "cifar_vgg" else (1, 28, 28)


def model_data(name: str, images: int):
    """(x, y, source) for model ``name``: MNIST for the MNIST models, random CIFAR-shaped data else."""
    if name in MNIST_MODELS:
        from .mnist import load_mnist

        return load_mnist(images)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, *input_shape(name)), dtype=np.float32)
    return x, rng.integers(0, 10, images), "random CIFAR-shaped data (N, 3, 32, 32)"


def batches(x, y, n_batches: int, seed: int = 0):
    """``n_batches`` random batches of 128 (contiguous copies), the same for every library."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        idx = rng.choice(x.shape[0], BATCH, replace=False)
        out.append((np.ascontiguousarray(x[idx]), y[idx]))
    return out


class StepProcess:
    """A ``step_worker`` child for one library and model; ``times(settle, timed)`` asks it for a block."""

    def __init__(self, lib: str, name: str, images: int, threads: int):
        from .harness import ROOT

        self.lib = lib
        self.stderr = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty child never blocks
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.step_worker", lib, name, str(images), str(threads)],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True)
        self._read()  # {"ready": true} once the model is built and warmed up

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.stderr.seek(0)
            raise RuntimeError(f"step worker ({self.lib}) failed (exit {self.proc.wait()}):\n{self.stderr.read()[-3000:]}")
        return json.loads(line)

    def times(self, settle: int, timed: int) -> list:
        """Seconds of each of ``timed`` consecutive steps, run after ``settle`` untimed ones."""
        self.proc.stdin.write(f"{settle} {timed}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.stderr.close()


def bench_steps(torch, repeats: int, models=MNIST_MODELS, images: int = 8192, threads: int = 2,
                block: tuple = (3, 10)) -> list[dict]:
    """Median step time of each model for layernet and torch; images/s and the ratio.

    Each library trains in its own process (``step_worker``: the reason is there), both started
    side by side; ``repeats`` rounds alternate between them, each round giving each library a
    block of consecutive steps, ``block = (settle, timed)``: ``settle`` untimed steps (the cores,
    caches and thread pools come back to it from the other process) and then ``timed`` timed
    ones, as in an epoch. The median is over all timed steps. Each process loads the first
    ``images`` MNIST training images itself.

    Why blocks of 3 + 10: with 1 + 3 the MLP ratio of one quiet run ranged 0.82-1.01 over
    repeated measurements; with 5 + 20, 0.80-0.84 (``python -m benchmarks --only steps``).
    """
    rows = []
    for name in models:
        libs = ("layernet", "torch") if torch is not None else ("layernet",)
        workers = [StepProcess(lib, name, images, threads) for lib in libs]
        try:
            times = {w.lib: [] for w in workers}
            for _ in range(repeats):
                for worker in workers:
                    times[worker.lib] += worker.times(*block)
        finally:
            for worker in workers:
                worker.close()
        med = {lib: float(np.median(values)) for lib, values in times.items()}
        row = {"model": name, "layernet_ms": 1e3 * med["layernet"], "layernet_img_s": BATCH / med["layernet"],
               "method": f"one process per library, {repeats} interleaved blocks of {block[0]} untimed + "
                         f"{block[1]} timed steps"}
        if "torch" in med:
            row.update(torch_ms=1e3 * med["torch"], torch_img_s=BATCH / med["torch"],
                       ratio=med["layernet"] / med["torch"])
        rows.append(row)
    return rows


def run_epoch(name: str, lib: str, limit: int | None) -> dict:
    """One shuffled pass over MNIST (``limit`` images, all 60,000 if None) in this process."""
    from .harness import peak_rss_mb
    from .mnist import load_mnist

    x, y, source = load_mnist(limit)
    step = training_step(lib, name, threads=2)
    step(x[:BATCH], y[:BATCH])  # compile / warm up outside the timed epoch
    rss_before = peak_rss_mb()
    order = np.random.default_rng(1).permutation(x.shape[0])
    start = time.perf_counter()
    for i in range(0, x.shape[0], BATCH):
        idx = order[i:i + BATCH]
        loss = step(x[idx], y[idx])
    seconds = time.perf_counter() - start
    return {"model": name, "lib": lib, "images": int(x.shape[0]), "seconds": seconds,
            "img_s": x.shape[0] / seconds, "final_loss": float(loss), "peak_rss_mb": peak_rss_mb(),
            "rss_before_epoch_mb": rss_before, "data": source}


def epoch_in_subprocess(name: str, lib: str, limit: int | None) -> dict:
    """``run_epoch`` in a fresh interpreter (so its peak RSS is the epoch's own)."""
    from .harness import run_python

    code = ("import json; from benchmarks.models import run_epoch\n"
            f"print(json.dumps(run_epoch({name!r}, {lib!r}, {limit!r})))")
    return run_python(code)


def trainer_epoch(name: str, limit: int | None, timed_steps: int = 20) -> dict:
    """One epoch of ``layernet.Trainer.fit`` (the loop ``layernet train`` runs) on MNIST, in this
    process, against ``timed_steps`` isolated training steps of the same model right after it.

    ``ratio`` = epoch seconds / (median step seconds x number of steps): the loop's own cost
    (shuffling, batch copies, loss bookkeeping, progress) plus any slowdown of steps run back to
    back. The progress display is off; no validation set.
    """
    from layernet.losses import SoftmaxCrossEntropy
    from layernet.optim import SGD
    from layernet.trainer import Trainer

    from .mnist import load_mnist

    x, y, source = load_mnist(limit)
    model = layernet_model(name)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(LR, momentum=MOMENTUM), batch_size=BATCH, epochs=1,
                      verbose=False)
    warm = layernet_trainer(layernet_model(name))
    warm(x[:BATCH], y[:BATCH])  # compile / load the cache outside the timed epoch
    start = time.perf_counter()
    trainer.fit(x, y)
    epoch_s = time.perf_counter() - start
    step = layernet_trainer(model)
    data = batches(x, y, 8)
    for xb, yb in data[:2]:
        step(xb, yb)
    seconds = []
    for i in range(timed_steps):
        xb, yb = data[i % len(data)]
        t0 = time.perf_counter()
        step(xb, yb)
        seconds.append(time.perf_counter() - t0)
    steps = -(-x.shape[0] // BATCH)
    step_s = float(np.median(seconds))
    return {"model": name, "images": int(x.shape[0]), "steps": steps, "epoch_s": epoch_s, "step_ms": 1e3 * step_s,
            "ratio": epoch_s / (step_s * steps), "data": source}


def trainer_epoch_in_subprocess(name: str, limit: int | None) -> dict:
    """``trainer_epoch`` in a fresh interpreter."""
    from .harness import run_python

    code = ("import json; from benchmarks.models import trainer_epoch\n"
            f"print(json.dumps(trainer_epoch({name!r}, {limit!r})))")
    return run_python(code)
