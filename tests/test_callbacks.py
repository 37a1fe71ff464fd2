"""Callbacks: hooks in order with their logs, stop_training, errors inside hooks, resume with
early stopping, TensorBoard event files, LivePlot, named metrics."""

import math
import struct
import sys

import numpy as np
import pytest

from layernet import metrics
from layernet.callbacks import Callback, EarlyStopping, LivePlot, TensorBoard
from layernet.checkpoint import load_checkpoint
from layernet.data import load_dataset
from layernet.errors import CallbackError
from layernet.model import Sequential
from layernet.registry import LOSSES, OPTIMIZERS, SCHEDULES
from layernet.trainer import Trainer

LAYERS = [{"type": "flatten"}, {"type": "affine", "out_features": 16}, {"type": "relu"},
          {"type": "affine", "out_features": 10}]
BATCH = 50


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", val_size=60, limit=250, normalize="scale")


def make_trainer(ds, tmp_path=None, epochs=3, **kwargs):
    model = Sequential.from_config({"layers": LAYERS}, input_shape=ds.input_shape, rng=0)
    schedule = SCHEDULES.get("step")(base_lr=0.01, epochs=epochs, step_size=1, gamma=0.7)
    if tmp_path is not None:
        kwargs.setdefault("checkpoint_dir", tmp_path / "checkpoints")
        kwargs.setdefault("history_dir", tmp_path)
    return Trainer(model, LOSSES.get("softmax_cross_entropy")(), OPTIMIZERS.get("adam")(lr=0.01), schedule,
                   batch_size=BATCH, epochs=epochs, seed=1, verbose="quiet", **kwargs)


def fit(trainer, ds, **kwargs):
    return trainer.fit(ds.x_train, ds.y_train, ds.x_val, ds.y_val, **kwargs)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append(("on_train_begin", None, dict(logs)))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("on_epoch_begin", epoch, dict(logs)))

    def on_batch_end(self, step, logs=None):
        self.calls.append(("on_batch_end", step, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("on_epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("on_train_end", None, dict(logs)))


def test_hooks_fire_in_order_with_the_documented_logs(digits, tmp_path):
    recorder = Recorder()
    trainer = make_trainer(digits, tmp_path, epochs=2, callbacks=[recorder])
    history = fit(trainer, digits)
    steps_per_epoch = math.ceil(len(digits.y_train) / BATCH)
    expected = ["on_train_begin"]
    for _ in range(2):
        expected += ["on_epoch_begin"] + ["on_batch_end"] * steps_per_epoch + ["on_epoch_end"]
    assert [name for name, _, _ in recorder.calls] == expected + ["on_train_end"]
    batches = [(step, logs) for name, step, logs in recorder.calls if name == "on_batch_end"]
    assert [step for step, _ in batches] == list(range(1, 2 * steps_per_epoch + 1))
    assert [logs["loss"] for _, logs in batches] == history.step_losses
    assert all(set(logs) >= {"loss", "acc", "lr"} and 0 <= logs["acc"] <= 1 for _, logs in batches)
    assert [logs["lr"] for _, logs in batches] == [row["lr"] for row in history.rows for _ in range(steps_per_epoch)]
    ends = [(epoch, logs) for name, epoch, logs in recorder.calls if name == "on_epoch_end"]
    assert [epoch for epoch, _ in ends] == [1, 2] and [logs for _, logs in ends] == history.rows
    assert recorder.calls[-1][2]["stop_reason"] == "completed"
    assert recorder.trainer is trainer


def test_fit_callbacks_join_the_trainers_own(digits):
    own, extra = Recorder(), Recorder()
    trainer = make_trainer(digits, epochs=1, callbacks=[own])
    fit(trainer, digits, callbacks=[extra])
    assert own.calls and [c[0] for c in own.calls] == [c[0] for c in extra.calls]


class StopAfter(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.trainer.stop_training = True


def test_a_callback_stops_training_and_the_last_checkpoint_holds_that_epoch(digits, tmp_path):
    trainer = make_trainer(digits, tmp_path, epochs=5, callbacks=[StopAfter(2)])
    history = fit(trainer, digits)
    assert len(history) == 2 and trainer.stop_reason == "stopped"
    assert load_checkpoint(tmp_path / "checkpoints" / "last.npz").trainer["epoch"] == 2
    assert len(metrics.read_csv(tmp_path / "history.csv")) == 2


class FailAt(Callback):
    def __init__(self, hook, when):
        self.hook, self.when = hook, when

    def on_batch_end(self, step, logs=None):
        if self.hook == "on_batch_end" and step == self.when:
            raise RuntimeError("boom")

    def on_epoch_end(self, epoch, logs=None):
        if self.hook == "on_epoch_end" and epoch == self.when:
            raise KeyError("missing")


@pytest.mark.parametrize("hook, when, epochs_done", [("on_batch_end", 7, 1), ("on_epoch_end", 2, 1)])
def test_a_callback_raising_stops_naming_callback_and_hook_and_keeps_a_consistent_checkpoint(
        digits, tmp_path, hook, when, epochs_done):
    trainer = make_trainer(digits, tmp_path, epochs=4, callbacks=[FailAt(hook, when)])
    with pytest.raises(CallbackError) as info:
        fit(trainer, digits)
    message = str(info.value)
    assert "\n" not in message and "FailAt" in message and hook in message
    assert trainer.stop_reason == "error"
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.npz")
    assert ckpt.trainer["epoch"] == epochs_done and ckpt.partial is None
    assert len(metrics.read_csv(tmp_path / "history.csv")) == epochs_done
    # the run resumes from there
    again = make_trainer(digits, tmp_path, epochs=4).restore(tmp_path / "checkpoints" / "last.npz")
    assert len(fit(again, digits)) == 4


class WaitLog(Callback):
    """Early stopping's counter after each epoch (callbacks run after EarlyStopping)."""

    def __init__(self):
        self.waits = []

    def on_epoch_end(self, epoch, logs=None):
        self.waits.append(self.trainer.early_stopping.wait)


def test_resume_with_early_stopping_equals_the_uninterrupted_run(digits, tmp_path):
    es = {"monitor": "val_loss", "patience": 3, "min_delta": 0.05}
    waits = WaitLog()
    full = make_trainer(digits, tmp_path / "full", epochs=15, early_stopping=es, callbacks=[waits])
    fit(full, digits)
    assert full.stop_reason == "early_stopping" and len(full.history) < 15
    # stop one epoch before early stopping did: its counter is at patience - 1, so a resume that
    # lost it would train on
    stop = len(full.history) - 1
    assert waits.waits[stop - 1] == 2
    part = make_trainer(digits, tmp_path / "part", epochs=15, early_stopping=es, callbacks=[StopAfter(stop)])
    fit(part, digits)
    ckpt = load_checkpoint(tmp_path / "part" / "checkpoints" / "last.npz")
    assert ckpt.callbacks["early_stopping"]["wait"] == part.early_stopping.wait > 0
    resumed = make_trainer(digits, tmp_path / "part", epochs=15, early_stopping=es)
    resumed.restore(tmp_path / "part" / "checkpoints" / "last.npz")
    fit(resumed, digits)
    assert resumed.stop_reason == "early_stopping"
    drop = lambda rows: [{k: v for k, v in r.items() if k != "time_s"} for r in rows]  # noqa: E731
    assert drop(resumed.history.rows) == drop(full.history.rows)
    assert resumed.history.steps == full.history.steps
    assert (resumed.early_stopping.best, resumed.early_stopping.wait) == (full.early_stopping.best, full.early_stopping.wait)
    assert (resumed.best_epoch, resumed.best_value) == (full.best_epoch, full.best_value)


def test_early_stopping_is_importable_from_its_old_place():
    from layernet.early_stopping import EarlyStopping as Old

    assert Old is EarlyStopping


def test_callbacks_must_be_callbacks(digits):
    with pytest.raises(TypeError, match="Callback"):
        make_trainer(digits, callbacks=[lambda: None])


# ---------------------------------------------------------------------- named metrics
def test_named_metrics_add_history_columns_and_evaluate_keys(digits, tmp_path):
    trainer = make_trainer(digits, tmp_path, epochs=2, metrics=["accuracy", "top5_accuracy"])
    history = fit(trainer, digits)
    assert history.columns[-2:] == ("train_top5_accuracy", "val_top5_accuracy")
    result = trainer.evaluate(digits.x_val, digits.y_val)
    assert result["top5_accuracy"] == history["val_top5_accuracy"][-1] >= result["acc"]
    assert metrics.read_csv(tmp_path / "history.csv")[-1]["val_top5_accuracy"] == result["top5_accuracy"]
    scores = trainer.model.predict(digits.x_val)
    top5 = np.argsort(-scores, axis=1)[:, :5]
    assert result["top5_accuracy"] == np.mean((top5 == digits.y_val[:, None]).any(axis=1))


def test_unknown_metric_names_the_closest():
    with pytest.raises(ValueError, match="did you mean 'top5_accuracy'"):
        metrics.check_metrics(["top5_acuracy"])


def test_per_class_accuracy_from_the_confusion_counts():
    matrix = metrics.confusion_counts([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    accuracy = metrics.per_class_accuracy(matrix)
    assert accuracy[:3] == [0.5, 1.0, 2 / 3] and math.isnan(accuracy[3])


# ---------------------------------------------------------------------- TensorBoard
def read_events(directory):
    """Every event of every event file under ``directory`` (or of one file): TFRecord framing read
    by hand (length, its CRC, the record, its CRC), decoded with tensorboardX's own protobuf."""
    from tensorboardX.proto import event_pb2

    events = []
    paths = [directory] if directory.is_file() else sorted(directory.rglob("events.out.tfevents.*"))
    for path in paths:
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            record = data[pos + 12:pos + 12 + length]
            pos += 12 + length + 4
            event = event_pb2.Event()
            event.ParseFromString(record)
            events.append(event)
    return events


def scalars(events, tag):
    return [(e.step, v.simple_value) for e in events for v in e.summary.value if v.tag == tag]


def test_tensorboard_event_files_hold_the_step_losses_epoch_metrics_config_and_histograms(digits, tmp_path):
    pytest.importorskip("tensorboardX")
    tb = TensorBoard(tmp_path / "tensorboard", histograms_every=2, config={"name": "tb-test", "seed": 1})
    trainer = make_trainer(digits, tmp_path, epochs=2, callbacks=[tb])
    history = fit(trainer, digits)
    events = read_events(tmp_path / "tensorboard")
    steps = metrics.read_csv(tmp_path / "steps.csv")
    logged = scalars(events, "step/loss")
    assert [s for s, _ in logged] == [row["step"] for row in steps]
    np.testing.assert_allclose([v for _, v in logged], [row["loss"] for row in steps], rtol=1e-6)  # float32 in events
    assert [v for _, v in scalars(events, "epoch/val_acc")] == pytest.approx(history["val_acc"])
    assert [s for s, _ in scalars(events, "epoch/val_acc")] == [trainer.step // 2, trainer.step]
    tags = {v.tag for e in events for v in e.summary.value}
    assert {"weights/1.W", "grads/1.W", "step/lr", "epoch/train_loss"} <= tags
    histogram_steps = {e.step for e in events for v in e.summary.value if v.tag == "weights/1.W"}
    assert histogram_steps == {trainer.step}  # every 2 epochs: only after epoch 2
    text = [v for e in events for v in e.summary.value if v.tag.startswith("config")]
    assert text and b"tb-test" in text[0].tensor.string_val[0]


def test_without_tensorboardx_asking_for_it_is_one_line_naming_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX -> ImportError
    with pytest.raises(ValueError) as info:
        TensorBoard(tmp_path)
    assert "\n" not in str(info.value) and "pip install 'layernet[tensorboard]'" in str(info.value)
    assert isinstance(info.value, ImportError)


# ---------------------------------------------------------------------- LivePlot
def test_live_plot_writes_a_png_headless_each_epoch(digits, tmp_path):
    pytest.importorskip("matplotlib")
    seen = []

    class Watch(Callback):
        def on_epoch_end(self, epoch, logs=None):
            path = tmp_path / "live.png"
            seen.append(path.read_bytes()[:8] if path.exists() else None)

    trainer = make_trainer(digits, tmp_path, epochs=2, callbacks=[LivePlot(notebook=False), Watch()])
    fit(trainer, digits)
    assert seen == [b"\x89PNG\r\n\x1a\n"] * 2
    (tmp_path / "elsewhere").mkdir()  # a directory as the path: live.png inside it
    fit(make_trainer(digits, epochs=1, callbacks=[LivePlot(tmp_path / "elsewhere", notebook=False)]), digits)
    assert (tmp_path / "elsewhere" / "live.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(tmp_path.glob(".live.png*"))  # no temporary file left behind


class StopAtStep(Callback):
    def __init__(self, step):
        self.step = step

    def on_batch_end(self, step, logs=None):
        if step == self.step:
            self.trainer.stop_training = True


def test_stop_training_in_on_batch_end_stops_after_that_step(digits, tmp_path):
    steps_per_epoch = math.ceil(len(digits.y_train) / BATCH)
    trainer = make_trainer(digits, tmp_path, epochs=3, callbacks=[StopAtStep(steps_per_epoch + 2)])
    history = fit(trainer, digits)
    assert trainer.step == steps_per_epoch + 2 and trainer.stop_reason == "stopped"
    assert history["epoch"] == [1, 2] and len(history.steps) == trainer.step
    seen = 2 * BATCH  # the second epoch's row covers the two batches it ran
    losses = [loss for _, epoch, loss in history.steps if epoch == 2]
    assert history["train_loss"][1] == pytest.approx(sum(losses) * BATCH / seen)
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.npz")
    assert (ckpt.trainer["epoch"], ckpt.trainer["step"]) == (2, trainer.step)


def test_live_plot_in_jupyter_redraws_one_display_in_place(digits, tmp_path, monkeypatch):
    display_module = pytest.importorskip("IPython.display")
    shown = []

    class Handle:
        def update(self, fig):
            shown.append(("update", len(fig.axes)))

    def display(fig, display_id=False):
        assert display_id is True
        shown.append(("display", len(fig.axes)))
        return Handle()

    monkeypatch.setattr(display_module, "display", display)
    trainer = make_trainer(digits, tmp_path, epochs=3, callbacks=[LivePlot(notebook=True)])
    fit(trainer, digits)
    assert [kind for kind, _ in shown] == ["display", "update", "update"]
    assert all(panels >= 2 for _, panels in shown)  # loss and accuracy
    assert not (tmp_path / "live.png").exists()


def test_tensorboard_of_a_resumed_run_purges_what_came_after_the_checkpoint(digits, tmp_path):
    pytest.importorskip("tensorboardX")
    from tensorboardX.proto import event_pb2

    log_dir = tmp_path / "tensorboard"
    crashed = make_trainer(digits, tmp_path, epochs=3, callbacks=[TensorBoard(log_dir), FailAt("on_epoch_end", 3)])
    with pytest.raises(CallbackError):
        fit(crashed, digits)  # epoch 3's steps are logged, but last.npz holds epoch 2
    resumed = make_trainer(digits, tmp_path, epochs=3, callbacks=[TensorBoard(log_dir)])
    resumed.restore(tmp_path / "checkpoints" / "last.npz")
    first_new_step = resumed.step + 1
    fit(resumed, digits)
    files = [read_events(path) for path in log_dir.glob("events.out.tfevents.*")]
    assert len(files) == 2  # also when both were opened in the same second
    starts = [[e.step for e in events if e.session_log.status == event_pb2.SessionLog.START] for events in files]
    old, new = sorted(range(2), key=lambda i: len(starts[i]))
    assert starts[old] == [] and starts[new] == [first_new_step]
    # what TensorBoard shows: the old file's events before the purge step, then the new file's
    kept = [e for e in files[old] if e.step < first_new_step] + files[new]
    steps = metrics.read_csv(tmp_path / "steps.csv")
    assert [s for s, _ in scalars(kept, "step/loss")] == [row["step"] for row in steps]
