"""Layers. Each module registers its layers in ``layernet.registry.LAYERS``."""

from .base import Layer
from .affine import Affine
from .pool import AvgPool2d, MaxPool2d
from .norm import BatchNorm
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .dropout import Dropout
from .reshape import Flatten
from .residual import Residual  # noqa: F401  (registers "residual")
from .conv import Conv2d
from .embedding import Embedding
from .gru import GRU
from .lstm import LSTM
from .rnn import RNN
from .temporal import TemporalAffine
from .layernorm import LayerNorm
from .groupnorm import GroupNorm
from .global_pool import GlobalAvgPool2d
from .gelu import GELU
from .concat import Concat

__all__ = ["Layer", "Affine",
    "MaxPool2d",
    "AvgPool2d",
    "BatchNorm",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Dropout",
    "Flatten",
    "Conv2d",
    "Embedding",
    "RNN",
    "LSTM",
    "GRU",
    "TemporalAffine",
    "Residual",
    "LayerNorm",
    "GroupNorm",
    "GlobalAvgPool2d",
    "GELU",
    "Concat"]
