"""Callbacks: code that watches or steers ``Trainer.fit`` through Keras's hooks (see ``base.py``).

    from layernet.callbacks import Callback, LivePlot, TensorBoard

    class PrintLR(Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(epoch, logs["lr"])

    trainer.fit(x, y, x_val, y_val, callbacks=[PrintLR(), LivePlot(), TensorBoard("runs/tb")])

One concept per module: ``base`` (the protocol, ``CallbackList``), ``monitor`` (when a metric
improves), ``early_stopping``, ``checkpoint`` (``ModelCheckpoint``), ``csv_logger`` (history.csv,
steps.csv), ``tensorboard`` (event files through the optional tensorboardX), ``live_plot``.
``CALLBACKS`` names the ones a config can ask for (``trainer.callbacks: [live_plot]``).
"""

from .base import HOOKS, Callback, CallbackList
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .live_plot import LivePlot
from .tensorboard import TensorBoard

#: Callbacks by config name (``trainer.callbacks``); each is built with the run directory.
CALLBACKS = {"live_plot": LivePlot, "tensorboard": TensorBoard}

__all__ = ["CALLBACKS", "HOOKS", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "LivePlot",
           "ModelCheckpoint", "TensorBoard"]
