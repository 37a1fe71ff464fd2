"""``layernet plot RUN_DIR --watch``: follows a run that another writer is producing, until it ends."""

import json
import threading

import pytest

from layernet.cli import main
from layernet.metrics import HISTORY_COLUMNS, STEP_COLUMNS, format_row
from layernet.plot import watch_run

pytest.importorskip("matplotlib")


class FakeRun:
    """Writes a run directory the way a training process does, one piece per ``advance()``:
    a partial steps line, the rest of the epoch's steps and its history row, ..., then the summary."""

    def __init__(self, run_dir, epochs=3, steps_per_epoch=4):
        self.dir, self.epochs, self.k = run_dir, epochs, steps_per_epoch
        run_dir.mkdir()
        (run_dir / "config.yaml").write_text("name: fake\n")
        self.status("running")
        (run_dir / "history.csv").write_text(",".join(HISTORY_COLUMNS) + "\n")
        (run_dir / "steps.csv").write_text(",".join(STEP_COLUMNS) + "\n")
        self.epoch, self.half = 0, False

    def status(self, status):
        (self.dir / "summary.json").write_text(json.dumps({"status": status}))

    def append(self, name, text):
        with open(self.dir / name, "a") as handle:
            handle.write(text)

    def advance(self):
        if self.epoch == self.epochs:
            self.status("completed")
            return
        e = self.epoch + 1
        rows = [format_row(STEP_COLUMNS, ((e - 1) * self.k + i + 1, e, 2.0 / (e + i), 0.01)) for i in range(self.k)]
        if not self.half:  # a line cut in the middle, as a reader may catch it
            self.append("steps.csv", rows[0] + rows[1][:3])
            self.half = True
            return
        self.append("steps.csv", rows[1][3:] + "".join(rows[2:]))
        self.append("history.csv", format_row(HISTORY_COLUMNS, {
            "epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5 + 0.1 * e, "val_loss": 1.1 / e,
            "val_acc": 0.45 + 0.1 * e, "lr": 0.01, "time_s": 0.5}))
        self.epoch, self.half = e, False


def test_watch_redraws_as_the_fake_writer_goes_and_stops_when_the_run_ends(tmp_path):
    writer = FakeRun(tmp_path / "run")
    drawn, rounds = [], []

    def sleep(seconds):
        rounds.append(seconds)
        assert len(rounds) < 50, "watch_run did not stop when the run ended"
        writer.advance()

    out = watch_run(writer.dir, tmp_path / "watch.png", interval=0.5, sleep=sleep,
                    on_draw=lambda path: drawn.append(writer.epoch))
    assert out == tmp_path / "watch.png" and out.read_bytes()[:4] == b"\x89PNG"
    assert writer.epoch == 3 and rounds == [0.5] * 7  # 3 epochs x 2 pieces, then the summary
    # nothing to draw before the first history row; then a drawing after every change it could read
    # (a steps line cut in the middle is read again next round), the last one of the finished run
    assert drawn == sorted(drawn) and set(drawn) == {1, 2, 3} and drawn[-1] == 3


def test_watch_of_a_finished_run_draws_once_and_returns(tmp_path):
    writer = FakeRun(tmp_path / "run", epochs=1)
    writer.advance(), writer.advance(), writer.advance()
    assert watch_run(writer.dir, sleep=lambda s: pytest.fail("slept")) == writer.dir / "history.png"


def test_plot_watch_command_follows_a_writer_thread_until_it_ends(tmp_path, capsys):
    writer = FakeRun(tmp_path / "run", epochs=2)
    done = threading.Event()

    def write():
        while not done.wait(0.02):
            writer.advance()
            if writer.epoch == writer.epochs:
                writer.status("completed")
                return

    thread = threading.Thread(target=write)
    thread.start()
    try:
        code = main(["plot", str(writer.dir), "--watch", "--interval", "0.01", "-o", str(tmp_path / "w.png")])
    finally:
        done.set()
        thread.join()
    out, err = capsys.readouterr()
    assert code == 0 and out.strip() == str(tmp_path / "w.png")
    assert "watching" in err and "redrawn" in err
    assert (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_watch_refuses_several_runs_or_a_metric(tmp_path, capsys):
    assert main(["plot", str(tmp_path), str(tmp_path), "--watch"]) == 2
    assert main(["plot", str(tmp_path / "missing"), "--watch"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "one RUN_DIR" in err[0] and "no such run directory" in err[1]


def test_watch_of_a_run_without_summary_ends_when_its_files_stay_unchanged(tmp_path):
    writer = FakeRun(tmp_path / "run", epochs=2)
    (writer.dir / "summary.json").unlink()  # a plain Trainer's history_dir: no summary
    now = {"t": 0.0}

    def sleep(seconds):
        now["t"] += seconds
        assert now["t"] < 100, "watch_run did not stop on an idle run"
        if writer.epoch < writer.epochs:
            writer.advance()
            (writer.dir / "summary.json").unlink(missing_ok=True)

    out = watch_run(writer.dir, interval=1.0, idle=10.0, sleep=sleep, clock=lambda: now["t"])
    assert writer.epoch == 2 and out.is_file()
    assert 10.0 <= now["t"] <= 4 + 11  # 4 changes one second apart, then 10 idle seconds
