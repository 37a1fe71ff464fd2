"""Layers. Each module registers its layers in ``layernet.registry.LAYERS``."""

from .base import Layer
from .affine import Affine

__all__ = ["Layer", "Affine"]
