"""Layers. Each module registers its layers in ``layernet.registry.LAYERS``."""

from .base import Layer
from .affine import Affine
from .conv import Conv2d
from .residual import Residual  # noqa: F401  (registers "residual")

__all__ = ["Layer", "Affine", "Conv2d"]
