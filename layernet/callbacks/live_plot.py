"""``LivePlot()``: the training curves redrawn after every epoch, while the run goes.

In Jupyter one figure is shown and replaced in place each epoch (an IPython display handle);
elsewhere the figure is written to ``path`` atomically (temporary file + ``os.replace``), so an
image viewer kept open on it never reads half a PNG. ``path`` (a file, or a directory to hold
``live.png``) defaults to ``live.png`` in the
trainer's history directory (the run directory, for ``layernet train``), else in the working
directory. The figure is ``layernet.plot.plot_history`` of the in-memory history: per-step and
per-epoch loss, train and validation accuracy, and the lr when it changes. ``every`` redraws every
``every`` epochs only (the last epoch is always drawn). matplotlib is imported at the first drawing.
"""

from __future__ import annotations

from pathlib import Path

from .base import Callback


class LivePlot(Callback):
    """Redraws the loss and accuracy curves after each epoch (in place in Jupyter, else a PNG file)."""

    config_keys = ("every",)  # what a config's ``trainer.callbacks`` entry may set (the path is RUN_DIR/live.png)

    def __init__(self, path=None, every: int = 1, notebook: bool | None = None):
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"LivePlot: `every` must be a positive int, found {every!r}")
        self.path = None if path is None else Path(path)
        self.every, self.notebook = every, notebook
        self._handle = None

    def target(self) -> Path:
        """The PNG file written outside Jupyter."""
        if self.path is not None:
            return self.path / "live.png" if self.path.is_dir() else self.path
        logger = getattr(self.trainer, "csv_logger", None)
        return (logger.directory if logger is not None else Path.cwd()) / "live.png"

    def on_epoch_end(self, epoch, logs=None):
        if epoch % self.every == 0 or epoch == self.trainer.epochs or self.trainer.stop_training:
            self.draw()

    def draw(self) -> None:
        import matplotlib.pyplot as plt

        from ..plot import plot_history, save_figure
        from ..progress import in_notebook

        fig = plot_history(self.trainer.history)
        notebook = in_notebook() if self.notebook is None else self.notebook
        if not notebook:
            save_figure(fig, self.target())
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def __repr__(self) -> str:
        return f"LivePlot({None if self.path is None else str(self.path)!r}, every={self.every})"
