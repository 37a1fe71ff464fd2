"""placeholder"""
from .base import Callback


class LivePlot(Callback):
    pass
