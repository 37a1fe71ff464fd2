"""placeholder"""
from .base import Callback


class TensorBoard(Callback):
    pass
