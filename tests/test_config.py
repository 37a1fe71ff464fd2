"""Config loading: numbers, defaults, every bad-config case of issues 4 and 7, overrides, shapes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from layernet.config import (
    ConfigError,
    OverrideError,
    check_model_shapes,
    load_config,
    load_yaml,
    parse_override,
    resolve,
)

ROOT = Path(__file__).resolve().parents[1]
#: Run configs (sweep files, which name a ``base`` run config and a ``space``, are tested with the sweeps).
CONFIGS = sorted(p for p in (ROOT / "configs").glob("*.yaml") if "space" not in (load_yaml(p.read_text()) or {}))
#: Per-sample input shape and class count of each data set (the shipped configs are checked against them).
DATA_SHAPES = {
    "digits": ((1, 8, 8), 10),
    "spiral": ((2,), 3),
    "mnist": ((1, 28, 28), 10),
    "fashion_mnist": ((1, 28, 28), 10),
    "cifar10": ((3, 32, 32), 10),
}

GOOD = """\
version: 1
name: test
seed: 0
data:
  dataset: digits
  val_size: 100
model:
  layers:
    - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
    - {type: relu}
    - {type: maxpool2d, kernel_size: 2}
    - {type: flatten}
    - {type: affine, out_features: 10}
  loss: softmax_cross_entropy
optimizer: {type: sgd, lr: 1e-2, momentum: 0.9}
trainer:
  epochs: 2
  batch_size: 32
"""


def write(tmp_path, text, name="run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text, overrides=()) -> list[str]:
    """The message lines of the ConfigError that loading ``text`` must raise."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    lines = str(info.value).splitlines()
    assert lines == info.value.problems
    return lines


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "text, value",
    [("1e-3", 1e-3), ("1E-3", 1e-3), ("-2e+5", -2e5), ("3e5", 3e5), ("1.5e3", 1500.0), ("1.0e-3", 1e-3),
     (".5", 0.5), ("2.", 2.0), ("-.5e1", -5.0), ("1_000.5", 1000.5), (".inf", float("inf"))],
)
def test_exponent_numbers_load_as_floats(text, value):
    loaded = load_yaml(f"x: {text}")["x"]
    assert isinstance(loaded, float) and loaded == value


@pytest.mark.parametrize("text, value", [("10", 10), ("-3", -3), ("0", 0), ("1_000", 1000)])
def test_integers_stay_ints(text, value):
    loaded = load_yaml(f"x: {text}")["x"]
    assert type(loaded) is int and loaded == value


@pytest.mark.parametrize("text", ["e5", "1e", "1.2.3", "1e-", "abc", "'1e-3'", "1e-3x"])
def test_non_numbers_stay_strings(text):
    assert isinstance(load_yaml(f"x: {text}")["x"], str)


def test_safe_loader_itself_is_unchanged():
    load_yaml("x: 1e-3")
    assert yaml.safe_load("x: 1e-3") == {"x": "1e-3"}  # PyYAML's YAML 1.1 behaviour, not ours to change


def test_lr_in_exponent_form_validates(tmp_path):
    config = load_config(write(tmp_path, edit(GOOD, "lr: 1e-2", "lr: 3E-4")))
    assert config.optimizer.lr == pytest.approx(3e-4)


# ---------------------------------------------------------------------------- defaults
def test_resolved_defaults(tmp_path):
    resolved = resolve(write(tmp_path, GOOD))
    assert resolved["version"] == 1 and resolved["seed"] == 0
    assert resolved["data"] == {
        "dataset": "digits", "root": None, "download": False, "val_size": 100, "normalize": "none",
        "limit": None, "path": None, "num_classes": None, "class_names": None,
        "classes": None, "points_per_class": None, "noise": None, "augment": None, "seq_len": None, "sequence": None,
    }
    assert resolved["optimizer"] == {"type": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0}
    assert resolved["lr_schedule"] == {"type": "constant"}
    assert resolved["trainer"] == {"epochs": 2, "batch_size": 32, "drop_last": False, "early_stopping": None,
                                   "verbose": "auto", "clip_grad_norm": None, "metrics": ["accuracy"],
                                   "callbacks": []}
    assert resolved["checkpoint"] == {"every_epochs": 1, "keep_best": True, "monitor": "val_acc"}
    assert resolved["output"] == {"dir": "runs/{name}/{timestamp}", "plots": True, "tensorboard": False,
                                  "histograms_every": 1}
    assert resolved["model"]["loss"] == "softmax_cross_entropy"
    assert resolved["model"]["layers"][0] == {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}


def test_early_stopping_defaults(tmp_path):
    text = edit(GOOD, "  batch_size: 32\n", "  batch_size: 32\n  early_stopping: {patience: 2}\n")
    es = resolve(write(tmp_path, text))["trainer"]["early_stopping"]
    assert es == {"monitor": "val_acc", "patience": 2, "mode": "auto", "min_delta": 0.0}


def test_resolve_is_idempotent_and_accepts_dicts(tmp_path):
    resolved = resolve(write(tmp_path, GOOD))
    before = yaml.safe_dump(resolved)
    assert resolve(resolved) == resolved
    assert yaml.safe_dump(resolved) == before  # the input dict is not modified


def test_dict_errors_name_the_source():
    with pytest.raises(ConfigError, match=r"^<config>: trainer\.epochs: expected an int > 0, found 0"):
        resolve({**load_yaml(GOOD), "trainer": {"epochs": 0}})


# ---------------------------------------------------------------------------- bad configs, one at a time
BAD = [
    # (id, old text, new text, line, dotted path, fragments of the message)
    ("unknown top-level key", "seed: 0\n", "seed: 0\ntrainr: {}\n", 4, "trainr", ["did you mean 'trainer'?", "unknown key 'trainr'"]),
    ("nested typo", "  epochs: 2", "  epocs: 2", 17, "trainer.epocs", ["did you mean 'epochs'?"]),
    ("data typo", "  val_size: 100", "  val_sise: 100", 6, "data.val_sise", ["did you mean 'val_size'?"]),
    ("string for an int", "  epochs: 2", '  epochs: "2"', 17, "trainer.epochs", ["expected an int", "found '2' (a string)"]),
    ("negative epochs", "  epochs: 2", "  epochs: -3", 17, "trainer.epochs", ["expected an int > 0", "found -3"]),
    ("zero epochs", "  epochs: 2", "  epochs: 0", 17, "trainer.epochs", ["expected an int > 0", "found 0"]),
    ("float epochs", "  epochs: 2", "  epochs: 2.5", 17, "trainer.epochs", ["expected an int", "found 2.5"]),
    ("lr zero", "lr: 1e-2", "lr: 0", 15, "optimizer.lr", ["expected a number > 0", "found 0"]),
    ("lr negative", "lr: 1e-2", "lr: -1e-3", 15, "optimizer.lr", ["expected a number > 0", "found -0.001"]),
    ("lr string", "lr: 1e-2", "lr: fast", 15, "optimizer.lr", ["expected a number", "found 'fast'"]),
    ("lr missing", "lr: 1e-2, ", "", 15, "optimizer.lr", ["expected a value, found nothing"]),
    ("batch size zero", "  batch_size: 32", "  batch_size: 0", 18, "trainer.batch_size", ["expected an int > 0", "found 0"]),
    ("bool as int", "  batch_size: 32", "  batch_size: true", 18, "trainer.batch_size", ["expected an int", "found true"]),
    ("version", "version: 1", "version: 2", 1, "version", ["expected 1, found 2"]),
    ("name missing", "name: test\n", "", 1, "name", ["expected a value, found nothing"]),
    ("name with slash", "name: test", "name: a/b", 2, "name", ["without '/'", "found 'a/b'"]),
    ("seed negative", "seed: 0", "seed: -1", 3, "seed", ["expected an int >= 0", "found -1"]),
    ("normalize", "  val_size: 100", "  val_size: 100\n  normalize: zscore", 7, "data.normalize",
     ["expected one of 'none', 'scale' or 'standard'", "found 'zscore'"]),
    ("val_size fraction", "  val_size: 100", "  val_size: 1.5", 6, "data.val_size", ["a fraction in (0, 1)", "found 1.5"]),
    ("download not bool", "  val_size: 100", "  val_size: 100\n  download: 1", 7, "data.download", ["expected true or false", "found 1"]),
    ("verbose", "  batch_size: 32", "  batch_size: 32\n  verbose: loud", 19, "trainer.verbose", ["'auto', 'bar', 'epoch' or 'quiet'"]),
    ("unknown dataset", "dataset: digits", "dataset: mnst", 5, "data.dataset", ["expected a dataset", "found 'mnst'", "did you mean 'mnist'?"]),
    ("dataset option", "  val_size: 100", "  val_size: 100\n  classes: 4", 7, "data.classes",
     ["expected an option of dataset 'digits'", "found classes: 4"]),
    ("unknown optimizer", "type: sgd", "type: adamm", 15, "optimizer.type", ["expected an optimizer", "did you mean 'adam'?"]),
    ("optimizer key typo", "momentum: 0.9", "momentun: 0.9", 15, "optimizer.momentun", ["did you mean 'momentum'?"]),
    ("optimizer key of another optimizer", "momentum: 0.9", "beta1: 0.9", 15, "optimizer.beta1", ["optimizer 'sgd' takes"]),
    ("optimizer value", "momentum: 0.9", "momentum: 1.5", 15, "optimizer.momentum", ["momentum", "1.5"]),
    ("unknown schedule", "trainer:\n", "lr_schedule: {type: cosin}\ntrainer:\n", 16, "lr_schedule.type",
     ["expected an lr schedule", "did you mean 'cosine'?"]),
    ("schedule key typo", "trainer:\n", "lr_schedule: {type: step, gama: 0.5}\ntrainer:\n", 16, "lr_schedule.gama",
     ["did you mean 'gamma'?"]),
    ("schedule base_lr", "trainer:\n", "lr_schedule: {type: step, base_lr: 0.5}\ntrainer:\n", 16, "lr_schedule.base_lr",
     ["taken from optimizer.lr"]),
    ("unknown loss", "loss: softmax_cross_entropy", "loss: cross_entropy", 14, "model.loss",
     ["expected a loss", "found 'cross_entropy'", "did you mean 'softmax_cross_entropy'?"]),
    ("unknown loss type", "loss: softmax_cross_entropy", "loss: {type: hindge, margin: 0.5}", 14, "model.loss.type",
     ["expected a loss", "found 'hindge'", "did you mean 'hinge'?"]),
    ("loss argument typo", "loss: softmax_cross_entropy", "loss: {type: hinge, margn: 0.5}", 14, "model.loss.margn",
     ["did you mean 'margin'?", "model.loss 'hinge'"]),
    ("bad loss argument", "loss: softmax_cross_entropy", "loss: {type: hinge, margin: -1}", 14, "model.loss.margin",
     ["margin", "-1"]),
    ("loss without type", "loss: softmax_cross_entropy", "loss: {margin: 0.5}", 14, "model.loss",
     ["expected a 'type' key naming the loss", "hinge"]),
    ("loss not a name", "loss: softmax_cross_entropy", "loss: 3", 14, "model.loss",
     ["expected a loss name or a mapping", "found 3"]),
    ("unknown layer type", "{type: relu}", "{type: rellu}", 10, "model.layers[1].type",
     ["expected a layer type", "found 'rellu'", "did you mean 'relu'?"]),
    ("layer arg typo", "kernel_size: 3, padding", "kernal_size: 3, padding", 9, "model.layers[0].kernal_size",
     ["did you mean 'kernel_size'?", "layer 'conv2d' takes"]),
    ("missing layer arg", "{type: affine, out_features: 10}", "{type: affine}", 13, "model.layers[4]",
     ["expected the required argument 'out_features' of affine, found no such key"]),
    ("bad layer value", "{type: maxpool2d, kernel_size: 2}", "{type: maxpool2d, kernel_size: 0}", 11,
     "model.layers[2].kernel_size", ["kernel_size", "Received: kernel_size=0"]),
    ("layer not a mapping", "    - {type: relu}", "    - relu", 10, "model.layers[1]",
     ["expected a layer mapping such as {type: relu}, found 'relu'"]),
    ("layer without type", "{type: relu}", "{kind: relu}", 10, "model.layers[1]", ["expected a 'type' key"]),
    ("empty layers", "  layers:\n", "  layers: []\n  old_layers:\n", 8, "model.layers", ["a non-empty list of layers"]),
    ("monitor", "  batch_size: 32", "  batch_size: 32\ncheckpoint: {monitor: val_accuracy}", 19, "checkpoint.monitor",
     ["'val_acc', 'val_loss', 'train_acc' or 'train_loss'", "found 'val_accuracy'"]),
    ("section not a mapping", "  batch_size: 32", "  batch_size: 32\noutput: runs", 19, "output", ["expected a mapping", "found 'runs'"]),
    # issue 17 item 9: the schedule's epochs come from trainer.epochs; only the root cause is reported
    ("bad epochs under a cosine schedule", "trainer:\n  epochs: 2", "lr_schedule: {type: cosine}\ntrainer:\n  epochs: -3",
     18, "trainer.epochs", ["expected an int > 0", "found -3"]),
    ("lr string under a step schedule", "lr: 1e-2, momentum: 0.9}\ntrainer:\n", "lr: fast, momentum: 0.9}\nlr_schedule: {type: step}\ntrainer:\n", 15, "optimizer.lr",
     ["expected a number", "found 'fast'"]),
    ("duplicate key", "  batch_size: 32", "  batch_size: 32\n  epochs: 4", 19, "trainer.epochs",
     ["expected each key once", "first on line 17"]),
]



def test_loss_with_arguments_builds_that_loss(tmp_path):
    """``loss: {type: hinge, margin: 0.5}`` reaches the training run as HingeLoss(margin=0.5)."""
    from layernet.losses import HingeLoss, SoftmaxCrossEntropy, make_loss
    from layernet.runner import _build, load_run_data

    path = write(tmp_path, edit(GOOD, "loss: softmax_cross_entropy", "loss: {type: hinge, margin: 0.5}"))
    run_config, cfg = load_config(path), resolve(path)
    assert cfg["model"]["loss"] == {"type": "hinge", "margin": 0.5}
    _, loss, _, _ = _build(run_config, cfg, load_run_data(cfg))
    assert isinstance(loss, HingeLoss) and loss.margin == 0.5
    assert isinstance(make_loss("softmax_cross_entropy"), SoftmaxCrossEntropy)
    assert make_loss({"type": "hinge"}).margin == 1.0


@pytest.mark.parametrize("case", BAD, ids=[case[0] for case in BAD])
def test_bad_config_names_file_line_path_expected_and_found(tmp_path, case):
    _, old, new, line, dotted, fragments = case
    text = edit(GOOD, old, new)
    if case[0] == "empty layers":  # drop the old list under a dummy key: only `layers: []` is wrong
        text = text.replace("  old_layers:\n", "")
        text = "\n".join(l for l in text.splitlines() if not l.startswith("    - ")) + "\n"
    lines = problems(tmp_path, text)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{tmp_path / 'run.yaml'}:{line}: {dotted}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    if "did you mean" not in " ".join(fragments) and "expected each key once" not in lines[0]:
        assert "expected" in lines[0]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name: [unclosed\n", "expected YAML, found text that is not"),
        ("a: b\n  c: d\n", "expected YAML"),
        ("", "found an empty file"),
        ("# only a comment\n", "found an empty file"),
        ("- name: x\n- seed: 0\n", "at the top level, found a list"),
        ("just a string\n", "at the top level, found 'just a string'"),
        ("--- {name: a}\n--- {name: b}\n", "expected YAML"),
    ],
    ids=["unclosed", "bad indent", "empty", "comment only", "list at top", "scalar at top", "two documents"],
)
def test_not_a_config(tmp_path, text, fragment):
    lines = problems(tmp_path, text)
    assert len(lines) == 1 and fragment in lines[0]
    assert lines[0].startswith(str(tmp_path / "run.yaml") + ":"), lines[0]


def test_yaml_error_names_its_line(tmp_path):
    lines = problems(tmp_path, GOOD + "broken: [1, 2\nmore: 3\n")
    assert lines[0].split(":")[1].isdigit()


def test_not_utf8(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_missing_file_and_directory_are_os_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(IsADirectoryError):
        load_config(tmp_path)


def test_all_errors_are_reported_at_once_in_file_order(tmp_path):
    text = GOOD
    for old, new in [("version: 1", "version: 3"), ("dataset: digits", "dataset: digitz"),
                     ("{type: relu}", "{type: relu, alpha: 1}"), ("loss: softmax_cross_entropy", "loss: hinje"),
                     ("lr: 1e-2", "lr: 0"), ("  epochs: 2", "  epochs: -1"), ("  batch_size: 32", "  batchsize: 32")]:
        text = edit(text, old, new)
    lines = problems(tmp_path, text)
    assert [line.split(": ")[1] for line in lines] == [
        "version", "data.dataset", "model.layers[1].alpha", "model.loss", "optimizer.lr", "trainer.epochs",
        "trainer.batchsize",
    ]
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert "did you mean 'batch_size'?" in lines[-1] and "did you mean 'digits'?" in lines[1]


def test_residual_inner_layers_are_checked(tmp_path):
    text = edit(GOOD, "    - {type: relu}\n", "    - {type: residual, layers: [{type: relu}, {type: tanhh}]}\n")
    lines = problems(tmp_path, text)
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'run.yaml'}:10: model.layers[1].layers[1].type: ")
    assert "did you mean 'tanh'?" in lines[0]
    ok = edit(GOOD, "    - {type: relu}\n", "    - {type: residual, layers: [{type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}, {type: relu}]}\n")
    check_model_shapes(load_config(write(tmp_path, ok)), (1, 8, 8), num_classes=10)


def test_npz_needs_a_path(tmp_path):
    lines = problems(tmp_path, edit(GOOD, "dataset: digits", "dataset: npz"))
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'run.yaml'}:4: data.path: ") and "path=None" in lines[0]


# ---------------------------------------------------------------------------- overrides
def test_data_path_is_made_absolute_against_the_file_or_the_working_directory(tmp_path, monkeypatch):
    """Issue 17 item 10 (see layernet/config/paths.py): file -> its directory; override or dict -> the cwd."""
    import numpy as np

    (tmp_path / "cfg" / "d").mkdir(parents=True)
    np.savez(tmp_path / "cfg" / "d" / "a.npz", x_train=np.zeros((4, 2)), y_train=np.arange(4))
    text = edit(GOOD, "  dataset: digits\n", "  dataset: npz\n  path: d/a.npz\n")
    path = write(tmp_path / "cfg", text)
    monkeypatch.chdir(tmp_path)
    assert resolve(path)["data"]["path"] == str(tmp_path / "cfg" / "d" / "a.npz")
    assert resolve(path, ["data.path=cfg/d/a.npz"])["data"]["path"] == str(tmp_path / "cfg" / "d" / "a.npz")
    assert resolve(resolve(path))["data"]["path"] == str(tmp_path / "cfg" / "d" / "a.npz")   # absolute stays
    monkeypatch.chdir(tmp_path / "cfg")
    assert resolve({**load_yaml(text)})["data"]["path"] == str(tmp_path / "cfg" / "d" / "a.npz")
    lines = problems(tmp_path / "cfg", edit(text, "d/a.npz", "d/b.npz"))
    assert lines == [f"{path}:6: data.path: expected an existing .npz file (a relative path in a config file is read "
                     f"from its directory, {tmp_path / 'cfg'}), found 'd/b.npz': no such file at {tmp_path / 'cfg' / 'd' / 'b.npz'}"]


def test_overrides_apply_with_number_rules(tmp_path):
    path = write(tmp_path, GOOD)
    config = load_config(path, ["trainer.epochs=3", "optimizer.lr=3e-4", "model.layers.0.out_channels=16",
                                "model.layers.0.kernel_size=[3, 3]", "trainer.verbose=quiet",
                                "trainer.early_stopping.patience=2", "lr_schedule.type=step", "lr_schedule.gamma=0.5"])
    resolved = config.model_dump()
    assert resolved["trainer"]["epochs"] == 3 and resolved["trainer"]["verbose"] == "quiet"
    assert isinstance(resolved["optimizer"]["lr"], float) and resolved["optimizer"]["lr"] == pytest.approx(3e-4)
    assert resolved["model"]["layers"][0]["out_channels"] == 16
    assert resolved["model"]["layers"][0]["kernel_size"] == [3, 3]
    assert resolved["trainer"]["early_stopping"]["patience"] == 2
    assert resolved["lr_schedule"] == {"type": "step", "step_size": 10, "gamma": 0.5}
    assert load_config(path).trainer.epochs == 2  # the file is untouched


def test_later_override_wins_and_whole_sections_can_be_replaced(tmp_path):
    resolved = resolve(write(tmp_path, GOOD), ["trainer.epochs=3", "trainer.epochs=4", "optimizer={type: adam, lr: 1e-3}"])
    assert resolved["trainer"]["epochs"] == 4 and resolved["optimizer"]["type"] == "adam"
    assert "momentum" not in resolved["optimizer"]


def test_override_adds_an_optional_layer_argument(tmp_path):
    resolved = resolve(write(tmp_path, GOOD), ["model.layers.0.stride=2"])
    assert resolved["model"]["layers"][0]["stride"] == 2


@pytest.mark.parametrize(
    "override, fragments",
    [
        ("trainer.epocs=3", ["override 'trainer.epocs=3'", "trainer.epocs", "did you mean 'epochs'?"]),
        ("trainr.epochs=3", ["override 'trainr.epochs=3'", "did you mean 'trainer'?"]),
        ("optimizer.momentun=0.5", ["did you mean 'momentum'?"]),
        ("model.layers.0.out_chanels=16", ["model.layers[0].out_chanels", "did you mean 'out_channels'?"]),
        ("model.layers.9.out_channels=16", ["model.layers has 5 items", "found 9"]),
        ("model.layers.first.out_channels=16", ["is a list", "found 'first'"]),
        ("trainer.epochs.max=3", ["expected trainer.epochs to be a mapping or a list, found 2"]),
        ("trainer.epochs", ["expected KEY=VALUE", "found no '='"]),
        ("=3", ["expected a dotted key"]),
        ("trainer..epochs=3", ["expected a dotted key"]),
        ("optimizer.lr=[1, 2", ["expected a YAML value after '='", "'[1, 2'"]),
        ("optimizer.lr={a: ", ["expected a YAML value"]),
    ],
)
def test_bad_override_is_one_line_naming_it(tmp_path, override, fragments):
    lines = problems(tmp_path, GOOD, [override])
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"override {override!r}"), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "override, path, fragment",
    [("trainer.epochs=-3", "trainer.epochs", "expected an int > 0, found -3"),
     ("optimizer.lr=0", "optimizer.lr", "expected a number > 0, found 0"),
     ("optimizer.lr=fast", "optimizer.lr", "found 'fast'"),
     ("model.layers.1.type=rellu", "model.layers[1].type", "did you mean 'relu'?")],
)
def test_invalid_override_value_is_reported_at_the_override(tmp_path, override, path, fragment):
    lines = problems(tmp_path, GOOD, [override])
    assert lines == [lines[0]] and lines[0].startswith(f"override '{override}': {path}: ") and fragment in lines[0]


@pytest.mark.parametrize("schedule", ["cosine", "step", "exponential", "constant"])
def test_a_field_feeding_the_schedule_is_reported_once_at_its_root(tmp_path, schedule):
    """Issue 17 item 9: a bad trainer.epochs or optimizer.lr is not echoed as lr_schedule.epochs / base_lr."""
    text = edit(GOOD, "trainer:\n", f"lr_schedule: {{type: {schedule}}}\ntrainer:\n")
    lines = problems(tmp_path, text, ["trainer.epochs=0", "optimizer.lr=-1"])
    assert sorted(line.split(": ")[1] for line in lines) == ["optimizer.lr", "trainer.epochs"], lines
    assert not any("lr_schedule" in line for line in lines), lines


def test_derived_problems_are_dropped_only_when_their_source_failed():
    from layernet.config.errors import Locator, Problem

    derived = Problem(("lr_schedule", "epochs"), "expected epochs > 0", derived_from=[("trainer", "epochs")])
    root = (("trainer", "epochs"), "expected an int > 0, found -3")
    whole = (("trainer",), "expected a mapping, found 3")
    other = (("trainer", "batch_size"), "expected an int > 0, found 0")
    locator = Locator("run.yaml", {("trainer",): 4, ("trainer", "epochs"): 5, ("lr_schedule",): 7})
    assert locator.message([derived, root]) == ["run.yaml:5: trainer.epochs: expected an int > 0, found -3"]
    assert locator.message([derived, whole]) == ["run.yaml:4: trainer: expected a mapping, found 3"]
    assert len(locator.message([derived, other])) == 2      # an unrelated failure does not hide it
    assert locator.message([derived]) == ["run.yaml:7: lr_schedule.epochs: expected epochs > 0"]


def test_override_errors_come_with_the_file_errors(tmp_path):
    lines = problems(tmp_path, edit(GOOD, "  epochs: 2", "  epochs: 0"), ["trainer.epoks=1"])
    assert len(lines) == 2 and ":17: trainer.epochs" in lines[0] and lines[1].startswith("override 'trainer.epoks=1'")


def test_parse_override():
    assert parse_override("a.b=1e-3") == (["a", "b"], 1e-3)
    assert parse_override("a=") == (["a"], None)
    assert parse_override("a=x=y") == (["a"], "x=y")
    with pytest.raises(OverrideError):
        parse_override("a. b=1")


# ---------------------------------------------------------------------------- shapes
def test_shape_mismatch_names_the_layer_and_line(tmp_path):
    text = edit(GOOD, "{type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}", "{type: conv2d, out_channels: 4, kernel_size: 9}")
    config = load_config(write(tmp_path, text))
    with pytest.raises(ConfigError) as info:
        check_model_shapes(config, (1, 8, 8))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / 'run.yaml'}:9: model.layers[0] (conv2d): does not fit its input (None, 1, 8, 8)")


def test_shape_mismatch_after_a_layer(tmp_path):
    text = edit(GOOD, "{type: maxpool2d, kernel_size: 2}", "{type: maxpool2d, kernel_size: 2}\n    - {type: maxpool2d, kernel_size: 8}")
    with pytest.raises(ConfigError, match=r":12: model\.layers\[3\] \(maxpool2d\): does not fit its input \(None, 4, 4, 4\) after layer 2 \(maxpool2d\)"):
        check_model_shapes(load_config(write(tmp_path, text)), (1, 8, 8))


def test_output_must_match_the_classes(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert check_model_shapes(config, (1, 8, 8), num_classes=10) == (10,)
    with pytest.raises(ConfigError, match=r"model\.layers\[4\] \(affine\): expected the model to output \(None, 3\).*found \(None, 10\)"):
        check_model_shapes(config, (1, 8, 8), num_classes=3)


def test_shapes_of_a_plain_layer_list():
    assert check_model_shapes([{"type": "flatten"}, {"type": "affine", "out_features": 3}], (2, 4)) == (3,)


# ---------------------------------------------------------------------------- shipped configs
def test_configs_are_shipped():
    names = {path.name for path in CONFIGS}
    assert {"quickstart.yaml", "spiral_mlp.yaml", "mnist_mlp.yaml", "mnist_cnn.yaml",
            "fashion_mnist_cnn.yaml", "cifar10_convnet.yaml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=[path.name for path in CONFIGS])
def test_shipped_config_validates_and_fits_its_data(path):
    config = load_config(path)
    assert config.name == path.stem
    if config.data.dataset == "text":  # the user's file: say 40 characters, windows of seq_len
        from layernet.data.text import fill_vocabulary_sizes

        steps = (config.data.seq_len or 64,)
        fill_vocabulary_sizes(config.model.layers, 40)
        assert check_model_shapes(config, steps, num_classes=40, label_shape=steps) == (*steps, 40)
        return
    input_shape, classes = DATA_SHAPES[config.data.dataset]
    if config.data.classes is not None:
        classes = config.data.classes
    if config.data.sequence == "rows":  # (C, H, W) images read row by row: (H, C*W)
        input_shape = (input_shape[1], input_shape[0] * input_shape[2])
    assert check_model_shapes(config, input_shape, num_classes=classes) == (classes,)


def test_import_layernet_does_not_import_pydantic():
    code = "import sys, layernet, layernet.layers, layernet.model; assert 'pydantic' not in sys.modules, 'pydantic imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b"])
def test_control_characters_are_a_config_error_with_the_line(tmp_path, char):
    path = tmp_path / "ctl.yaml"
    path.write_text(f"version: 1\nname: tiny{char}\n")
    with pytest.raises(ConfigError, match=r"ctl.yaml:2: .*control characters are not allowed"):
        load_config(path)
