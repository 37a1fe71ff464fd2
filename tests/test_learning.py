"""Training learns: small configs reach a stated test accuracy on the embedded UCI digits.

Every other test checks a piece (a gradient, a checkpoint, a message); these check that the pieces
together learn. The digits ship with the package (1797 8x8 images; 1297 train, 200 validation,
300 test here), so nothing is skipped for lack of data. Chance is 10%; the thresholds sit a few
points under what seed 0 reaches (MLP 0.977 after 10 epochs, convnet 0.957 after 5), so a broken
backward pass, optimizer, shuffle or normalisation fails them.
"""

import copy
import json

import pytest

from layernet.trainer import run

CONFIG = {
    "version": 1,
    "name": "learns",
    "seed": 0,
    "data": {"dataset": "digits", "val_size": 200, "normalize": "standard"},
    "model": {"layers": [{"type": "flatten"}, {"type": "affine", "out_features": 64}, {"type": "relu"},
                         {"type": "affine", "out_features": 10}]},
    "optimizer": {"type": "adam", "lr": 3.0e-3},
    "trainer": {"epochs": 10, "batch_size": 32, "verbose": "quiet"},
    "output": {"dir": "runs/{name}", "plots": False},
}
CONVNET = [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1, "bias": False},
           {"type": "batchnorm"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2},
           {"type": "flatten"}, {"type": "affine", "out_features": 10}]


@pytest.mark.parametrize("model, lr, epochs, stated", [("mlp", 3e-3, 10, 0.95), ("convnet", 1e-2, 5, 0.93)])
def test_a_small_config_reaches_the_stated_test_accuracy_on_digits(model, lr, epochs, stated, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = copy.deepcopy(CONFIG)
    if model == "convnet":
        config["model"]["layers"] = CONVNET
    config["optimizer"]["lr"], config["trainer"]["epochs"] = lr, epochs
    summary = json.loads((run(config) / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["test_checkpoint"] == "best"
    assert summary["test_acc"] >= stated, summary
    assert summary["final"]["train_loss"] < 0.3, summary["final"]  # chance is ln 10 = 2.3
