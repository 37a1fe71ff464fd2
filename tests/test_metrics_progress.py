"""Pieces of the training loop without a model: metrics and CSV files, early stopping, progress display."""

import io
import math
import os

import numpy as np
import pytest

from layernet import metrics
from layernet.early_stopping import EarlyStopping, improves
from layernet.progress import Progress, epoch_line, make_progress, resolve_mode


def test_accuracy_labels_and_one_hot():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])
    assert metrics.accuracy(scores, [1, 0, 1]) == pytest.approx(2 / 3)  # a tie goes to class 0
    assert metrics.accuracy(scores, np.eye(2)[[1, 0, 0]]) == 1.0
    with pytest.raises(ValueError, match="labels of shape"):
        metrics.accuracy(scores, [1, 0])


def test_csv_round_trip_is_exact_and_ignores_a_cut_line(tmp_path):
    rows = [{"epoch": 1, "train_loss": 0.1 + 0.2, "train_acc": 1 / 3, "val_loss": math.nan, "val_acc": math.nan,
             "lr": 1e-3, "time_s": 1.23456}]
    path = tmp_path / "history.csv"
    metrics.write_csv(path, metrics.HISTORY_COLUMNS, rows)
    with metrics.CsvLog(path, metrics.HISTORY_COLUMNS) as log:
        log.append(dict(rows[0], epoch=2))
    with open(path, "a") as handle:
        handle.write("3,0.5,0.")  # a write cut short by a crash
    back = metrics.read_csv(path)
    assert [r["epoch"] for r in back] == [1, 2]
    assert back[0]["train_loss"] == 0.1 + 0.2 and back[0]["train_acc"] == 1 / 3
    assert math.isnan(back[0]["val_loss"]) and back[0]["time_s"] == 1.235
    assert path.read_text().splitlines()[1] == "1,0.30000000000000004,0.3333333333333333,,,0.001,1.235"



@pytest.mark.parametrize("value, best, mode, delta, expected", [
    (0.5, math.nan, "max", 0.0, True), (math.nan, 0.5, "max", 0.0, False), (0.6, 0.5, "max", 0.0, True),
    (0.6, 0.5, "max", 0.1, False), (0.4, 0.5, "min", 0.0, True), (0.5, 0.5, "min", 0.0, False),
])
def test_improves(value, best, mode, delta, expected):
    assert improves(value, best, mode, delta) is expected


def test_early_stopping_counts_epochs_without_improvement():
    es = EarlyStopping(monitor="val_acc", patience=2)
    assert es.mode == "max"
    for value, stopped in [(0.5, False), (0.7, False), (0.7, False), (0.6, True)]:
        es.update({"val_acc": value})
        assert es.stopped is stopped
    assert es.best == 0.7 and "val_acc did not improve for 2 epochs" in es.reason()
    with pytest.raises(ValueError, match="monitor must be one of"):
        EarlyStopping(monitor="val_accuracy")
    with pytest.raises(ValueError, match="unknown key 'monitr'"):
        EarlyStopping.from_config({"monitr": "val_loss"})


def test_progress_modes():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert resolve_mode("auto", io.StringIO()) == "epoch"
    assert resolve_mode("auto", Tty()) == "bar"
    assert resolve_mode(0) == "quiet" and resolve_mode("bar", io.StringIO()) == "bar"
    stream = io.StringIO()
    progress = make_progress("auto", 3, stream)
    progress.start_epoch(1, 4)
    progress.step(0.5, 0.25)
    progress.end_epoch({"epoch": 1, "train_loss": 0.5, "train_acc": 0.25, "val_loss": math.nan,
                        "val_acc": math.nan, "lr": 0.01, "time_s": 1.0})
    assert stream.getvalue() == "epoch 1/3 loss 0.5000 acc 0.2500 lr 0.01 1.0s\n"
    bar_stream = Tty()
    bar = make_progress("bar", 3, bar_stream)
    bar.start_epoch(1, 2)
    bar.step(0.5, 0.25)
    bar.end_epoch({"epoch": 1, "train_loss": 0.5, "train_acc": 0.25, "val_loss": 0.4,
                   "val_acc": 0.5, "lr": 0.01, "time_s": 1.0})
    assert bar_stream.getvalue().endswith("\repoch 1/3 loss 0.5000 acc 0.2500 val_loss 0.4000 val_acc 0.5000 lr 0.01 1.0s\n")


ROW = {"epoch": 10, "train_loss": 0.3123, "train_acc": 0.912, "val_loss": 0.2871, "val_acc": 0.925,
       "lr": 0.001, "time_s": 12.3}


def test_progress_goes_to_stderr_by_default(capsys):
    for mode in ("epoch", "bar"):
        progress = make_progress(mode, 10)
        progress.start_epoch(10, 2)
        progress.step(0.5, 0.25)
        progress.end_epoch(ROW)
        progress.message("a note")
        progress.close()
        out, err = capsys.readouterr()
        assert out == "" and "val_acc 0.9250" in err and "a note" in err, (mode, out, err)


def _pty(columns: int):
    """A pseudo-terminal whose size is ``columns`` x 24 (a fresh one reports 0 x 0): (reader fd, writer file)."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, os.fdopen(slave, "w")


def _drain(fd) -> str:
    import select

    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_a_terminal_of_80_columns_shows_val_acc_at_the_end_of_each_epoch():
    pytest.importorskip("tqdm")
    master, tty = _pty(80)
    try:
        assert resolve_mode("auto", tty) == "bar"
        progress = make_progress("auto", 10, tty)
        for epoch in (9, 10):
            progress.start_epoch(epoch, 30)
            for _ in range(30):
                progress.step(0.3123, 0.912)
            progress.end_epoch({**ROW, "epoch": epoch})
        progress.close()
        tty.flush()
        screen = _drain(master)
    finally:
        tty.close()
        os.close(master)
    lines = [part for line in screen.split("\n") for part in line.split("\r") if part.strip()]
    assert lines and all(len(line.rstrip()) <= 80 for line in lines), [len(line) for line in lines]
    finals = [line for line in lines if "val_acc 0.9250" in line]
    assert [line.split()[:2] for line in finals] == [["epoch", "9/10"], ["epoch", "10/10"]], lines


def test_a_terminal_reporting_0_columns_gets_plain_lines():
    master, tty = _pty(0)
    try:
        assert tty.isatty() and resolve_mode("auto", tty) == "epoch"
        assert resolve_mode("bar", tty) == "bar"  # asked for explicitly, it is the user's call
    finally:
        tty.close()
        os.close(master)


def test_the_first_compilation_says_compiling_kernels_once():
    import numba

    from layernet.progress import compile_notice

    class Notes(Progress):
        def __init__(self):
            super().__init__(1)
            self.notes = []

        def message(self, text):
            self.notes.append(text)

    notes = Notes()
    with compile_notice(notes):
        numba.njit(lambda a: a + 1)(1)
        numba.njit(lambda a: a * 2)(1)
    numba.njit(lambda a: a - 1)(1)
    assert notes.notes == ["compiling kernels (once) ..."]
    quiet = Notes()
    add = numba.njit(lambda a: a + 2)
    add(1)
    with compile_notice(quiet):
        add(2)  # compiled already: nothing to say
    assert quiet.notes == []


@pytest.mark.parametrize("epoch, epochs, lr, time_s", [(7, 20, 7.94e-4, 0.1), (100, 100, 5.78e-4, 12.3),
                                                        (3, 10, 1e-3, 1.2), (9999, 10000, 5e-5, 1234.5)])
def test_epoch_line_fits_80_columns_and_keeps_the_validation_numbers(epoch, epochs, lr, time_s):
    row = dict(epoch=epoch, train_loss=0.0452, train_acc=0.9954, val_loss=0.0463, val_acc=0.99, lr=lr, time_s=time_s)
    line = epoch_line(row, epochs)
    assert len(line) <= 80 and "val_acc 0.9900" in line and "val_loss 0.0463" in line
    assert f"epoch {epoch}/{epochs}" in line
