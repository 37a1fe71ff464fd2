"""The forward and backward shared by GroupNorm and LayerNorm (statistics per sample, no batch axis).

Both view the input as ``x (N, G, M)`` (G groups of M values per sample) with per-element
``scale``/``shift`` arrays ``(G, M)`` built from their own ``gamma``/``beta``; the math and its
derivation are in ``layernet/kernels/groupnorm.py``. ``SampleNorm`` is their common layer: the
subclass says how x is grouped and how gamma/beta spread over the groups.
"""

from __future__ import annotations

import numpy as np

from ..kernels.groupnorm import group_norm_backward, group_norm_forward
from .base import Layer

#: Chunks of samples whose parameter-gradient sums are accumulated separately (in parallel) and then
#: added: a fixed number, so the float results do not depend on the thread count.
PARTIAL_SUMS = 8


def sample_norm_forward(x3: np.ndarray, scale: np.ndarray, shift: np.ndarray, eps: float):
    """x3 (N, G, M) contiguous; scale, shift (G, M) in x3's dtype -> (out (N, G, M), cache)."""
    n, g, _ = x3.shape
    out = np.empty_like(x3)
    mean = np.empty((n, g))
    inv_std = np.empty((n, g))
    group_norm_forward(x3, scale, shift, eps, out, mean, inv_std)
    return out, (x3, scale, mean, inv_std)


def sample_norm_backward(cache, dout3: np.ndarray, need_dx: bool = True):
    """dout3 (N, G, M) -> (dx (N, G, M) or None, dscale (G, M) float64, dshift (G, M) float64)."""
    x3, scale, mean, inv_std = cache
    dout3 = np.ascontiguousarray(dout3, dtype=x3.dtype)
    parts = min(PARTIAL_SUMS, x3.shape[0])
    dscale = np.empty((parts, *scale.shape), dtype=x3.dtype)
    dshift = np.empty((parts, *scale.shape), dtype=x3.dtype)
    dx = np.empty_like(x3) if need_dx else np.empty((0, 0, 0), dtype=x3.dtype)  # (0, 0, 0): not written
    group_norm_backward(x3, dout3, scale, mean, inv_std, need_dx, dx, dscale, dshift)
    return (dx if need_dx else None), dscale.sum(axis=0, dtype=np.float64), dshift.sum(axis=0, dtype=np.float64)


class SampleNorm(Layer):
    """A norm with statistics per sample over groups of values (LayerNorm, GroupNorm), no running state.

    Subclasses define ``_check(x) -> x`` (input validation), ``_grouped_shape(x_shape) -> (N, G, M)``,
    ``_scale_shift(dtype, x_shape) -> (scale, shift)`` of shape (G, M) from gamma and beta, and
    ``_param_grads(dscale, dshift) -> (dgamma, dbeta)`` folding the (G, M) sums back to the
    parameters' shape. dx is returned in x's dtype; gamma and beta take no weight decay.
    """

    def forward(self, x, training=False):
        x = self._check(x)
        self.check_param_shapes()
        dtype = self.compute_dtype(x)
        x3 = np.ascontiguousarray(x, dtype=dtype).reshape(self._grouped_shape(x.shape))
        scale, shift = self._scale_shift(dtype, x.shape)
        out, cache = sample_norm_forward(x3, scale, shift, self.eps)
        self.save_cache(x.shape, x.dtype, cache)
        return out.reshape(x.shape)

    def backward(self, dout):
        x_shape, x_dtype, cache = self.pop_cache()
        dout = self.check_dout(dout, x_shape, cache[0].dtype)
        dx, dscale, dshift = sample_norm_backward(cache, dout.reshape(cache[0].shape), self.needs_input_grad)
        dgamma, dbeta = self._param_grads(dscale, dshift)
        self.set_grad("gamma", dgamma)
        self.set_grad("beta", dbeta)
        return None if dx is None else dx.reshape(x_shape).astype(x_dtype, copy=False)  # dx in x's dtype
