"""Sequences end to end: the text data set, images row by row, gradient clipping, per-step
accuracy, training from configs, ``layernet gradcheck`` on an Embedding model and ``layernet sample``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import require_torch

from layernet.cli import main
from layernet.data import load_dataset
from layernet.layers import LSTM, Affine
from layernet.losses import SoftmaxCrossEntropy
from layernet.model import Sequential
from layernet.optim import SGD, clip_grad_norm
from layernet.trainer import Trainer, run

ROOT = Path(__file__).resolve().parents[1]
TEXT = "hello world, hello sequences. " * 12  # 360 characters, 15 distinct

CHAR = """\
version: 1
name: char
seed: 0
data: {dataset: text, path: PATH, seq_len: 8, val_size: 5}
model:
  layers:
    - {type: embedding, embedding_dim: 6}
    - {type: lstm, hidden_size: 12}
    - {type: temporal_affine}
  loss: temporal_softmax_cross_entropy
optimizer: {type: adam, lr: 1e-2}
trainer: {epochs: 3, batch_size: 8, verbose: quiet, clip_grad_norm: 1.0}
output: {dir: "OUT/{name}/{timestamp}", plots: false}
"""


@pytest.fixture
def text_file(tmp_path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture
def char_config(tmp_path, text_file) -> Path:
    path = tmp_path / "char.yaml"
    path.write_text(CHAR.replace("PATH", str(text_file)).replace("OUT", str(tmp_path / "runs")))
    return path


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def assert_user_error(code, err, *fragments):
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("layernet") and "Traceback" not in err[0]
    for fragment in fragments:
        assert fragment in err[0], err[0]


# ------------------------------------------------------------------------------ text data
def test_text_windows_and_tail_validation(text_file):
    ds = load_dataset("text", path=str(text_file), seq_len=8, val_size=5)
    vocabulary = sorted(set(TEXT))
    assert ds.vocabulary == vocabulary and ds.num_classes == len(vocabulary) == 15
    ids = np.array([vocabulary.index(c) for c in TEXT])
    n = (len(TEXT) - 1) // 8                                       # 44 windows
    assert len(ds.x_train) + len(ds.x_val) == n and len(ds.x_val) == 5
    assert ds.x_train.dtype == ds.y_train.dtype == np.int64 and ds.x_train.shape == (n - 5, 8)
    np.testing.assert_array_equal(ds.x_train[3], ids[24:32])
    np.testing.assert_array_equal(ds.y_train[3], ids[25:33])      # the next character at every step
    np.testing.assert_array_equal(ds.x_val[0], ids[(n - 5) * 8:(n - 4) * 8])   # the tail, in order
    np.testing.assert_array_equal(ds.x_val[-1], ids[(n - 1) * 8:n * 8])
    assert ds.label_shape == (8,) and ds.input_shape == (8,) and ds.x_test is None


@pytest.mark.parametrize("content, message", [
    ("", "expected a UTF-8 text file with some text, found an empty file"),
    ("abcdefgh", "expected at least seq_len + 1 = 9 characters (one window and its next character), found 8"),
    (b"ab\xffcdefghijk", "expected UTF-8 text, found bytes that are not UTF-8 (at byte 2)"),
])
def test_bad_text_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ValueError, match=r"bad\.txt: ") as info:
        load_dataset("text", path=str(path), seq_len=8)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_text_refuses_normalisation(text_file):
    with pytest.raises(ValueError, match="text: expected normalize: none"):
        load_dataset("text", path=str(text_file), seq_len=8, normalize="standard")


# ------------------------------------------------------------------------------ rows
def test_images_as_row_sequences_after_normalisation():
    images = load_dataset("digits", normalize="standard")
    rows = load_dataset("digits", normalize="standard", sequence="rows")
    assert rows.x_train.shape == (len(images.x_train), 8, 8) and rows.input_shape == (8, 8)
    np.testing.assert_array_equal(rows.x_train, images.x_train[:, 0])
    np.testing.assert_array_equal(rows.x_test, images.x_test[:, 0])
    with pytest.raises(ValueError, match="sequence: rows expects images"):
        load_dataset("spiral", sequence="rows")


# ------------------------------------------------------------------------------ clipping
def test_clip_grad_norm_equals_pytorch(rng):
    torch = require_torch()
    model = Sequential([LSTM(3, 4, rng=0), Affine(12, 2, rng=1)])
    grads = []
    for _, _, grad in model.parameters():
        grad[...] = rng.standard_normal(grad.shape)
        grads.append(torch.tensor(grad.astype(np.float64)))
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    expected = float(torch.nn.utils.clip_grad_norm_(params, 0.5))
    assert clip_grad_norm(model, 0.5) == pytest.approx(expected, rel=1e-6)
    for (_, _, grad), p in zip(model.parameters(), params):
        np.testing.assert_allclose(grad, p.grad.numpy(), rtol=1e-5)
    assert clip_grad_norm(model, 100.0) == pytest.approx(0.5, rel=1e-5)  # below max_norm: unchanged
    with pytest.raises(ValueError, match="`max_norm`"):
        clip_grad_norm(model, 0)


def test_trainer_clips_before_each_step(rng):
    """With a tiny max norm, one SGD step moves the parameters by exactly lr * max_norm in total."""
    model = Sequential([Affine(4, 3, rng=0)])
    before = np.concatenate([p.ravel() for _, p, _ in model.parameters()]).astype(np.float64)
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(lr=0.1), batch_size=8, epochs=1, verbose="quiet",
                      monitor="train_acc", clip_grad_norm=1e-3)
    trainer.fit(rng.standard_normal((8, 4)).astype(np.float32), rng.integers(0, 3, 8))
    after = np.concatenate([p.ravel() for _, p, _ in model.parameters()]).astype(np.float64)
    assert np.linalg.norm(after - before) == pytest.approx(0.1 * 1e-3, rel=1e-3)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        Trainer(model, None, SGD(lr=0.1), clip_grad_norm=-1)


# ------------------------------------------------------------------------------ runs
def test_character_model_trains_saves_its_vocabulary_and_samples(char_config, capsys):
    run_dir = run(char_config)
    assert json.loads((run_dir / "vocabulary.json").read_text(encoding="utf-8")) == sorted(set(TEXT))
    history = (run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 4
    acc = [float(line.split(",")[2]) for line in history[1:]]
    assert all(0 <= a <= 1 for a in acc)
    saved = (run_dir / "config.yaml").read_text()
    assert "num_embeddings: 15" in saved and "out_features: 15" in saved
    code, out, err = run_cli(capsys, "sample", run_dir, "--length", "40", "--prime", "hello ", "--temperature",
                             "0.8", "--seed", "3")
    assert code == 0, err
    text = out.rstrip("\n")
    assert text.startswith("hello ") and len(text) == 46 and set(text) <= set(TEXT)
    assert run_cli(capsys, "sample", run_dir, "--length", "40", "--prime", "hello ", "--temperature", "0.8",
                   "--seed", "3")[1] == out                                # same seed, same text
    assert run_cli(capsys, "sample", run_dir, "--length", "40", "--seed", "4")[1] != out


def test_sample_errors_are_one_line(char_config, capsys, tmp_path):
    run_dir = run(char_config)
    code, _, err = run_cli(capsys, "sample", run_dir, "--prime", "HELLO")
    assert_user_error(code, err, "--prime 'HELLO'", "found 'H', which is not in it")
    code, _, err = run_cli(capsys, "sample", run_dir, "--temperature", "0")
    assert code == 2 and "expected a number > 0" in err[-1]
    (run_dir / "vocabulary.json").unlink()
    code, _, err = run_cli(capsys, "sample", run_dir)
    assert_user_error(code, err, str(run_dir), "expected a character model's run directory", "vocabulary.json")


def test_train_on_a_bad_text_file_exits_2(char_config, capsys, text_file):
    text_file.write_text("short", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", char_config)
    assert_user_error(code, err, "corpus.txt: expected at least seq_len + 1 = 9 characters")
    text_file.write_text("", encoding="utf-8")
    code, _, err = run_cli(capsys, "train", char_config)
    assert_user_error(code, err, "corpus.txt: expected a UTF-8 text file with some text, found an empty file")


def test_gradcheck_on_an_embedding_model(char_config, capsys):
    code, out, err = run_cli(capsys, "gradcheck", char_config, "--batch-size", "2", "data.seq_len=4")
    assert code == 0, (out, err)
    rows = [line.split() for line in out.splitlines()]
    embedding_rows = [row[2] for row in rows if row[:2] == ["0", "embedding"]]
    assert embedding_rows == ["W"]  # the table only: indices have no gradient
    assert any(row[:2] == ["model", "2.W"] for row in rows)


def test_summary_of_a_character_model(char_config, capsys):
    code, out, _ = run_cli(capsys, "summary", char_config)
    assert code == 0
    assert "Embedding(15, 6)" in out and "LSTM(6, 12" in out and "TemporalAffine(12, 15)" in out
    assert "(None, 8, 15)" in out


def test_digits_rnn_config_reaches_90_percent(tmp_path):
    run_dir = run(ROOT / "configs" / "digits_rnn.yaml",
                  overrides=[f"output.dir={tmp_path}/{{name}}", "output.plots=false", "trainer.verbose=quiet"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["test_acc"] >= 0.90, summary["test_acc"]


def test_save_and_load_a_character_model(tmp_path, rng):
    from layernet.layers import Embedding, TemporalAffine

    model = Sequential([Embedding(9, 4, rng=0), LSTM(4, 5, rng=1), TemporalAffine(5, 9, rng=2)])
    model.save(tmp_path / "char.npz")
    loaded = Sequential.load(tmp_path / "char.npz")
    x = rng.integers(0, 9, size=(2, 6))
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    assert repr(loaded) == repr(model)


@pytest.mark.parametrize("layers, fragment", [
    ("- {type: rnn, hidden_size: 8}", "expected input of shape (N, T, 8), found (None, 1, 8, 8) (images? "
                                      "data.sequence: rows reads them row by row)"),
    ("- {type: embedding, embedding_dim: 4}", "expected num_embeddings (the vocabulary size); it is inferred only "
                                              "for a text data set"),
])
def test_config_errors_name_the_file_and_line(tmp_path, capsys, layers, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(f"""version: 1
name: bad
data: {{dataset: digits}}
model:
  layers:
    {layers}
    - {{type: affine, out_features: 10}}
optimizer: {{type: sgd, lr: 0.1}}
output: {{dir: "{tmp_path}/runs/{{name}}"}}
""")
    code, _, err = run_cli(capsys, "train", path)
    assert_user_error(code, err, "bad.yaml:6: model.layers[0]", fragment)
