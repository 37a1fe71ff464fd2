"""Layer normalisation (Ba, Kiros & Hinton 2016): statistics per sample over its last axes."""

from __future__ import annotations

import numpy as np

from .._validation import _is_int, check_positive, format_shape, invalid_argument
from ..registry import LAYERS
from ._sample_norm import SampleNorm


@LAYERS.register("layernorm")
class LayerNorm(SampleNorm):
    """Layer norm: out = gamma * (x - mean) / sqrt(var + eps) + beta over the last axes, as PyTorch.

    ``normalized_shape`` is an int D or a tuple S of k ints: x (..., D) or (..., *S), any number
    of leading axes (``(N, D)``, ``(N, T, D)``, ``(N, C, H, W)`` with S = (C, H, W)); out has x's
    shape. Each leading position (a sample, a time step) is normalised over its last k axes with
    its own mean and *biased* variance (divided by M = prod(S)); params gamma (ones) and beta
    (zeros) have shape S and act element by element. No running statistics: training and eval
    are identical.

    Backward (per normalised row, xhat = (x - mean) * inv_std, dxhat = gamma * dout):
    dx = inv_std / M * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat));
    dgamma = sum over the leading axes of dout * xhat, dbeta = sum of dout.
    Parameters: gamma and beta do not take weight decay.
    """

    _positional = ("normalized_shape",)
    inferred_args = ("normalized_shape",)

    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        if _is_int(normalized_shape) and normalized_shape > 0:
            self._shape = (int(normalized_shape),)
            self.normalized_shape = int(normalized_shape)
        elif (isinstance(normalized_shape, (tuple, list)) and normalized_shape
              and all(_is_int(s) and s > 0 for s in normalized_shape)):
            self._shape = tuple(int(s) for s in normalized_shape)
            self.normalized_shape = self._shape
        else:
            raise invalid_argument("LayerNorm", "normalized_shape",
                                   "a positive int or a non-empty tuple of positive ints", normalized_shape)
        self.eps = check_positive("LayerNorm", "eps", eps)
        self.init_param("gamma", np.ones(self._shape, dtype=np.float32))
        self.init_param("beta", np.zeros(self._shape, dtype=np.float32))

    @classmethod
    def infer_config(cls, config, input_shape):
        """Without ``normalized_shape``, normalise over the last axis of the input."""
        config = dict(config)
        if config.get("normalized_shape") is None and input_shape is not None and len(input_shape) >= 1:
            config["normalized_shape"] = int(input_shape[-1])
        return config

    def _expected(self):
        return f"(N, ..., {', '.join(str(s) for s in self._shape)})"

    def _fits(self, shape) -> bool:
        k = len(self._shape)
        return len(shape) >= k + 1 and tuple(shape[-k:]) == self._shape

    def output_shape(self, input_shape):
        if not self._fits((None, *input_shape)):
            raise self.fail_shape(self._expected(), (None, *input_shape))
        return tuple(input_shape)

    def _check(self, x):
        x = self.check_input(x)
        if not self._fits(x.shape):
            raise ValueError(f"{self!r}: expected input of shape {self._expected()}, found {format_shape(x.shape)}")
        return x

    def _grouped_shape(self, x_shape):
        return (-1, 1, self.params["gamma"].size)  # each leading position is one group of prod(S) values

    def _scale_shift(self, dtype, x_shape):
        return (self.params["gamma"].astype(dtype).reshape(1, -1), self.params["beta"].astype(dtype).reshape(1, -1))

    def _param_grads(self, dscale, dshift):
        return dscale.reshape(self._shape), dshift.reshape(self._shape)
