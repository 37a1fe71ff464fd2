"""Issue 15 from YAML: the new layer, optimizer, schedule and augmentation entries, their errors
(file:line, one line, exit 2), digits_resnet's accuracy and cifar10_resnet on a tiny CIFAR file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import require_torch

from layernet import run
from layernet.config import load_config
from test_cli import assert_user_error, run_cli
from test_config import GOOD, edit, problems, write
from test_data import make_cifar

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- configs that build
MODERN = """\
version: 1
name: modern
data: {dataset: digits, val_size: 100, normalize: standard,
       augment: {random_crop: {padding: 1}, horizontal_flip: true, cutout: {size: 3}}}
model:
  layers:
    - {type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
    - {type: groupnorm, num_groups: 2}
    - {type: gelu, approximate: tanh}
    - type: concat
      branches:
        - [{type: conv2d, out_channels: 4, kernel_size: 1}]
        - [{type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}, {type: gelu}]
      axis: 1
    - type: residual
      layers: [{type: conv2d, out_channels: 16, kernel_size: 3, stride: 2, padding: 1}, {type: groupnorm, num_groups: 4}]
      shortcut: [{type: conv2d, out_channels: 16, kernel_size: 1, stride: 2}]
    - {type: global_avgpool2d}
    - {type: layernorm}
    - {type: affine, out_features: 10}
optimizer: {type: adamw, lr: 3e-3}
lr_schedule: {type: onecycle, max_lr: 1e-2}
trainer: {epochs: 1, batch_size: 64, verbose: quiet}
output: {dir: "OUT/{name}/{timestamp}", plots: false}
"""


def test_every_new_entry_builds_infers_and_trains(tmp_path):
    path = write(tmp_path, MODERN.replace("OUT", str(tmp_path / "runs")))
    config = load_config(path)
    resolved = config.model_dump()
    assert resolved["optimizer"] == {"type": "adamw", "lr": 3e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                     "weight_decay": 1e-2}
    assert resolved["lr_schedule"]["max_lr"] == 1e-2 and resolved["lr_schedule"]["pct_start"] == 0.3
    assert resolved["data"]["augment"] == {"random_crop": {"padding": 1}, "horizontal_flip": True, "cutout": {"size": 3}}
    run_dir = run(path)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["test_acc"] is not None
    steps = (run_dir / "steps.csv").read_text().splitlines()
    assert steps[0] == "step,epoch,loss,lr" and len(steps) == 1 + 22  # 1397 examples in batches of 64


def test_summary_shows_inferred_sizes_and_both_paths(capsys, tmp_path):
    path = write(tmp_path, MODERN.replace("OUT", str(tmp_path / "runs")))
    code, out, _ = run_cli(capsys, "summary", path)
    assert code == 0, out
    for fragment in ("GroupNorm(2, 8", "LayerNorm(16", "Concat(2 branches, axis=1)", "branch 1: GELU(approximate='none')",
                     "shortcut: Conv2d(8, 16, kernel_size=1, stride=2", "Residual(f: 2 layers, shortcut: 1 layer)"):
        assert fragment in out, fragment


# ---------------------------------------------------------------------------- errors: file:line, one line, exit 2
BAD = [
    ("groupnorm channels", "    - {type: relu}\n", "    - {type: groupnorm, num_groups: 3}\n", 10,
     "model.layers[1] (groupnorm): does not fit its input (None, 4, 8, 8)", "a multiple of num_groups=3"),
    ("residual paths", "    - {type: relu}\n",
     "    - {type: residual, layers: [{type: conv2d, out_channels: 6, kernel_size: 3, padding: 1}], "
     "shortcut: [{type: conv2d, out_channels: 6, kernel_size: 1, stride: 2}]}\n", 10,
     "model.layers[1] (residual)", "to (None, 6, 8, 8) but its shortcut to (None, 6, 4, 4)"),
    ("residual without shortcut", "    - {type: relu}\n",
     "    - {type: residual, layers: [{type: conv2d, out_channels: 6, kernel_size: 1}]}\n", 10,
     "model.layers[1] (residual)", "to (None, 6, 8, 8), but x + f(x) needs f to keep the shape"),
    ("conv groups", "    - {type: relu}\n", "    - {type: conv2d, out_channels: 6, kernel_size: 3, groups: 3}\n", 10,
     "model.layers[1] (conv2d): does not fit its input (None, 4, 8, 8)", "a divisor of in_channels=4"),
    ("concat branches", "    - {type: relu}\n",
     "    - {type: concat, branches: [[{type: conv2d, out_channels: 2, kernel_size: 1}], "
     "[{type: conv2d, out_channels: 2, kernel_size: 3}]]}\n", 10,
     "model.layers[1] (concat)", "branch 0: (None, 2, 8, 8), branch 1: (None, 2, 6, 6)"),
    ("cutout too large", "  val_size: 100\n", "  val_size: 100\n  augment: {cutout: {size: 9}}\n", 7,
     "data.augment.cutout", "expected a cutout size <= the image's 8x8, found size 9"),
]


@pytest.mark.parametrize("case", BAD, ids=[case[0] for case in BAD])
def test_shape_problems_name_the_line(capsys, tmp_path, case):
    _, old, new, line, where, fragment = case
    path = write(tmp_path, edit(GOOD, old, new))
    code, _, err = run_cli(capsys, "summary", path)
    assert_user_error(code, err, f"{path}:{line}: {where}", fragment)


@pytest.mark.parametrize("old, new, line, where, fragment", [
    ("  val_size: 100\n", "  val_size: 100\n  augment: {random_crop: {padding: -2}}\n", 7,
     "data.augment.random_crop.padding", "expected an int >= 0"),
    ("  val_size: 100\n", "  val_size: 100\n  augment: {horizontl_flip: true}\n", 7,
     "data.augment.horizontl_flip", "did you mean 'horizontal_flip'"),
    ("    - {type: relu}\n", "    - {type: groupnorm, num_groups: 4, num_channels: 6}\n", 10,
     "model.layers[1].num_channels", "a multiple of num_groups=4"),
    ("    - {type: relu}\n", "    - {type: conv2d, out_channels: 6, kernel_size: 3, groups: 4}\n", 10,
     "model.layers[1].groups", "expected a divisor of out_channels=6. Received: groups=4"),
    ("    - {type: relu}\n", "    - {type: gelu, approximate: fast}\n", 10,
     "model.layers[1].approximate", "expected 'none' or 'tanh'"),
    ("    - {type: relu}\n", "    - {type: residual, layers: [{type: relu}], shortcut: [{type: rleu}]}\n", 10,
     "model.layers[1].shortcut[0].type", "did you mean 'relu'"),
    ("    - {type: relu}\n", "    - {type: concat, branches: [[{type: relu}], []], axis: 0}\n", 10,
     "model.layers[1].axis", "expected a non-zero int"),
    ("optimizer: {type: sgd, lr: 1e-2, momentum: 0.9}", "optimizer: {type: adadelta, lr: 1.0, rho: 2}", 15,
     "optimizer.rho", "`rho` of Adadelta"),
    ("trainer:\n", "lr_schedule: {type: onecycle, pct_start: 0}\ntrainer:\n", 16,
     "lr_schedule.pct_start", "`pct_start` of OneCycle"),
])
def test_config_problems_name_the_line(tmp_path, old, new, line, where, fragment):
    lines = problems(tmp_path, edit(GOOD, old, new))
    assert any(entry.startswith(f"{tmp_path / 'run.yaml'}:{line}: {where}") and fragment in entry for entry in lines), lines


def test_augmenting_non_image_data_exits_2(capsys, tmp_path):
    from test_cli import TINY

    path = write(tmp_path, TINY.replace("val_size: 12}", "val_size: 12, augment: {horizontal_flip: true}}"))
    code, _, err = run_cli(capsys, "train", path)
    assert_user_error(code, err, f"{path}:3: data.augment: expected image data (C, H, W) per example")


# ---------------------------------------------------------------------------- the shipped configs
def test_digits_resnet_reaches_97_percent(tmp_path):
    run_dir = run(ROOT / "configs" / "digits_resnet.yaml",
                  overrides=[f"output.dir={tmp_path}/{{name}}", "output.plots=false", "trainer.verbose=quiet"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["test_acc"] >= 0.97, summary["test_acc"]


def test_cifar10_resnet_summary_and_one_epoch_on_a_tiny_file(capsys, tmp_path):
    make_cifar(tmp_path / "cifar", np.random.default_rng(0), sizes=(4, 4, 4, 4, 4, 6))
    config = ROOT / "configs" / "cifar10_resnet.yaml"
    root = f"data.root={tmp_path / 'cifar'}"
    code, out, _ = run_cli(capsys, "summary", config, root)
    assert code == 0 and "Total params: 272,474" in out and "GlobalAvgPool2d()" in out
    assert out.count("shortcut: Conv2d") == 2
    # the shipped settings (val_size 0.1: 2 of the 20 images; batch 128: one step), one epoch
    run_dir = run(config, overrides=[root, "trainer.epochs=1", f"output.dir={tmp_path}/{{name}}", "output.plots=false",
                                     "trainer.verbose=quiet"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["steps"] == 1 and summary["test_acc"] is not None


def _torch_copy(torch, layer):
    """A torch module computing what ``layer`` computes, with its parameters copied (float64)."""
    from layernet.layers import Affine, BatchNorm, Conv2d, GlobalAvgPool2d, ReLU, Residual

    nn = torch.nn
    if isinstance(layer, Conv2d):
        m = nn.Conv2d(layer.in_channels, layer.out_channels, layer._k, stride=layer._s, padding=layer._p,
                      dilation=layer._d, groups=layer.groups, bias=layer.bias).double()
        with torch.no_grad():
            m.weight.copy_(torch.tensor(layer.params["W"]))
            if layer.bias:
                m.bias.copy_(torch.tensor(layer.params["b"]))
        return m
    if isinstance(layer, BatchNorm):
        m = nn.BatchNorm2d(layer.num_features, eps=layer.eps).double()
        with torch.no_grad():
            m.weight.copy_(torch.tensor(layer.params["gamma"]))
            m.bias.copy_(torch.tensor(layer.params["beta"]))
        return m
    if isinstance(layer, Affine):
        m = nn.Linear(*layer.params["W"].shape).double()
        with torch.no_grad():
            m.weight.copy_(torch.tensor(layer.params["W"].T))
            m.bias.copy_(torch.tensor(layer.params["b"]))
        return m
    if isinstance(layer, ReLU):
        return nn.ReLU()
    if isinstance(layer, GlobalAvgPool2d):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if isinstance(layer, Residual):
        f = nn.Sequential(*[_torch_copy(torch, inner) for inner in layer.layers])
        s = nn.Sequential(*[_torch_copy(torch, inner) for inner in layer.shortcut]) if layer.shortcut else nn.Identity()

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.f, self.s = f, s

            def forward(self, x):
                return self.f(x) + self.s(x)

        return Block()
    raise AssertionError(f"no torch copy for {layer!r}")


def test_digits_resnet_gradients_match_torch():
    """The whole shipped ResNet (batch norm inside residual blocks) against PyTorch, float64."""
    torch = require_torch()
    from layernet.losses import SoftmaxCrossEntropy
    from layernet.model import Sequential

    config = load_config(ROOT / "configs" / "digits_resnet.yaml").model_dump()
    model = Sequential.from_config(config["model"], input_shape=(1, 8, 8), rng=0).astype(np.float64)
    module = torch.nn.Sequential(*[_torch_copy(torch, layer) for layer in model.layers]).train()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 1, 8, 8)), rng.integers(0, 10, 6)
    loss = SoftmaxCrossEntropy()
    value = loss.forward(model.forward(x, training=True), y)
    dx = model.backward(loss.backward())
    xt = torch.tensor(x, requires_grad=True)
    lt = torch.nn.functional.cross_entropy(module(xt), torch.tensor(y))
    lt.backward()
    assert abs(value - lt.item()) < 1e-12
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12, rtol=1e-9)
    ours = [grad for _, _, grad in model.parameters()]
    theirs = [p.grad.numpy() for p in module.parameters()]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.T if a.ndim == 2 else b, atol=1e-12, rtol=1e-9)
