"""``EarlyStopping`` and ``improves`` moved to ``layernet.callbacks``; importable from here as before."""

from .callbacks.early_stopping import EarlyStopping
from .callbacks.monitor import check_monitor, improves

__all__ = ["EarlyStopping", "check_monitor", "improves"]
