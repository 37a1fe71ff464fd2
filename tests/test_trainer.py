"""Trainer: fit/evaluate, history and its files, checkpoints, resume, interrupts, divergence, early stopping."""

import math
import os
import signal

import numpy as np
import pytest

from layernet import metrics
from layernet.checkpoint import load_checkpoint
from layernet.data import load_dataset
from layernet.model import Sequential
from layernet.registry import LOSSES, OPTIMIZERS, SCHEDULES
from layernet.trainer import CheckpointError, Trainer, TrainingDiverged

LAYERS = [
    {"type": "flatten"},
    {"type": "affine", "out_features": 16},
    {"type": "batchnorm"},
    {"type": "relu"},
    {"type": "dropout", "p": 0.2},
    {"type": "affine", "out_features": 10},
]
BATCH = 32


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", val_size=60, limit=250, normalize="scale")


def make_trainer(ds, tmp_path=None, layers=LAYERS, epochs=3, lr=0.01, **kwargs):
    model = Sequential.from_config({"layers": layers}, input_shape=ds.input_shape, rng=0)
    kwargs.setdefault("schedule", SCHEDULES.get("step")(base_lr=lr, epochs=epochs, step_size=1, gamma=0.7))
    if tmp_path is not None:
        kwargs.setdefault("checkpoint_dir", tmp_path / "checkpoints")
        kwargs.setdefault("history_dir", tmp_path)
    return Trainer(model, LOSSES.get("softmax_cross_entropy")(), OPTIMIZERS.get("adam")(lr=lr),
                   kwargs.pop("schedule"), batch_size=BATCH, epochs=epochs, seed=1, verbose="quiet", **kwargs)


def fit(trainer, ds):
    return trainer.fit(ds.x_train, ds.y_train, ds.x_val, ds.y_val)


def without_time(rows):
    return [{k: v for k, v in row.items() if k != "time_s"} for row in rows]


def assert_same_training(a: Trainer, b: Trainer):
    assert without_time(a.history.rows) == without_time(b.history.rows)
    assert a.history.steps == b.history.steps
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)
    oa, ob = a.optimizer.state_dict(), b.optimizer.state_dict()
    for key in oa:
        np.testing.assert_array_equal(oa[key], ob[key], err_msg=key)


class FaultAt:
    """Wrap a layer's forward to do something (raise, send SIGINT, return NaN) at training step ``k``."""

    def __init__(self, layer, k, action):
        self.layer, self.k, self.action, self.calls = layer, k, action, 0
        self.original = layer.forward

    def __call__(self, x, training=False):
        if training:
            self.calls += 1
            if self.calls == self.k:
                return self.action(self.original(x, training))
        return self.original(x, training)


def inject(trainer, k, action, index=1):
    layer = trainer.model.layers[index]
    layer.forward = FaultAt(layer, k, action)


# ---------------------------------------------------------------------- fit and evaluate
def test_fit_history_and_evaluate(digits, tmp_path):
    trainer = make_trainer(digits, tmp_path, epochs=2)
    history = fit(trainer, digits)
    steps_per_epoch = math.ceil(len(digits.y_train) / BATCH)
    assert history["epoch"] == [1, 2]
    assert len(history.steps) == trainer.step == 2 * steps_per_epoch
    assert [s for s, _, _ in history.steps] == list(range(1, trainer.step + 1))
    assert history["lr"] == [0.01, 0.01 * 0.7]
    assert trainer.stop_reason == "completed"
    # train_loss is the example-weighted mean of the epoch's step losses
    sizes = [BATCH] * (steps_per_epoch - 1) + [len(digits.y_train) - BATCH * (steps_per_epoch - 1)]
    losses = [loss for _, e, loss in history.steps if e == 1]
    assert history["train_loss"][0] == pytest.approx(np.dot(losses, sizes) / sum(sizes), rel=1e-12)
    # val metrics are evaluate() on the final weights of the epoch
    result = trainer.evaluate(digits.x_val, digits.y_val)
    assert result["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert result["acc"] == history["val_acc"][-1]
    scores = trainer.model.predict(digits.x_val)
    assert result["acc"] == metrics.accuracy(scores, digits.y_val)
    assert trainer.evaluate(digits.x_val, digits.y_val, batch_size=7)["acc"] == result["acc"]
    assert history.as_dict()["step_loss"] == history.step_losses


def test_history_files_match_memory(digits, tmp_path):
    trainer = make_trainer(digits, tmp_path, epochs=2)
    history = fit(trainer, digits)
    rows = metrics.read_csv(tmp_path / "history.csv")
    assert without_time(rows) == without_time(history.rows)  # bit-exact through repr
    assert (tmp_path / "history.csv").read_text().splitlines()[0] == ",".join(metrics.HISTORY_COLUMNS)
    steps = metrics.read_csv(tmp_path / "steps.csv")
    assert [(r["step"], r["epoch"], r["loss"]) for r in steps] == history.steps
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.npz")
    assert without_time(ckpt.history.rows) == without_time(history.rows)
    assert ckpt.trainer["epoch"] == 2 and ckpt.partial is None


def test_same_seed_same_history_and_params(digits):
    a, b = make_trainer(digits, epochs=2), make_trainer(digits, epochs=2)
    fit(a, digits), fit(b, digits)
    assert_same_training(a, b)


def test_best_checkpoint_holds_best_epoch(digits, tmp_path):
    trainer = make_trainer(digits, tmp_path, epochs=3, monitor="val_loss")
    history = fit(trainer, digits)
    best_epoch = int(np.argmin(history["val_loss"])) + 1
    best = load_checkpoint(tmp_path / "checkpoints" / "best.npz")
    assert trainer.best_epoch == best.trainer["epoch"] == best_epoch
    assert trainer.best_value == min(history["val_loss"])


def test_no_validation_monitors_train_metric(digits):
    trainer = make_trainer(digits, epochs=1)
    with pytest.warns(UserWarning, match="train_acc"):
        history = trainer.fit(digits.x_train, digits.y_train)
    assert math.isnan(history["val_loss"][0]) and trainer.best_epoch == 1


def test_mse_loss_gets_one_hot_targets(digits):
    model = Sequential.from_config({"layers": LAYERS}, input_shape=digits.input_shape, rng=0)
    trainer = Trainer(model, LOSSES.get("mse")(), OPTIMIZERS.get("sgd")(lr=0.1), epochs=1, verbose="quiet")
    history = fit(trainer, digits)
    assert np.isfinite(history["train_loss"][0]) and 0 <= history["val_acc"][0] <= 1


# ---------------------------------------------------------------------- resume
def test_resume_equals_uninterrupted(digits, tmp_path):
    full = make_trainer(digits, tmp_path / "full", epochs=4)
    fit(full, digits)
    first = make_trainer(digits, tmp_path / "split", epochs=4)
    first.epochs = 2  # stop after two epochs, as if the process ended there
    fit(first, digits)
    second = make_trainer(digits, tmp_path / "split", epochs=4).restore(tmp_path / "split/checkpoints/last.npz")
    assert second.epoch == 2
    fit(second, digits)
    assert_same_training(full, second)
    assert without_time(metrics.read_csv(tmp_path / "full/history.csv")) == \
        without_time(metrics.read_csv(tmp_path / "split/history.csv"))
    assert metrics.read_csv(tmp_path / "full/steps.csv") == metrics.read_csv(tmp_path / "split/steps.csv")


def test_sigint_mid_epoch_checkpoints_the_finished_step_and_resumes(digits, tmp_path):
    steps_per_epoch = math.ceil(len(digits.y_train) / BATCH)
    full = make_trainer(digits, epochs=3)
    fit(full, digits)
    k = steps_per_epoch + 3  # the 3rd step of epoch 2

    def sigint(out):
        os.kill(os.getpid(), signal.SIGINT)  # the handler only sets a flag: this step completes
        return out

    trainer = make_trainer(digits, tmp_path, epochs=3)
    inject(trainer, k, sigint)
    with pytest.raises(KeyboardInterrupt):
        fit(trainer, digits)
    assert trainer.stop_reason == "interrupted"
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == 1 and ckpt.trainer["step"] == k
    assert ckpt.partial["pos"] == 3
    assert len(metrics.read_csv(tmp_path / "history.csv")) == 1
    assert len(metrics.read_csv(tmp_path / "steps.csv")) == k
    resumed = make_trainer(digits, tmp_path, epochs=3).restore(tmp_path / "checkpoints" / "last.npz")
    fit(resumed, digits)
    assert_same_training(full, resumed)
    assert len(metrics.read_csv(tmp_path / "steps.csv")) == 3 * steps_per_epoch


def test_keyboard_interrupt_inside_a_step_keeps_the_epoch_checkpoint(digits, tmp_path):
    steps_per_epoch = math.ceil(len(digits.y_train) / BATCH)
    full = make_trainer(digits, epochs=3)
    fit(full, digits)

    def interrupt(out):
        raise KeyboardInterrupt

    trainer = make_trainer(digits, tmp_path, epochs=3)
    inject(trainer, steps_per_epoch + 2, interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(trainer, digits)
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == 1 and ckpt.partial is None
    assert len(metrics.read_csv(tmp_path / "steps.csv")) == steps_per_epoch + 1  # the steps done, flushed
    resumed = make_trainer(digits, tmp_path, epochs=3).restore(tmp_path / "checkpoints" / "last.npz")
    fit(resumed, digits)
    assert_same_training(full, resumed)


def test_mismatching_model_is_refused_naming_the_parameter(digits, tmp_path):
    fit(make_trainer(digits, tmp_path, epochs=1), digits)
    wider = [dict(layer, out_features=24) if layer.get("out_features") == 16 else layer for layer in LAYERS]
    other = make_trainer(digits, epochs=1, layers=wider)
    with pytest.raises(ValueError, match=r"1\.W.*\(64, 24\).*\(64, 16\)"):
        other.restore(tmp_path / "checkpoints" / "last.npz")


# ---------------------------------------------------------------------- stopping
def test_nan_loss_stops_naming_the_step_and_keeps_last_good_checkpoint(digits, tmp_path):
    steps_per_epoch = math.ceil(len(digits.y_train) / BATCH)
    trainer = make_trainer(digits, tmp_path, epochs=3)
    k = steps_per_epoch + 2
    inject(trainer, k, lambda out: out * np.nan)
    with pytest.raises(TrainingDiverged, match=rf"loss became nan at step {k} \(epoch 2\)") as info:
        fit(trainer, digits)
    assert (info.value.step, info.value.epoch) == (k, 2)
    assert trainer.stop_reason == "nan"
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == 1
    assert all(np.isfinite(v).all() for v in ckpt.model_state.values())
    assert len(metrics.read_csv(tmp_path / "history.csv")) == 1


def test_huge_learning_rate_diverges(digits, tmp_path):
    layers = [{"type": "flatten"}, {"type": "affine", "out_features": 16}, {"type": "relu"},
              {"type": "affine", "out_features": 10}]
    model = Sequential.from_config({"layers": layers}, input_shape=digits.input_shape, rng=0)
    trainer = Trainer(model, LOSSES.get("softmax_cross_entropy")(), OPTIMIZERS.get("sgd")(lr=1e20),
                      epochs=3, verbose="quiet", checkpoint_dir=tmp_path)
    with pytest.raises(TrainingDiverged, match="became"), np.errstate(all="ignore"):
        fit(trainer, digits)
    assert not (tmp_path / "last.npz").exists()  # never a checkpoint of diverged parameters


def test_early_stopping(digits, tmp_path):
    es = {"monitor": "val_loss", "patience": 1, "min_delta": 10.0}  # nothing improves by 10
    trainer = make_trainer(digits, tmp_path, epochs=5, early_stopping=es)
    history = fit(trainer, digits)
    assert len(history) == 2 and trainer.stop_reason == "early_stopping"
    assert load_checkpoint(tmp_path / "checkpoints" / "last.npz").trainer["epoch"] == 2


def test_early_stopping_on_val_needs_validation(digits):
    trainer = make_trainer(digits, epochs=1, early_stopping={"monitor": "val_acc", "patience": 2})
    with pytest.raises(ValueError, match="needs validation data"):
        trainer.fit(digits.x_train, digits.y_train)


def test_failed_checkpoint_write_is_clear_and_keeps_previous(digits, tmp_path, monkeypatch):
    trainer = make_trainer(digits, tmp_path, epochs=2, keep_best=False)
    trainer.epochs = 1
    fit(trainer, digits)
    before = (tmp_path / "checkpoints" / "last.npz").read_bytes()

    replace = os.replace

    def full_disk(src, dst):
        if str(dst).endswith(".npz"):
            raise OSError(28, "No space left on device")
        replace(src, dst)

    monkeypatch.setattr("layernet._io.os.replace", full_disk)
    trainer.epochs = 2
    with pytest.raises(CheckpointError, match="No space left on device"):
        fit(trainer, digits)
    assert (tmp_path / "checkpoints" / "last.npz").read_bytes() == before


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"epochs": -1}, {"verbose": "loud"},
                                 {"early_stopping": {"monitor": "val_loss", "patience": 0}},
                                 {"early_stopping": {"monitr": "val_loss"}}])
def test_bad_arguments(digits, bad):
    with pytest.raises(ValueError):
        model = Sequential.from_config({"layers": LAYERS}, input_shape=digits.input_shape, rng=0)
        Trainer(model, LOSSES.get("softmax_cross_entropy")(), OPTIMIZERS.get("sgd")(lr=0.1), **bad)


# ---------------------------------------------------------------------- checkpoint files
@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_bad_checkpoint_files_give_one_line_errors(digits, tmp_path, content):
    path = tmp_path / "last.npz"
    if content is None:  # a truncated real checkpoint
        trainer = make_trainer(digits, tmp_path, epochs=1)
        fit(trainer, digits)
        data = (tmp_path / "checkpoints" / "last.npz").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match="last.npz") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_model_file_is_not_a_checkpoint(digits, tmp_path):
    model = Sequential.from_config({"layers": LAYERS}, input_shape=digits.input_shape, rng=0)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="not a layernet training checkpoint"):
        load_checkpoint(tmp_path / "model.npz")


# ---------------------------------------------------------------------------- the last batch (drop_last)
def test_a_last_batch_of_one_before_batchnorm_is_refused_before_the_first_step(digits, tmp_path):
    x, y = digits.x_train[:65], digits.y_train[:65]
    trainer = make_trainer(digits, tmp_path, epochs=1)
    trainer.batch_size = 64
    with pytest.raises(ValueError) as info:
        trainer.fit(x, y, digits.x_val, digits.y_val)
    message = str(info.value)
    assert "\n" not in message and "last batch of each epoch holds 1 example (65 training examples, batch_size 64)" \
        in message, message
    assert "layer 2 BatchNorm(16" in message and "drop_last" in message and "batch_size (e.g. 63)" in message
    assert trainer.step == 0 and not (tmp_path / "checkpoints" / "last.npz").exists()


def test_drop_last_leaves_out_the_short_last_batch(digits):
    x, y = digits.x_train[:65], digits.y_train[:65]
    dropping = make_trainer(digits, epochs=2, drop_last=True)
    dropping.batch_size = 16
    dropping.fit(x, y, digits.x_val, digits.y_val)
    assert dropping.step == 2 * 4 and [s[0] for s in dropping.history.steps][-1] == 8  # 65 // 16 full batches
    keeping = make_trainer(digits, epochs=2)
    keeping.batch_size = 16
    with pytest.raises(ValueError, match="holds 1 example"):
        keeping.fit(x, y, digits.x_val, digits.y_val)
    keeping.batch_size = 13  # 65 = 5 * 13: no short batch
    keeping.fit(x, y, digits.x_val, digits.y_val)
    assert keeping.step == 2 * 5


def test_drop_last_must_be_a_bool(digits):
    with pytest.raises(ValueError, match="drop_last must be True or False, found 'yes'"):
        make_trainer(digits, drop_last="yes")


def test_batchnorm_asks_for_two_examples_only_without_spatial_values():
    from layernet.layers import BatchNorm, Conv2d, Residual, ReLU

    assert BatchNorm(4).min_train_batch((4,)) == 2
    assert BatchNorm(4).min_train_batch((4, 1, 1)) == 2
    assert BatchNorm(4).min_train_batch((4, 3, 3)) == 1
    assert Residual(Conv2d(4, 4, 1, rng=0), BatchNorm(4), ReLU()).min_train_batch((4, 1, 1)) == 2
    assert Sequential.from_config({"layers": LAYERS}, input_shape=(1, 8, 8), rng=0).min_train_batch((1, 8, 8)) == (2, 2)


def test_a_diverging_run_stops_with_its_own_message_and_no_numpy_warnings(digits, tmp_path):
    import warnings

    before = np.geterr()
    trainer = make_trainer(digits, tmp_path, lr=1e10, schedule=None)
    trainer.optimizer = OPTIMIZERS.get("sgd")(lr=1e10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(TrainingDiverged, match=r"became (nan|inf) at step \d+ \(epoch 1\)"):
            fit(trainer, digits)
        with np.errstate(over="warn"):
            np.float32(3e38) * np.float32(10)  # outside fit numpy warns as before: nothing was silenced globally
    assert [str(w.message) for w in caught] == ["overflow encountered in scalar multiply"]
    assert np.geterr() == before
