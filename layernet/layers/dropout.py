"""Inverted dropout."""

from __future__ import annotations

from .._validation import check_fraction
from ..init import as_rng
from ..registry import LAYERS
from .base import Layer


@LAYERS.register("dropout")
class Dropout(Layer):
    """Inverted dropout: in training each unit is zeroed with probability ``p`` and the kept
    units are scaled by 1 / (1 - p), so the expected output equals the input; at eval time
    (``training=False``) the layer is the identity (no rescaling needed).

    Shapes: x (any) -> out (same as x).
    Backward: dx = dout * mask, with the same scaled mask (0 or 1 / (1 - p)) as the forward;
    the identity in eval.
    The mask is drawn from ``self.rng`` (a numpy Generator; ``rng`` may be None, a seed or a
    Generator), in x's dtype. ``p`` lies in [0, 1).
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = check_fraction("Dropout", "p", p)
        self.rng = as_rng(rng)

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=None)
        if not training or self.p == 0.0:
            self.save_cache(x.shape, x.dtype, None)
            return x
        keep = self.rng.random(x.shape, dtype=x.dtype) >= x.dtype.type(self.p)
        mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        self.save_cache(x.shape, x.dtype, mask)
        return x * mask

    def backward(self, dout):
        shape, dtype, mask = self.pop_cache()
        dout = self.check_dout(dout, shape, dtype)
        return dout if mask is None else dout * mask
