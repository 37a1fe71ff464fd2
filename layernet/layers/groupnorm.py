"""Group normalisation (Wu & He 2018): statistics per sample over groups of channels."""

from __future__ import annotations

import numpy as np

from .._validation import check_int, check_positive, invalid_argument
from ..registry import LAYERS
from ._sample_norm import SampleNorm


@LAYERS.register("groupnorm")
class GroupNorm(SampleNorm):
    """Group norm: out = gamma[c] * (x - mean) / sqrt(var + eps) + beta[c], statistics per (sample, group).

    Shapes: x (N, C, H, W) or (N, C) with C = num_channels; out has x's shape; params gamma (ones)
    and beta (zeros) of shape (C,). The C channels form ``num_groups`` consecutive groups of
    C / num_groups channels; mean and the *biased* variance (divided by M, as PyTorch) run over
    one sample's group: its channels and all their H*W positions, M = C/num_groups * H*W values.
    No running statistics: training and eval compute the same thing, whatever the batch size.
    ``num_groups = 1`` is layer norm over (C, H, W) with per-channel parameters; ``num_groups = C``
    is instance norm.

    Backward (per row r = (n, group), xhat = (x - mean) * inv_std, dxhat = gamma * dout):
    dx = inv_std / M * (M * dxhat - sum_r(dxhat) - xhat * sum_r(dxhat * xhat)), batch norm's
    formula with the sample's group in place of the batch; dgamma[c] = sum over n, H, W of
    dout * xhat and dbeta[c] = sum of dout. Parameters: gamma and beta do not take weight decay.
    """

    _positional = ("num_groups", "num_channels")
    inferred_args = ("num_channels",)

    def __init__(self, num_groups, num_channels, eps=1e-5):
        super().__init__()
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise invalid_argument("GroupNorm", "num_channels",
                                   f"a multiple of num_groups={self.num_groups}", num_channels)
        self.eps = check_positive("GroupNorm", "eps", eps)
        self.init_param("gamma", np.ones(self.num_channels, dtype=np.float32))
        self.init_param("beta", np.zeros(self.num_channels, dtype=np.float32))

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("num_channels") is None and input_shape is not None and len(input_shape) >= 1:
            config["num_channels"] = int(input_shape[0])
        return config

    @classmethod
    def config_placeholder(cls, name, config):
        """A stand-in for an inferred argument when a config is checked without data: num_groups."""
        groups = config.get("num_groups")
        return groups if isinstance(groups, int) and not isinstance(groups, bool) and groups > 0 else 1

    def _expected(self):
        c = self.num_channels
        return f"(N, {c}) or (N, {c}, H, W)"

    def output_shape(self, input_shape):
        if len(input_shape) not in (1, 3) or input_shape[0] != self.num_channels:
            raise self.fail_shape(self._expected(), (None, *input_shape))
        return tuple(input_shape)

    def _check(self, x):
        x = self.check_input(x, ndim=(2, 4), expected=self._expected())
        if x.shape[1] != self.num_channels:
            raise self.fail_shape(self._expected(), x.shape)
        return x

    def _grouped_shape(self, x_shape):
        return (x_shape[0], self.num_groups, -1)  # consecutive channels (and their positions) per group

    def _scale_shift(self, dtype, x_shape):
        length = int(np.prod(x_shape[2:], dtype=np.int64))  # positions per channel
        g = self.num_groups
        return (np.repeat(self.params["gamma"].astype(dtype), length).reshape(g, -1),
                np.repeat(self.params["beta"].astype(dtype), length).reshape(g, -1))

    def _param_grads(self, dscale, dshift):
        c = self.num_channels
        return dscale.reshape(c, -1).sum(axis=1), dshift.reshape(c, -1).sum(axis=1)
