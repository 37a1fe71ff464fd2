"""Batch normalisation (Ioffe & Szegedy 2015), for (N, D) and spatial (N, C, H, W) input."""

from __future__ import annotations

import numpy as np

from .._validation import check_fraction, check_int, check_positive
from ..kernels.norm import batchnorm_backward, batchnorm_forward_eval, batchnorm_forward_train
from ..registry import LAYERS
from .base import Layer


@LAYERS.register("batchnorm")
class BatchNorm(Layer):
    """Batch normalisation: out = gamma * (x - mean) / sqrt(var + eps) + beta, per feature.

    Shapes: x (N, D) with D = num_features, statistics over N; or x (N, C, H, W) with
    C = num_features, statistics over N, H and W (spatial batch norm). out has x's shape;
    params gamma (ones) and beta (zeros) have shape (num_features,).

    Training (``training=True``) uses the batch mean and the *biased* batch variance (divided by
    M, the number of values per feature, not M - 1) both to normalise and to update the running
    statistics: ``running = momentum * running + (1 - momentum) * batch``, so ``momentum`` is the
    fraction *kept* (cs231n's convention; PyTorch's ``momentum`` is the fraction replaced, i.e.
    1 - ours, and PyTorch puts the unbiased variance into its running_var). ``running_mean``
    starts at 0 and ``running_var`` at 1; both live in ``buffers`` and are saved with the model.
    Eval (``training=False``) normalises with the running statistics and leaves them unchanged.

    Backward, with xhat = (x - mean) * inv_std, inv_std = 1 / sqrt(var + eps) and
    dxhat = dout * gamma: dbeta = sum(dout), dgamma = sum(dout * xhat) (sums over the
    normalised axes); in training the statistics depend on x, giving the compact form
    dx = (1/M) * inv_std * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat));
    in eval they are constants and dx = dxhat * inv_std.
    """

    _positional = ("num_features",)
    inferred_args = ("num_features",)
    decayed = ()  # no weight decay on gamma and beta

    def __init__(self, num_features, momentum=0.9, eps=1e-5):
        super().__init__()
        self.num_features = check_int("BatchNorm", "num_features", num_features)
        self.momentum = check_fraction("BatchNorm", "momentum", momentum, closed_high=True)
        self.eps = check_positive("BatchNorm", "eps", eps)
        self.init_param("gamma", np.ones(self.num_features, dtype=np.float32))
        self.init_param("beta", np.zeros(self.num_features, dtype=np.float32))
        self.buffers["running_mean"] = np.zeros(self.num_features, dtype=np.float32)
        self.buffers["running_var"] = np.ones(self.num_features, dtype=np.float32)

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("num_features") is None and input_shape is not None and len(input_shape) >= 1:
            config["num_features"] = int(input_shape[0])
        return config

    def _expected(self):
        f = self.num_features
        return f"(N, {f}) or (N, {f}, H, W)"

    def output_shape(self, input_shape):
        if len(input_shape) not in (1, 3) or input_shape[0] != self.num_features:
            raise self.fail_shape(self._expected(), (None, *input_shape))
        return tuple(input_shape)

    def min_train_batch(self, input_shape):
        """2 for (N, D) input (and 1x1 spatial maps): the batch variance needs two values per feature."""
        return 2 if int(np.prod(input_shape[1:], dtype=np.int64)) == 1 else 1

    def forward(self, x, training=False):
        x = self.check_input(x, ndim=(2, 4), expected=self._expected())
        if x.shape[1] != self.num_features:
            raise self.fail_shape(self._expected(), x.shape)
        self.check_param_shapes()
        dtype = self.compute_dtype(x)
        x3 = np.ascontiguousarray(x, dtype=dtype).reshape(x.shape[0], x.shape[1], -1)
        gamma = self.params["gamma"].astype(np.float64)
        beta = self.params["beta"].astype(np.float64)
        out = np.empty(x3.shape, dtype=dtype)
        if training:
            if x3.shape[0] * x3.shape[2] < 2:
                raise ValueError(
                    f"{self!r}: training needs more than one value per feature to compute a "
                    f"variance, found input of shape {x.shape}"
                )
            mean = np.empty(self.num_features)
            var = np.empty(self.num_features)
            batchnorm_forward_train(x3, gamma, beta, self.eps, out, mean, var)
            self._update_running(mean, var)
        else:
            mean = self.buffers["running_mean"].astype(np.float64)
            var = self.buffers["running_var"].astype(np.float64)
            batchnorm_forward_eval(x3, mean, gamma / np.sqrt(var + self.eps), beta, out)
        self.save_cache(x.shape, x.dtype, x3, mean, 1.0 / np.sqrt(var + self.eps), gamma, bool(training))
        return out.reshape(x.shape)

    def _update_running(self, mean, var):
        """running = momentum * running + (1 - momentum) * batch, with the biased batch variance.

        New arrays are assigned (the old ones are never written), in each buffer's dtype.
        """
        m = self.momentum
        for key, batch in (("running_mean", mean), ("running_var", var)):
            old = self.buffers[key]
            self.buffers[key] = (m * old.astype(np.float64) + (1.0 - m) * batch).astype(old.dtype)

    def backward(self, dout):
        x_shape, x_dtype, x3, mean, inv_std, gamma, training = self.pop_cache()
        dout3 = np.ascontiguousarray(self.check_dout(dout, x_shape, x3.dtype)).reshape(x3.shape)
        dx = np.empty(x3.shape, dtype=x3.dtype)
        dgamma = np.empty(self.num_features)
        dbeta = np.empty(self.num_features)
        batchnorm_backward(x3, dout3, mean, inv_std, gamma, training, dx, dgamma, dbeta)
        self.set_grad("gamma", dgamma)
        self.set_grad("beta", dbeta)
        return dx.reshape(x_shape).astype(x_dtype, copy=False)  # a copy only if x was cast
