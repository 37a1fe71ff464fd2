"""Bad inputs users make, as data: each config case is a YAML text (or a mutation of a valid
tiny config) plus overrides, and the words the one-line error must contain.

Shared by the in-process tests and the ones that run the real ``layernet`` command.
"""

from __future__ import annotations

import copy

import yaml

#: A valid tiny run: a small MLP on the embedded digits, one short epoch.
TINY = {
    "version": 1,
    "name": "tiny",
    "seed": 0,
    "data": {"dataset": "digits", "val_size": 100, "normalize": "scale", "limit": 400},
    "model": {
        "layers": [
            {"type": "flatten"},
            {"type": "affine", "out_features": 16},
            {"type": "relu"},
            {"type": "affine", "out_features": 10},
        ],
        "loss": "softmax_cross_entropy",
    },
    "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    "lr_schedule": {"type": "constant"},
    "trainer": {"epochs": 1, "batch_size": 50, "verbose": "epoch"},
    "checkpoint": {"every_epochs": 1, "keep_best": True, "monitor": "val_acc"},
    "output": {"dir": "runs/{name}", "plots": False},
}


def tiny(**changes) -> dict:
    """A deep copy of TINY with dotted-path changes: ``tiny(**{"trainer.epochs": 3})``."""
    config = copy.deepcopy(TINY)
    for dotted, value in changes.items():
        node = config
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return config


def dump(config) -> str:
    return yaml.safe_dump(config, sort_keys=False)


def without(dotted: str) -> dict:
    config = copy.deepcopy(TINY)
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    del node[int(last) if isinstance(node, list) else last]
    return config


def renamed(dotted: str, new: str) -> dict:
    config = copy.deepcopy(TINY)
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[new] = node.pop(last)
    return config


RUN = "run.yaml"

#: id -> (file text, overrides, words the one-line message must contain). ``RUN`` is the file's name.
CONFIG_CASES = {
    "not YAML": ("name: tiny\nmodel: {layers: [\n  - {type: relu\n", [], [RUN, "YAML"]),
    "tabs (not YAML)": ("name: tiny\ndata:\n\tdataset: digits\n", [], [RUN, "YAML"]),
    "empty file": ("", [], [RUN, "empty"]),
    "only a comment": ("# nothing here\n", [], [RUN, "empty"]),
    "a list at the top": ("- name: tiny\n- seed: 0\n", [], [RUN, "list"]),
    "a scalar at the top": ("just some text\n", [], [RUN]),
    "unknown top-level key": (dump({**TINY, "trainr": {"epochs": 3}}), [], [RUN, "trainr", "did you mean 'trainer'"]),
    "typo in a nested key": (dump(renamed("data.val_size", "val_sise")), [], [RUN, "data.val_sise", "did you mean 'val_size'"]),
    "typo in trainer": (dump(renamed("trainer.batch_size", "batchsize")), [], [RUN, "batchsize", "did you mean 'batch_size'"]),
    "string for an int": (dump(tiny(**{"trainer.epochs": "ten"})), [], [RUN, "trainer.epochs", "ten"]),
    "quoted number for an int": (dump(tiny(**{"trainer.epochs": "3"})), [], [RUN, "trainer.epochs"]),
    "float for an int": (dump(tiny(**{"trainer.batch_size": 12.5})), [], [RUN, "trainer.batch_size", "12.5"]),
    "negative epochs": (dump(tiny(**{"trainer.epochs": -1})), [], [RUN, "trainer.epochs", "-1"]),
    "zero epochs": (dump(tiny(**{"trainer.epochs": 0})), [], [RUN, "trainer.epochs"]),
    "lr of 0": (dump(tiny(**{"optimizer.lr": 0})), [], [RUN, "optimizer.lr"]),
    "negative lr": (dump(tiny(**{"optimizer.lr": -0.1})), [], [RUN, "optimizer.lr", "-0.1"]),
    "lr as a string": (dump(tiny(**{"optimizer.lr": "fast"})), [], [RUN, "optimizer.lr", "fast"]),
    "lr .nan": ("" + dump(TINY).replace("lr: 0.1", "lr: .nan"), [], [RUN, "optimizer.lr"]),
    "batch size 0": (dump(tiny(**{"trainer.batch_size": 0})), [], [RUN, "trainer.batch_size"]),
    "negative seed": (dump(tiny(seed=-5)), [], [RUN, "seed"]),
    "boolean for an int": (dump(tiny(**{"trainer.epochs": True})), [], [RUN, "trainer.epochs"]),
    "unknown version": (dump(tiny(version=2)), [], [RUN, "version"]),
    "missing name": (dump(without("name")), [], [RUN, "name"]),
    "missing data": (dump(without("data")), [], [RUN, "data"]),
    "missing model.layers": (dump(without("model.layers")), [], [RUN, "model.layers"]),
    "empty layer list": (dump(tiny(**{"model.layers": []})), [], [RUN, "model.layers"]),
    "layers not a list": (dump(tiny(**{"model.layers": "conv"})), [], [RUN, "model.layers"]),
    "unknown layer type": (dump(tiny(**{"model.layers.1": {"type": "afine", "out_features": 16}})), [],
                           [RUN, "model.layers[1]", "afine", "did you mean 'affine'"]),
    "layer without a type": (dump(tiny(**{"model.layers.1": {"out_features": 16}})), [], [RUN, "model.layers[1]", "type"]),
    "layer is a string": (dump(tiny(**{"model.layers.2": "relu"})), [], [RUN, "model.layers[2]"]),
    "missing required layer argument": (dump(tiny(**{"model.layers.1": {"type": "affine"}})), [],
                                        [RUN, "model.layers[1]", "out_features"]),
    "typo in a layer argument": (dump(tiny(**{"model.layers.1": {"type": "affine", "out_featres": 16}})), [],
                                 [RUN, "model.layers[1]", "out_featres", "did you mean 'out_features'"]),
    "bad layer argument value": (dump(tiny(**{"model.layers.1": {"type": "affine", "out_features": 0}})), [],
                                 [RUN, "model.layers[1]", "out_features"]),
    "dropout p of 1.5": (dump(tiny(**{"model.layers.2": {"type": "dropout", "p": 1.5}})), [], [RUN, "model.layers[2]", "p"]),
    "unknown dataset": (dump(tiny(**{"data.dataset": "mnits"})), [], [RUN, "data.dataset", "mnits", "did you mean 'mnist'"]),
    "unknown normalize": (dump(tiny(**{"data.normalize": "zscore"})), [], [RUN, "data.normalize", "zscore"]),
    "unknown optimizer": (dump(tiny(**{"optimizer.type": "adamm"})), [], [RUN, "optimizer.type", "adamm"]),
    "unknown optimizer argument": (dump(tiny(**{"optimizer.momentun": 0.9})), [], [RUN, "optimizer.momentun", "did you mean 'momentum'"]),
    "unknown schedule": (dump(tiny(**{"lr_schedule.type": "cosin"})), [], [RUN, "lr_schedule.type", "did you mean 'cosine'"]),
    "bad schedule argument": (dump(tiny(**{"lr_schedule": {"type": "step", "step_size": 0}})), [], [RUN, "lr_schedule", "step_size"]),
    # issue 17 item 9: the cosine schedule reads trainer.epochs; the root cause only, one line
    "bad epochs under a cosine schedule": (dump(tiny(**{"lr_schedule.type": "cosine", "trainer.epochs": -1})), [],
                                           [RUN, "trainer.epochs", "-1"]),
    "override of bad epochs under a cosine schedule": (dump(tiny(**{"lr_schedule.type": "cosine"})), ["trainer.epochs=0"],
                                                       ["override 'trainer.epochs=0'", "trainer.epochs"]),
    "unknown loss": (dump(tiny(**{"model.loss": "cross_entropy"})), [], [RUN, "model.loss", "cross_entropy"]),
    "unknown monitor": (dump(tiny(**{"checkpoint.monitor": "val_accuracy"})), [], [RUN, "checkpoint.monitor", "val_accuracy"]),
    "duplicate key": (dump(TINY) + "seed: 3\n", [], [RUN, "seed"]),
    "override names no key": (dump(TINY), ["trainer.epoch=3"], ["trainer.epoch", "did you mean"]),
    "override of an unknown section": (dump(TINY), ["trainr.epochs=3"], ["trainr"]),
    "override without '='": (dump(TINY), ["trainer.epochs"], ["trainer.epochs"]),
    "override that cannot be parsed": (dump(TINY), ["trainer.epochs=[1, 2"], ["trainer.epochs"]),
    "override with a bad value": (dump(TINY), ["trainer.epochs=-2"], ["trainer.epochs", "-2"]),
    "override of a layer index out of range": (dump(TINY), ["model.layers.9.out_features=3"], ["model.layers"]),
    "override of a layer argument typo": (dump(TINY), ["model.layers.1.out_feature=3"], ["out_feature"]),
    "override of a scalar's child": (dump(TINY), ["seed.x=1"], ["seed"]),
    # issue 17 item 11: an option named like a config key gets the override form
    "an option instead of an override": (dump(TINY), ["--epochs", "3"], ["--epochs 3", "use trainer.epochs=3"]),
    "a nested key as an option": (dump(TINY), ["--momentum=0.5"], ["use optimizer.momentum=0.5"]),
}

#: Configs that validate but whose layer stack does not fit the data (1, 8, 8): caught before training.
SHAPE_CASES = {
    "conv kernel larger than the image": (
        tiny(**{"model.layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 9}, {"type": "flatten"},
                                 {"type": "affine", "out_features": 10}]}), ["model.layers[0]", "conv2d"]),
    "too many pools": (
        tiny(**{"model.layers": [{"type": "maxpool2d", "kernel_size": 2}] * 4 + [{"type": "flatten"},
                                 {"type": "affine", "out_features": 10}]}), ["model.layers[3]", "maxpool2d"]),
    "conv after flatten": (
        tiny(**{"model.layers": [{"type": "flatten"}, {"type": "conv2d", "out_channels": 4, "kernel_size": 3},
                                 {"type": "affine", "out_features": 10}]}), ["model.layers[1]", "conv2d"]),
    "wrong number of classes": (
        tiny(**{"model.layers.3": {"type": "affine", "out_features": 7}}), ["model.layers[3]", "10"]),
    "residual that changes the shape": (
        tiny(**{"model.layers.2": {"type": "residual", "layers": [{"type": "affine", "out_features": 5}]}}),
        ["model.layers[2]", "residual"]),
    "explicit in_features that do not fit": (
        tiny(**{"model.layers.1": {"type": "affine", "in_features": 63, "out_features": 16}}), ["model.layers[1]", "63"]),
}


def fault_config(output_dir, **changes) -> dict:
    """A small convnet on digits that exercises every piece of state a resume must restore: batch
    norm running statistics, a dropout generator, Adam's moments, a cosine schedule, the shuffling
    generator. 2 epochs of 20 steps (limit 300, val 100, batch 10)."""
    config = tiny(**{
        "data.limit": 300,
        "trainer.epochs": 2,
        "trainer.batch_size": 10,
        "optimizer": {"type": "adam", "lr": 0.01},
        "lr_schedule": {"type": "cosine"},
        "output.dir": f"{output_dir}/{{name}}",
        "model.layers": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "batchnorm"},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "dropout", "p": 0.25},
            {"type": "flatten"},
            {"type": "affine", "out_features": 10},
        ],
    })
    config["name"] = "fault"
    for dotted, value in changes.items():
        config = _set(config, dotted, value)
    return config


def diverging_config(output_dir) -> dict:
    """A linear model with MSE at lr 10: finite for two epochs (checkpointed), inf at step 16 (epoch 3)."""
    config = tiny(**{"trainer.epochs": 4, "optimizer.lr": 10.0, "optimizer.momentum": 0.0, "model.loss": "mse",
                     "model.layers": [{"type": "flatten"}, {"type": "affine", "out_features": 10}],
                     "output.dir": f"{output_dir}/{{name}}"})
    config["name"] = "diverge"
    return config


def _set(config, dotted, value):
    config = copy.deepcopy(config)
    node = config
    *parents, last = dotted.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return config
