"""The ``layernet`` command: exit codes, one-line errors, --print-config, summary, gradcheck, data, train/eval."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from layernet import __version__
from layernet.cli import main
from layernet.config import load_yaml, resolve

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"

# Small enough that every gradient check and a one-epoch run take a second or two.
TINY = """\
version: 1
name: tiny
data: {dataset: spiral, classes: 3, points_per_class: 20, val_size: 12}
model:
  layers:
    - {type: affine, out_features: 8}
    - {type: batchnorm}
    - {type: tanh}
    - {type: dropout, p: 0.25}
    - {type: affine, out_features: 3}
optimizer: {type: adam, lr: 1e-2}
trainer: {epochs: 1, batch_size: 16, verbose: quiet}
output: {dir: "OUT/{name}/{timestamp}", plots: false}
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.replace("OUT", str(tmp_path / "runs")))
    return path


def run_cli(capsys, *argv):
    """``(exit code, stdout, stderr lines)`` of ``layernet argv`` run in-process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def assert_user_error(code, err, *fragments, lines=1):
    assert code == 2
    assert len(err) == lines, err
    assert all(line.startswith("layernet") and ": error: " in line for line in err)
    assert "Traceback" not in "\n".join(err)
    for fragment in fragments:
        assert fragment in err[0], err[0]


# ---------------------------------------------------------------------------- usage
def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"layernet {__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["eval", "--help"], ["summary", "--help"],
                                  ["gradcheck", "--help"], ["data", "--help"], ["plot", "--help"],
                                  ["sweep", "--help"]])
def test_help(capsys, argv):
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and "usage: layernet" in out


@pytest.mark.parametrize(
    "argv, fragment",
    [([], "required: COMMAND"), (["trian"], "invalid choice: 'trian'"), (["train"], "give a CONFIG"),
     (["eval", "x", "--split", "dev"], "invalid choice: 'dev'"), (["gradcheck", "c.yaml", "--batch-size", "0"], "expected a positive int"),
     (["data", "where", "mnist"], "invalid choice: 'where'"), (["train", "c.yaml", "--bogus"], "unrecognized arguments: --bogus")],
)
def test_bad_usage_is_one_line_exit_2(capsys, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    assert_user_error(code, err, fragment)
    assert "--help" in err[0]


@pytest.mark.parametrize(
    "argv, hint",
    [(["train", QUICKSTART, "--epochs", "3"], "use trainer.epochs=3"),
     (["train", QUICKSTART, "--epochs=3", "optimizer.lr=0.1"], "use trainer.epochs=3"),
     (["train", QUICKSTART, "--lr", "3e-4", "--batch-size", "16"], "use optimizer.lr=3e-4 trainer.batch_size=16"),
     (["train", QUICKSTART, "--trainer.epochs", "2"], "use trainer.epochs=2"),
     (["summary", QUICKSTART, "--out-channels", "16"], "use model.layers.0.out_channels=16"),
     (["gradcheck", QUICKSTART, "--batch-size", "2", "--patience", "4"], "use trainer.early_stopping.patience=4"),
     (["train", QUICKSTART, "--epochs"], "use trainer.epochs=VALUE"),
     (["train", QUICKSTART, "--epoch", "3", "--batchsize", "8"], "use trainer.epochs=3 trainer.batch_size=8"),
     (["train", "missing.yaml", "--epochs", "3"], "use trainer.epochs=3"),      # the schema's keys without a file
     (["train", QUICKSTART, "--eps", "1e-4"], "use one of model.layers.1.eps=1e-4, optimizer.eps=1e-4")],
)
def test_an_option_that_is_a_config_key_gets_the_override_form(capsys, argv, hint):
    """Issue 17 item 11: `--KEY VALUE` for a config key -> "use KEY=VALUE" (found in the config, not a table)."""
    code, _, err = run_cli(capsys, *argv)
    assert_user_error(code, err, "unrecognized arguments: --", hint)
    assert err[0].startswith(f"layernet {argv[0]}: error: ") and err[0].endswith(hint)
    assert "optimizer.lr=0.1" not in err[0]      # a well-formed override is not "unrecognized"


def test_an_option_that_is_no_config_key_gets_argparse_words(capsys):
    code, _, err = run_cli(capsys, "train", QUICKSTART, "--frobnicate", "3")
    assert_user_error(code, err, "unrecognized arguments: --frobnicate 3", "--help")
    assert "use " not in err[0]


# ---------------------------------------------------------------------------- config errors
def test_missing_config_file(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", tmp_path / "nope.yaml")
    assert_user_error(code, err, "nope.yaml: No such file or directory")


def test_bad_config_lists_every_problem_one_line_each(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(TINY.replace("lr: 1e-2", "lr: 0").replace("epochs: 1", "epocs: 1"))
    code, _, err = run_cli(capsys, "train", path)
    assert_user_error(code, err, f"{path}:11: optimizer.lr: expected a number > 0, found 0", lines=2)
    assert err[1].startswith(f"layernet train: error: {path}:12: trainer.epocs: ") and "did you mean 'epochs'?" in err[1]


@pytest.mark.parametrize("command", ["train", "summary", "gradcheck"])
def test_bad_override(capsys, tiny, command):
    code, _, err = run_cli(capsys, command, tiny, "trainer.epoks=2")
    assert_user_error(code, err, "override 'trainer.epoks=2'", "did you mean 'epochs'?")


def test_unparsable_override(capsys, tiny):
    code, _, err = run_cli(capsys, "train", tiny, "optimizer.lr=[1,")
    assert_user_error(code, err, "override 'optimizer.lr=[1,'", "expected a YAML value")


@pytest.mark.parametrize("command", ["train", "summary", "gradcheck"])
def test_not_yaml(capsys, tmp_path, command):
    path = tmp_path / "x.yaml"
    path.write_text("name: [oops\n")
    code, _, err = run_cli(capsys, command, path)
    assert_user_error(code, err, f"{path}:", "expected YAML")


# ---------------------------------------------------------------------------- --print-config
def test_print_config_is_the_resolved_config_with_overrides(capsys, tiny):
    code, out, err = run_cli(capsys, "train", tiny, "trainer.epochs=3", "optimizer.lr=3e-4", "--print-config")
    assert code == 0 and err == []
    printed = load_yaml(out)
    assert printed == resolve(tiny, ["trainer.epochs=3", "optimizer.lr=3e-4"])
    assert printed["trainer"]["epochs"] == 3 and printed["optimizer"]["lr"] == pytest.approx(3e-4)
    assert printed["optimizer"]["beta1"] == 0.9  # defaults are filled in
    assert not (tiny.parent / "runs").exists()  # nothing was trained
    assert yaml.safe_load(out)["optimizer"]["lr"] == pytest.approx(3e-4)  # plain YAML readers agree


def test_overrides_may_follow_options(capsys, tiny):
    code, out, _ = run_cli(capsys, "train", tiny, "--print-config", "trainer.epochs=3", "seed=4")
    assert code == 0 and load_yaml(out)["trainer"]["epochs"] == 3 and load_yaml(out)["seed"] == 4


def test_print_config_of_a_shipped_config(capsys):
    code, out, _ = run_cli(capsys, "train", QUICKSTART, "--print-config")
    assert code == 0 and load_yaml(out)["name"] == "quickstart"


# ---------------------------------------------------------------------------- summary
def test_summary_prints_the_model_table(capsys):
    code, out, err = run_cli(capsys, "summary", QUICKSTART)
    assert code == 0 and err == []
    assert "Sequential, input (None, 1, 8, 8)" in out and "Affine(64, 10)" in out and "Total params:" in out


def test_summary_with_an_override(capsys, tiny):
    code, out, _ = run_cli(capsys, "summary", tiny, "model.layers.0.out_features=5")
    assert code == 0 and "Affine(2, 5)" in out


def test_shape_mismatch_is_reported_before_anything_runs(capsys, tiny):
    code, _, err = run_cli(capsys, "summary", QUICKSTART, "model.layers.0.kernel_size=9", "model.layers.0.padding=0")
    assert_user_error(code, err, "model.layers[0] (conv2d): does not fit its input (None, 1, 8, 8)")
    code, _, err = run_cli(capsys, "train", tiny, "model.layers.4.out_features=4")
    assert_user_error(code, err, f"{tiny}:10: model.layers[4] (affine): expected the model to output (None, 3)")
    assert not (tiny.parent / "runs").exists()


def test_data_error_is_one_line(capsys, tiny, tmp_path):
    code, _, err = run_cli(capsys, "train", tiny, "data.dataset=mnist", "data.classes=null", "data.points_per_class=null",
                           f"data.root={tmp_path / 'empty'}")
    assert_user_error(code, err, "mnist: missing 4 file(s)")


@pytest.mark.parametrize("config", ["mnist_mlp.yaml", "mnist_cnn.yaml", "fashion_mnist_cnn.yaml", "cifar10_convnet.yaml"])
def test_summary_of_a_shipped_config_needs_no_data_files(capsys, tmp_path, monkeypatch, config):
    """Issue 17 item 17: the shapes of mnist, fashion_mnist and cifar10 are known constants."""
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path / "empty"))
    code, out, err = run_cli(capsys, "summary", ROOT / "configs" / config)
    assert code == 0, err
    dataset = load_yaml((ROOT / "configs" / config).read_text())["data"]["dataset"]
    shape = "(None, 3, 32, 32)" if dataset == "cifar10" else "(None, 1, 28, 28)"
    assert f"data '{dataset}', 10 classes" in out and f"input {shape}" in out and "Total params:" in out
    assert not (tmp_path / "empty").exists()


@pytest.mark.parametrize("dataset, shape", [("mnist", (1, 28, 28)), ("fashion_mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_gradcheck_needs_no_data_files(capsys, tmp_path, dataset, shape):
    config = load_yaml(TINY)
    config["data"] = {"dataset": dataset, "root": str(tmp_path / "empty")}
    config["model"]["layers"] = [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "stride": 2},
                                 {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 3},
                                 {"type": "flatten"}, {"type": "affine", "out_features": 10}]
    path = tmp_path / f"{dataset}.yaml"
    path.write_text(yaml.safe_dump(config))
    code, out, err = run_cli(capsys, "gradcheck", path, "--batch-size", "2", "--samples", "3")
    assert code == 0, err
    assert f"random inputs of shape {shape}" in out and out.splitlines()[-1].startswith("all ")
    code, out, err = run_cli(capsys, "train", path)       # training does need the files
    assert_user_error(code, err, f"{dataset}: missing", "layernet data download")


# ---------------------------------------------------------------------------- gradcheck
def test_gradcheck_passes_on_a_small_config(capsys, tiny):
    code, out, err = run_cli(capsys, "gradcheck", tiny, "--batch-size", "3")
    assert code == 0, (out, err)
    table = out.splitlines()
    assert any(line.split()[:3] == ["0", "affine", "W"] for line in table)
    assert any(line.split()[:2] == ["model", "4.W"] for line in table)
    assert not any(line.endswith("FAIL") for line in table) and table[-1].startswith("all ")


def test_gradcheck_explains_the_verdicts_in_80_columns(capsys):
    code, out, _ = run_cli(capsys, "gradcheck", QUICKSTART)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    legend = "\n".join(lines[lines.index(next(l for l in lines if l.startswith("verdicts:"))):])
    for band in ("  ok     below 1e-07", "  check  1e-07 to 1e-05", "  FAIL   above 1e-05"):
        assert band in legend, band
    assert "batch-norm input" in legend and "exactly 0" in legend
    # the batch-norm input of the quickstart is a correct layer with round-off on elements near 0:
    # the elements the centred difference cannot judge are left out, and said so
    assert any(line.split()[:3] == ["1", "batchnorm", "x"] and line.split()[4] in ("ok", "check")
               and line.endswith(" unresolved skipped)") for line in lines)


def test_gradcheck_passes_the_digits_resnet(capsys):
    # a correct model (its gradients match PyTorch in test_modern_configs.py) whose downsampling
    # block has gradient elements the centred difference cannot judge: round-off on elements near
    # 0 and ReLU inputs within the step, through batch norm. They are left out and counted.
    code, out, err = run_cli(capsys, "gradcheck", ROOT / "configs" / "digits_resnet.yaml")
    assert code == 0 and err == [], (out, err)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    block = [line.split() for line in lines if line.split()[:2] == ["5", "residual"]]
    assert [row[2] for row in block if row[4] == "FAIL"] == []
    assert any(row[5:] and row[5].startswith("(") and row[6:] == ["unresolved", "skipped)"] for row in block)
    assert '"k unresolved skipped"' in out and "kink" in out.split("verdicts:")[1]


def test_gradcheck_every_element(capsys, tiny):
    code, out, _ = run_cli(capsys, "gradcheck", tiny, "model.layers.0.bias=false", "--samples", "0")
    assert code == 0 and "model: every element" in out
    # the bias right before batch norm has a true gradient of 0: check_model reports 0.0 for it
    # instead of the relative error of round-off against an exact 0
    code, out, _ = run_cli(capsys, "gradcheck", tiny, "--samples", "0")
    assert code == 0
    bias_rows = [line.split() for line in out.splitlines() if line.split()[:2] == ["model", "0.b"]]
    assert len(bias_rows) == 1 and float(bias_rows[0][2]) == 0.0


RESIDUAL_CONV_BN = """\
version: 1
name: residual-conv-bn
data: {dataset: digits, val_size: 100}
model:
  layers:
    - {type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
    - {type: residual, layers: [{type: conv2d, out_channels: 4, kernel_size: 3, padding: 1},
                                {type: batchnorm}, {type: relu}]}
    - {type: flatten}
    - {type: affine, out_features: 10}
optimizer: {type: sgd, lr: 0.1}
trainer: {epochs: 1, batch_size: 16}
"""


def test_gradcheck_passes_a_residual_conv_batchnorm_relu(capsys, tmp_path):
    # the inner conv's bias feeds batch norm: its true gradient is 0, in check_layer as in check_model
    path = tmp_path / "residual.yaml"
    path.write_text(RESIDUAL_CONV_BN)
    code, out, err = run_cli(capsys, "gradcheck", path)
    assert code == 0, (out, err)
    rows = [line.split() for line in out.splitlines()]
    assert ["1", "residual", "0.b", "0.00e+00", "ok"] in rows


def test_gradcheck_fails_on_a_wrong_backward(capsys, tiny, monkeypatch):
    from layernet.layers.activation import Tanh

    right = Tanh.backward
    monkeypatch.setattr(Tanh, "backward", lambda self, dout: 1.5 * right(self, dout))
    code, out, err = run_cli(capsys, "gradcheck", tiny)
    assert code == 1
    failing = [line.split()[:3] for line in out.splitlines() if line.endswith("FAIL")]
    assert ["2", "tanh", "x"] in failing and ["model", "0.W"][:2] in [row[:2] for row in failing]
    assert err == ["layernet gradcheck: " + err[0].split(": ", 1)[1]] and "above 1e-05" in err[0]


def test_gradcheck_plot(capsys, tiny, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "grad.png"
    code, out, _ = run_cli(capsys, "gradcheck", tiny, "--plot", target)
    assert code == 0 and target.is_file() and target.stat().st_size > 0


# ---------------------------------------------------------------------------- data
def test_data_path(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "data", "path", "mnist", "--root", tmp_path)
    assert code == 0 and all(line.startswith(str(tmp_path)) for line in out.splitlines()) and len(out.splitlines()) == 4
    code, out, _ = run_cli(capsys, "data", "path", "digits")
    assert code == 0 and "no files needed" in out


def test_data_verify(capsys, tmp_path):
    code, out, err = run_cli(capsys, "data", "verify", "digits")
    assert code == 0 and out.startswith("ok") and err == []
    code, out, _ = run_cli(capsys, "data", "verify", "mnist", "--root", tmp_path)
    assert code == 1 and "FAIL" in out


@pytest.mark.parametrize("dataset, names", [
    ("mnist", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
               "t10k-labels-idx1-ubyte.gz", "uncompressed"]),
    ("fashion_mnist", ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]),
    ("cifar10", ["cifar-10-python.tar.gz", "cifar-10-batches-py/"]),
])
def test_data_verify_of_missing_files_says_how_to_get_them(capsys, tmp_path, monkeypatch, dataset, names):
    """Issue 17 item 13: the download switch, the download command, LAYERNET_DATA, the exact names and directory."""
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path / "store"))
    code, out, err = run_cli(capsys, "data", "verify", dataset)
    assert code == 1 and "FAIL" in out and len(err) == 1, err
    hint = err[0]
    directory = tmp_path / "store" / dataset
    assert hint.startswith(f"layernet data verify: {dataset}: missing ") and f" in {directory}: " in hint
    for needle in [*names, f"`layernet data download {dataset}`", "`download: true`", f"$LAYERNET_DATA/{dataset}",
                   f"$XDG_CACHE_HOME/layernet/{dataset}", "data.root"]:
        assert needle in hint, needle
    code, out, err = run_cli(capsys, "data", "verify", dataset, "--root", tmp_path / "mine")
    assert code == 1 and f" in {tmp_path / 'mine'}: " in err[0]


def test_data_download_uses_the_checksummed_download_path(capsys, tmp_path, monkeypatch):
    """Issue 17 item 17: `layernet data download NAME` fetches from a (local) mirror with MD5 checks."""
    import hashlib

    from layernet.data.idx import write_idx
    from layernet.data.mnist import MNIST

    rng = np.random.default_rng(0)
    mirror = tmp_path / "mirror" / "mnist"          # $LAYERNET_MIRROR/<dataset>/<file>
    mirror.mkdir(parents=True)
    stems = {"train-images-idx3-ubyte": (5, 28, 28), "train-labels-idx1-ubyte": (5,),
             "t10k-images-idx3-ubyte": (3, 28, 28), "t10k-labels-idx1-ubyte": (3,)}
    for stem, shape in stems.items():
        write_idx(mirror / f"{stem}.gz", rng.integers(0, 10, shape, dtype=np.uint8))
    md5s = {f"{stem}.gz": hashlib.md5((mirror / f"{stem}.gz").read_bytes()).hexdigest() for stem in stems}
    monkeypatch.setattr(MNIST, "files", md5s)
    monkeypatch.setenv("LAYERNET_MIRROR", (tmp_path / "mirror").as_uri())
    monkeypatch.setenv("LAYERNET_DATA", str(tmp_path / "store"))
    target = tmp_path / "store" / "mnist"

    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(b"tampered")       # a bad copy is refused, nothing kept
    code, out, err = run_cli(capsys, "data", "download", "mnist")
    assert_user_error(code, err[1:], "t10k-labels-idx1-ubyte.gz", "checksum mismatch")
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")]

    write_idx(mirror / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    monkeypatch.setitem(md5s, "t10k-labels-idx1-ubyte.gz",
                        hashlib.md5((mirror / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest())
    code, out, err = run_cli(capsys, "data", "download", "mnist")
    assert code == 0, err
    assert out.splitlines() == [str(target / "t10k-labels-idx1-ubyte.gz")]   # only what was missing
    code, out, _ = run_cli(capsys, "data", "verify", "mnist")
    assert code == 0 and "FAIL" not in out
    code, out, err = run_cli(capsys, "data", "download", "mnist")          # nothing left to fetch
    assert code == 0 and out == "" and "nothing to fetch" in err[-1]
    code, out, err = run_cli(capsys, "data", "download", "digits")
    assert code == 0 and out == ""


def test_data_unknown_dataset(capsys):
    code, _, err = run_cli(capsys, "data", "verify", "mnst")
    assert_user_error(code, err, "unknown dataset 'mnst'", "did you mean 'mnist'?")


# ---------------------------------------------------------------------------- train / eval
def test_train_then_eval(capsys, tiny):
    code, out, err = run_cli(capsys, "train", tiny)
    assert code == 0, err
    run_dir = Path(out.strip().splitlines()[-1])
    assert run_dir.is_dir() and (run_dir / "config.yaml").is_file()
    code, out, _ = run_cli(capsys, "eval", run_dir, "--split", "val")
    assert code == 0 and out.startswith("val: loss ") and "(12 examples" in out and "best checkpoint" in out
    figure = run_dir.parent / "confusion.png"
    code, out, err = run_cli(capsys, "eval", run_dir, "--split", "val", "--confusion", figure)
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(figure)
    import matplotlib.image

    assert matplotlib.image.imread(figure).ndim == 3  # a PNG that decodes


def test_eval_checkpoint_and_json(capsys, tiny):
    """Issue 17 item 17: --checkpoint best|last (default best) and --json, one object on stdout."""
    import json

    code, out, err = run_cli(capsys, "train", tiny, "trainer.epochs=3", "checkpoint.monitor=train_loss")
    assert code == 0, err
    run_dir = Path(out.strip().splitlines()[-1])
    code, out, err = run_cli(capsys, "eval", run_dir, "--split", "val", "--json")
    assert code == 0 and err == []
    best = json.loads(out)
    assert set(best) == {"run_dir", "split", "loss", "acc", "num_examples", "checkpoint", "epoch"}
    assert best["checkpoint"] == "best" and best["split"] == "val" and best["num_examples"] == 12
    code, out, _ = run_cli(capsys, "eval", run_dir, "--split", "val", "--json", "--checkpoint", "last")
    last = json.loads(out)
    assert code == 0 and last["checkpoint"] == "last" and last["epoch"] == 3
    code, out, _ = run_cli(capsys, "eval", run_dir, "--checkpoint", "last", "--split", "val")
    assert code == 0 and out.startswith("val: loss ") and "last checkpoint, epoch 3" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert best["epoch"] == summary["best_epoch"]
    code, _, err = run_cli(capsys, "eval", run_dir, "--checkpoint", "first")
    assert_user_error(code, err, "--checkpoint", "first")


def test_evaluate_run_predictions_make_the_accuracy(capsys, tiny):
    from layernet.runner import evaluate_run

    code, out, err = run_cli(capsys, "train", tiny)
    assert code == 0, err
    result = evaluate_run(Path(out.strip().splitlines()[-1]), "val", predictions=True)
    assert result["y_true"].shape == result["y_pred"].shape == (12,)
    assert np.mean(result["y_true"] == result["y_pred"]) == pytest.approx(result["acc"])


def test_a_last_batch_of_one_before_batchnorm_is_one_line_naming_both_fixes(capsys, tiny):
    code, _, err = run_cli(capsys, "train", tiny, "trainer.batch_size=47")  # 48 training examples
    assert_user_error(code, err, "holds 1 example (48 training examples, batch_size 47)",
                      "layer 1 BatchNorm(8", "trainer.drop_last: true", "batch_size")
    code, out, err = run_cli(capsys, "train", tiny, "trainer.batch_size=47", "trainer.drop_last=true")
    assert code == 0, err


def test_resume_without_config_takes_the_run_directory_config_and_refuses_another(capsys, tiny, tmp_path):
    code, out, err = run_cli(capsys, "train", tiny)
    assert code == 0, err
    run_dir = Path(out.strip())
    code, out, err = run_cli(capsys, "train", "--resume", run_dir, "trainer.epochs=2")
    assert code == 0 and Path(out.strip()) == run_dir, err
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["trainer"]["epochs"] == 2
    other = tmp_path / "other.yaml"
    other.write_text(tiny.read_text().replace("lr: 1e-2", "lr: 3e-3"))
    code, _, err = run_cli(capsys, "train", other, "--resume", run_dir, "trainer.epochs=3")
    assert_user_error(code, err, f"--resume {run_dir}: {other} changes optimizer.lr from 0.01 to 0.003; "
                                 "only trainer.epochs, trainer.verbose, output.*")
    code, out, err = run_cli(capsys, "train", tiny, "--resume", run_dir, "trainer.epochs=3")
    assert code == 0, err
    code, out, _ = run_cli(capsys, "train", "--resume", run_dir, "--print-config")
    assert code == 0 and yaml.safe_load(out)["trainer"]["epochs"] == 3


def test_eval_of_a_directory_that_is_no_run(capsys, tmp_path):
    code, _, err = run_cli(capsys, "eval", tmp_path)
    assert_user_error(code, err, "not a run directory")


def test_resume_of_a_directory_that_is_no_run(capsys, tiny, tmp_path):
    code, _, err = run_cli(capsys, "train", tiny, "--resume", tmp_path)
    assert_user_error(code, err, "no checkpoints/last.npz")


def _fake_run(exc):
    def run(*args, **kwargs):
        raise exc

    return run


def test_interrupted_is_130(capsys, tiny, monkeypatch):
    import layernet.trainer

    monkeypatch.setattr(layernet.trainer, "run", _fake_run(KeyboardInterrupt()))
    code, _, err = run_cli(capsys, "train", tiny)
    assert code == 130 and err == ["layernet train: interrupted"]  # before a run directory: nothing to resume


def test_diverged_is_1(capsys, tiny, monkeypatch):
    import layernet.trainer

    diverged = layernet.trainer.TrainingDiverged("loss became nan at step 7 (epoch 1)", step=7, epoch=1)
    monkeypatch.setattr(layernet.trainer, "run", _fake_run(diverged))
    code, _, err = run_cli(capsys, "train", tiny)
    assert code == 1 and err == ["layernet train: error: loss became nan at step 7 (epoch 1)"]


def test_a_bug_keeps_its_traceback(capsys, tiny, monkeypatch):
    import layernet.trainer

    monkeypatch.setattr(layernet.trainer, "run", _fake_run(ZeroDivisionError("a bug")))
    with pytest.raises(ZeroDivisionError):
        main(["train", str(tiny)])


# ---------------------------------------------------------------------------- what train says, and where
DIGITS = """\
version: 1
name: digits
data: {dataset: digits, val_size: 60, limit: 300, normalize: scale}
model:
  layers:
    - {type: flatten}
    - {type: affine, out_features: 16}
    - {type: relu}
    - {type: affine, out_features: 10}
optimizer: {type: adam, lr: 1e-2}
trainer: {epochs: 2, batch_size: 32, verbose: epoch}
output: {dir: "runs/{name}/{timestamp}", plots: true}
"""


@pytest.fixture
def digits_config(tmp_path, monkeypatch) -> Path:
    """A two-epoch digits run with a test split and plots, in the working directory ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "digits.yaml"
    path.write_text(DIGITS)
    return Path("digits.yaml")


def _summary(run_dir: Path) -> dict:
    import json

    return json.loads((run_dir / "summary.json").read_text())


def _sigint():
    import os
    import signal

    os.kill(os.getpid(), signal.SIGINT)


def test_train_stdout_is_the_run_directory_alone_and_the_last_line_is_the_result(capsys, digits_config):
    code, out, err = run_cli(capsys, "train", digits_config)
    assert code == 0, err
    run_dir = Path(out.strip())
    assert out == f"{run_dir}\n" and run_dir.is_absolute() and (run_dir / "summary.json").is_file()
    shown = run_dir.relative_to(Path.cwd())
    err = [line for line in err if not line.startswith("compiling kernels (once)")]  # only with a cold cache
    assert err[0] == f"run directory: {shown}"
    assert err[1].startswith("epoch 1/2 ") and err[2].startswith("epoch 2/2 ") and "val_acc" in err[2]
    summary = _summary(run_dir)
    assert summary["test_checkpoint"] == "best" and summary["best_epoch"] in (1, 2)
    assert err[-1] == (f"test acc {summary['test_acc']:.4f}, loss {summary['test_loss']:.4f} "
                       f"(best checkpoint, epoch {summary['best_epoch']}); run directory {shown}")
    code, out, err = run_cli(capsys, "train", digits_config, "trainer.verbose=quiet")
    assert code == 0 and err == [] and Path(out.strip()).is_dir()


def test_ctrl_c_prints_the_command_that_resumes_and_it_works(capsys, digits_config, monkeypatch):
    from layernet.layers.affine import Affine

    original, calls = Affine.forward, []

    def forward(self, x, training=False):
        if training and self.in_features == 64:
            calls.append(1)
            if len(calls) == 12:  # step 4 of epoch 2
                _sigint()
        return original(self, x, training)

    monkeypatch.setattr(Affine, "forward", forward)
    code, out, err = run_cli(capsys, "train", digits_config, "trainer.verbose=epoch")
    assert code == 130 and out == "", (code, out, err)
    run_dir = Path(err[0].removeprefix("run directory: "))
    assert (run_dir / "checkpoints" / "last.npz").is_file() and not run_dir.is_absolute()
    assert err[-1] == f"layernet train: interrupted; continue with: layernet train digits.yaml --resume {run_dir} " \
                      "trainer.verbose=epoch"
    monkeypatch.setattr(Affine, "forward", original)
    import shlex

    command = shlex.split(err[-1].split("continue with: ", 1)[1])
    code, out, err = run_cli(capsys, *command[1:])
    assert code == 0, err
    assert Path(out.strip()) == run_dir.resolve() and _summary(run_dir)["status"] == "completed"
    assert err[0] == f"resuming {run_dir} from step 12 (1 of 2 epochs finished)"


@pytest.mark.parametrize("where", ["validation of the last epoch", "plotting"])
def test_ctrl_c_after_the_last_epoch_finishes_the_run_files_and_exits_0(capsys, digits_config, monkeypatch, where):
    import layernet.plot
    from layernet.trainer import Trainer

    if where == "plotting":
        save = layernet.plot.save_run_plots
        monkeypatch.setattr(layernet.plot, "save_run_plots", lambda run_dir: _sigint() or save(run_dir))
    else:
        evaluate, calls = Trainer.evaluate, []

        def evaluate_then_sigint(self, *args, **kwargs):
            calls.append(1)
            result = evaluate(self, *args, **kwargs)
            if len(calls) == 2:  # the validation of epoch 2
                _sigint()
            return result

        monkeypatch.setattr(Trainer, "evaluate", evaluate_then_sigint)
    code, out, err = run_cli(capsys, "train", digits_config)
    assert code == 0, err
    run_dir = Path(out.strip())
    summary = _summary(run_dir)
    assert summary["status"] == "completed" and summary["epochs_run"] == 2 and summary["test_acc"] is not None
    assert (run_dir / "loss.png").is_file() and (run_dir / "accuracy.png").is_file()
    assert "interrupt: the run had finished its last epoch; its files are complete" in err
    assert err[-1].startswith("test acc ")


def test_a_second_ctrl_c_while_writing_the_files_records_interrupted_and_resume_finishes(capsys, digits_config,
                                                                                         monkeypatch):
    import layernet.plot

    save = layernet.plot.save_run_plots

    def twice(run_dir):
        _sigint()
        _sigint()
        return save(run_dir)

    monkeypatch.setattr(layernet.plot, "save_run_plots", twice)
    code, out, err = run_cli(capsys, "train", digits_config)
    assert code == 130 and out == ""
    run_dir = Path(err[0].removeprefix("run directory: "))
    summary = _summary(run_dir)
    assert summary["status"] == "interrupted" and "--resume writes them" in summary["stop_reason"]
    assert not (run_dir / "loss.png").exists()
    assert err[-1] == f"layernet train: interrupted; continue with: layernet train digits.yaml --resume {run_dir}"
    monkeypatch.setattr(layernet.plot, "save_run_plots", save)
    code, out, err = run_cli(capsys, "train", "digits.yaml", "--resume", run_dir)
    assert code == 0, err
    assert _summary(run_dir)["status"] == "completed" and (run_dir / "loss.png").is_file()


# ---------------------------------------------------------------------------- the installed command
def _layernet() -> str:
    script = Path(sys.executable).parent / "layernet"
    if not script.exists():
        pytest.skip("the layernet console script is not installed in this environment")
    return str(script)


def test_installed_command_bad_config_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(TINY).replace("type: tanh", "type: tahn"))
    done = subprocess.run([_layernet(), "train", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"layernet train: error: {path}:8: model.layers[2].type: expected a layer type, found 'tahn' "
        f"(did you mean 'tanh'?); known: " + done.stderr.split("known: ", 1)[1].strip()
    ]
    assert done.stdout == ""


def test_installed_command_stdout_is_the_run_directory_and_a_cold_cache_says_compiling(tmp_path):
    """``RUN=$(layernet train cfg)``: stdout is one line, the run directory; everything else is on
    stderr, and a cold kernel cache (a fresh install) says so once, a warm one does not."""
    import os

    path = tmp_path / "tiny.yaml"
    path.write_text(TINY.replace("OUT", str(tmp_path / "runs")).replace("verbose: quiet", "verbose: epoch"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    for attempt in ("cold", "warm"):
        done = subprocess.run([_layernet(), "train", str(path)], capture_output=True, text=True, timeout=300,
                              env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.splitlines()) == 1 and Path(done.stdout.strip()).is_dir(), done.stdout
        assert "epoch 1/1 " in done.stderr and done.stderr.count("compiling kernels (once)") == (attempt == "cold"), \
            (attempt, done.stderr)
        if attempt == "cold":
            assert done.stderr.index("compiling kernels") < done.stderr.index("epoch 1/1")


def test_installed_command_diverging_run_says_one_line_without_numpy_warnings(tmp_path):
    path = tmp_path / "diverge.yaml"
    path.write_text(DIGITS.replace("runs/", f"{tmp_path}/runs/").replace("{type: adam, lr: 1e-2}", "{type: sgd, lr: 1e10}")
                    .replace("{type: relu}", "{type: batchnorm}\n    - {type: relu}").replace("verbose: epoch", "verbose: quiet"))
    done = subprocess.run([_layernet(), "train", str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("layernet train: error: loss became nan at step "), done.stderr


def test_installed_command_usage_error(tmp_path):
    done = subprocess.run([_layernet(), "summary"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
