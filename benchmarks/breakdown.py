"""Per-layer profile of a training step: which layer costs what, layernet next to PyTorch.

The model's forward is run once to collect every layer's real input; then each layer is timed
alone on that input, forward (training mode) and forward+backward (with a random upstream
gradient of its output's shape), against the matching ``torch.nn`` module(s) on the same
arrays, in interleaved rounds. The loss (softmax-CE forward+backward) and the SGD-momentum
update of all parameters are timed as two more rows. The first layer computes no input
gradient on either side, as in the training step.

    python -m benchmarks.breakdown [--model lenet_bn] [--repeats 15]
"""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import numpy as np

from .harness import interleave, set_threads
from .models import layernet_model, layernet_trainer, torch_model


def _layer_cases(layer, x, dout):
    def fwd():
        layer.forward(x, training=True)
        layer._cache = None

    def fwd_bwd():
        layer.forward(x, training=True)
        layer.backward(dout)

    return fwd, fwd_bwd


def _torch_cases(torch, module, x, dout, needs_grad):
    xt = torch.from_numpy(x)
    xg = xt.clone().requires_grad_(needs_grad)
    g = torch.from_numpy(dout)
    module.train()

    def fwd():
        with torch.no_grad():
            module(xt)

    def fwd_bwd():
        module.zero_grad(set_to_none=True)
        xg.grad = None
        module(xg).backward(g)

    return fwd, fwd_bwd


def breakdown(model_name: str, torch, repeats: int, batch: int = 128) -> list[dict]:
    """Rows ``{layer, fwd/bwd ms per library, ratio}`` for every layer, the loss and the update."""
    from layernet.losses import SoftmaxCrossEntropy
    from layernet.optim import SGD

    from .models import model_data

    x, y, _ = model_data(model_name, batch)
    model = layernet_model(model_name)
    step = layernet_trainer(model)
    step(x, y)  # compile everything, fill the gradients
    rng = np.random.default_rng(0)
    rows, h = [], x
    for index, layer in enumerate(model.layers):
        out = layer.forward(h, training=True)
        layer._cache = None
        dout = rng.standard_normal(out.shape, dtype=np.float32)
        cases = {}
        ln = _layer_cases(layer, h, dout)
        cases["layernet fwd"], cases["layernet fwd+bwd"] = ln
        if torch is not None:
            module = torch_model(torch, SimpleNamespace(layers=[layer]))
            th = _torch_cases(torch, module, h, dout, needs_grad=index > 0)
            cases["torch fwd"], cases["torch fwd+bwd"] = th
        rows.append(_row(f"{index} {layer!r}", interleave(cases, repeats)))
        h = out
    # the loss on the real scores, and the optimizer update of every parameter
    loss = SoftmaxCrossEntropy()
    cases = {"layernet fwd": lambda: loss.forward(h, y), "layernet fwd+bwd": lambda: (loss.forward(h, y), loss.backward())}
    opt = SGD(0.01, momentum=0.9)
    upd = {"layernet fwd+bwd": lambda: opt.step(model)}
    if torch is not None:
        F = torch.nn.functional
        st, sy = torch.from_numpy(h.copy()), torch.from_numpy(y)
        sg = st.clone().requires_grad_(True)
        cases["torch fwd"] = lambda: F.cross_entropy(st, sy)
        cases["torch fwd+bwd"] = lambda: F.cross_entropy(sg, sy).backward()
        net = torch_model(torch, model)
        for p in net.parameters():
            p.grad = torch.randn_like(p)
        topt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        upd["torch fwd+bwd"] = topt.step
    rows.append(_row("softmax-CE loss", interleave(cases, repeats)))
    rows.append(_row("SGD-momentum update", interleave(upd, repeats)))
    return rows


def _row(name, med):
    row = {"layer": name}
    for key, seconds in med.items():
        row[key.replace(" ", "_").replace("+", "_") + "_ms"] = 1e3 * seconds
    for lib in ("layernet", "torch"):
        if f"{lib}_fwd_bwd_ms" in row and f"{lib}_fwd_ms" in row:
            row[f"{lib}_bwd_ms"] = row[f"{lib}_fwd_bwd_ms"] - row[f"{lib}_fwd_ms"]
    if "torch_fwd_bwd_ms" in row:
        row["ratio"] = row["layernet_fwd_bwd_ms"] / row["torch_fwd_bwd_ms"]
    return row


def main(argv=None):
    from .report import breakdown_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet_bn")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    torch = set_threads(2)
    print(breakdown_table(args.model, breakdown(args.model, torch, args.repeats)))


if __name__ == "__main__":
    main()
