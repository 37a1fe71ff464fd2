"""Layer micro-benchmarks: forward and forward+backward, layernet next to PyTorch and numpy.

float32, batch 128, MNIST-sized maps. For each case and each part (fwd, fwd+bwd) the three
implementations are timed in interleaved rounds (layernet, torch, numpy, layernet, ...) and the
median is kept. GFLOP/s counts the multiply-adds of the matrix work only (conv, affine):
forward 2*N*F*C*KH*KW*OH*OW; forward+backward three times that (out, dW, dx).
Every implementation computes the input gradient, so the parts compare like with like.
"""

from __future__ import annotations

import numpy as np

from . import numpy_ref as ref
from .harness import interleave

N = 128

#: name, kind, input shape, options
CASES = [
    ("conv 1->32 7x7 pad 3", "conv", (N, 1, 28, 28), dict(f=32, k=7, pad=3)),
    ("conv 1->32 5x5 pad 2", "conv", (N, 1, 28, 28), dict(f=32, k=5, pad=2)),
    ("conv 32->64 5x5 pad 2", "conv", (N, 32, 14, 14), dict(f=64, k=5, pad=2)),
    ("conv 32->64 3x3 pad 1", "conv", (N, 32, 16, 16), dict(f=64, k=3, pad=1)),
    ("max pool 2x2", "pool", (N, 32, 28, 28), {}),
    ("batch norm", "bn", (N, 32, 28, 28), {}),
    ("affine 784->512", "affine", (N, 784), dict(f=512)),
    ("softmax-CE 10 classes", "softmax", (N, 10), {}),
]


def _flops(kind, shape, opt) -> float:
    if kind == "conv":
        n, c, h, w = shape
        return 2.0 * n * opt["f"] * c * opt["k"] ** 2 * h * w  # 'same' padding: OH = H
    if kind == "affine":
        return 2.0 * shape[0] * shape[1] * opt["f"]
    return 0.0


def _layernet(kind, x, opt, dout, y):
    from layernet.layers import Affine, BatchNorm, Conv2d, MaxPool2d
    from layernet.losses import SoftmaxCrossEntropy

    if kind == "softmax":
        loss = SoftmaxCrossEntropy()
        return (lambda: loss.forward(x, y)), (lambda: (loss.forward(x, y), loss.backward()))
    layer = {"conv": lambda: Conv2d(x.shape[1], opt.get("f"), opt.get("k"), padding=opt.get("pad"), rng=0),
             "pool": lambda: MaxPool2d(2), "bn": lambda: BatchNorm(x.shape[1]),
             "affine": lambda: Affine(x.shape[1], opt.get("f"), rng=0)}[kind]()

    def fwd():
        layer.forward(x, training=True)
        layer._cache = None  # drop what backward would need; a forward-only pass

    def fwd_bwd():
        layer.forward(x, training=True)
        layer.backward(dout)

    return fwd, fwd_bwd


def _torch(torch, kind, x, opt, dout, y):
    F = torch.nn.functional
    xt = torch.from_numpy(x)
    xg = xt.clone().requires_grad_(True)
    g = torch.from_numpy(dout) if dout is not None else None
    c = x.shape[1]
    if kind == "conv":
        w = torch.randn(opt["f"], c, opt["k"], opt["k"], requires_grad=True)
        b = torch.zeros(opt["f"], requires_grad=True)
        op, params = (lambda t: F.conv2d(t, w, b, padding=opt["pad"])), [w, b]
    elif kind == "pool":
        op, params = (lambda t: F.max_pool2d(t, 2)), []
    elif kind == "bn":
        gamma, beta = torch.ones(c, requires_grad=True), torch.zeros(c, requires_grad=True)
        rm, rv = torch.zeros(c), torch.ones(c)
        op, params = (lambda t: F.batch_norm(t, rm, rv, gamma, beta, training=True, momentum=0.1)), [gamma, beta]
    elif kind == "affine":
        w = torch.randn(opt["f"], c, requires_grad=True)
        b = torch.zeros(opt["f"], requires_grad=True)
        op, params = (lambda t: F.linear(t, w, b)), [w, b]
    else:
        yt = torch.from_numpy(y)
        op, params, g = (lambda t: F.cross_entropy(t, yt)), [], None

    def fwd():
        with torch.no_grad():
            op(xt)

    def fwd_bwd():
        for p in (xg, *params):
            p.grad = None
        op(xg).backward(g)

    return fwd, fwd_bwd


def _numpy(kind, x, opt, dout, y):
    rng = np.random.default_rng(1)
    if kind == "conv":
        w = rng.standard_normal((opt["f"], x.shape[1], opt["k"], opt["k"]), dtype=np.float32)
        b = np.zeros(opt["f"], np.float32)
        fwd = lambda: ref.conv_forward(x, w, b, opt["pad"])  # noqa: E731
        return fwd, lambda: ref.conv_backward(dout, fwd()[1])
    if kind == "pool":
        return (lambda: ref.maxpool_forward(x)), (lambda: ref.maxpool_backward(dout, ref.maxpool_forward(x)[1]))
    if kind == "bn":
        gamma, beta = np.ones(x.shape[1], np.float32), np.zeros(x.shape[1], np.float32)
        fwd = lambda: ref.batchnorm_forward(x, gamma, beta)  # noqa: E731
        return fwd, lambda: ref.batchnorm_backward(dout, fwd()[1])
    if kind == "affine":
        w = rng.standard_normal((x.shape[1], opt["f"]), dtype=np.float32)
        b = np.zeros(opt["f"], np.float32)
        fwd = lambda: ref.affine_forward(x, w, b)  # noqa: E731
        return fwd, lambda: ref.affine_backward(dout, fwd()[1])
    return (lambda: ref.softmax_ce_forward(x, y)), (lambda: ref.softmax_ce_forward(x, y))


def _output_shape(kind, shape, opt):
    if kind == "conv":
        return (shape[0], opt["f"], shape[2], shape[3])
    if kind == "pool":
        return (shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    if kind == "affine":
        return (shape[0], opt["f"])
    return shape


def bench_layers(torch, repeats: int, scale: float = 1.0) -> list[dict]:
    """One row per case and part: ms for each implementation, GFLOP/s, ratio layernet / torch.

    ``scale`` < 1 shrinks the batch (smoke runs)."""
    rng = np.random.default_rng(0)
    rows = []
    for name, kind, shape, opt in CASES:
        shape = (max(2, int(shape[0] * scale)), *shape[1:])
        x = rng.standard_normal(shape, dtype=np.float32)
        y = rng.integers(0, shape[1], shape[0]) if kind == "softmax" else None
        dout = None if kind == "softmax" else rng.standard_normal(_output_shape(kind, shape, opt), dtype=np.float32)
        impls = {"layernet": _layernet(kind, x, opt, dout, y), "numpy": _numpy(kind, x, opt, dout, y)}
        if torch is not None:
            impls["torch"] = _torch(torch, kind, x, opt, dout, y)
        for part, index, mult in (("fwd", 0, 1.0), ("fwd+bwd", 1, 3.0)):
            med = interleave({lib: fns[index] for lib, fns in impls.items()}, repeats)
            flops = _flops(kind, shape, opt) * mult
            row = {"case": name, "part": part, "shape": list(shape)}
            for lib, seconds in med.items():
                row[f"{lib}_ms"] = 1e3 * seconds
                if flops:
                    row[f"{lib}_gflops"] = flops / seconds / 1e9
            if "torch" in med:
                row["ratio"] = med["layernet"] / med["torch"]
            rows.append(row)
    return rows
