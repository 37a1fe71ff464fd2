"""Progress over the trials of a sweep: a tqdm bar on a terminal, one line per finished trial otherwise.

``mode``: ``auto`` (a bar when ``stream`` is a terminal or the code runs in Jupyter, lines
otherwise, so logs never fill with carriage returns), ``bar``, ``lines`` or ``quiet``. A line::

    trial t003 ok      val_acc 0.9521  test_acc 0.9500  2 epochs  12.3s   (4/24)
    trial t004 failed  TrainingDiverged: non-finite loss at step 12 (epoch 1) ...   (5/24)
"""

from __future__ import annotations

from ..progress import in_notebook

MODES = ("auto", "bar", "lines", "quiet")


def trial_line(row: dict, metric: str) -> str:
    head = f"trial {row['trial']} {row['status']:<7}"
    if row["status"] != "ok":
        return f"{head} {row.get('error', '')}"
    return (f"{head} {metric} {row.get(metric) or 'nan':.8}  test_acc {row.get('test_acc') or '-':.8}  "
            f"{row.get('epochs', '?')} epochs  {float(row.get('wall_time_s') or 0):.1f}s")


class SweepProgress:
    """``update(row)`` after each finished trial; ``message(text)`` for notes; ``close()``."""

    def __init__(self, total: int, done: int, metric: str, mode: str = "auto", stream=None):
        if mode not in MODES:
            raise ValueError(f"progress: expected one of {', '.join(MODES)}, found {mode!r}")
        if mode == "auto":
            tty = getattr(stream, "isatty", lambda: False)()
            mode = "bar" if tty or in_notebook() else "lines"
        self.mode, self.total, self.done, self.metric, self.stream = mode, total, done, metric, stream
        self._bar = None
        if mode == "bar":
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, desc="trials", unit="trial", file=stream, dynamic_ncols=True)

    def message(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        elif self.mode != "quiet":
            print(text, file=self.stream, flush=True)

    def update(self, row: dict) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.set_postfix({"last": f"{row['trial']} {row['status']}"}, refresh=False)
            self._bar.update(1)
        elif self.mode == "lines":
            print(f"{trial_line(row, self.metric)}   ({self.done}/{self.total})", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
