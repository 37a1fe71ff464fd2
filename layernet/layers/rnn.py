"""Vanilla recurrent layer (cs231n's rnn_forward / rnn_backward, PyTorch's ``nn.RNN``)."""

from __future__ import annotations

import numpy as np

from .._validation import invalid_argument
from ..kernels.recurrent import rnn_step_backward
from ..registry import LAYERS
from .recurrent import Recurrent

NONLINEARITIES = ("tanh", "relu")


@LAYERS.register("rnn")
class RNN(Recurrent):
    """Elman RNN over a whole sequence: h_t = tanh(x_t Wx + h_{t-1} Wh + b), h_0 = h0 (zeros by default).

    Shapes: x (N, T, D); Wx (D, H), Wh (H, H), b (H,); h0 (N, H); out (N, T, H) (every h_t), or
    (N, H) (h_T) with ``return_sequences=False``. ``nonlinearity="relu"`` uses max(0, .) instead of
    tanh (as ``nn.RNN``). PyTorch's two biases b_ih + b_hh are the one ``b`` here.

    Backward through time, from t = T down to 1, with dh_T^next = 0:
    dh_t = dout_t + dh_t^next (the gradient reaching h_t from the output and from step t+1);
    da_t = dh_t * (1 - h_t^2) (tanh' from the output; [h_t > 0] for relu);
    dh_{t-1}^next = da_t Wh^T; and over all steps dWx = sum_t x_t^T da_t, dWh = sum_t h_{t-1}^T da_t,
    db = sum_t sum_n da_t, dx_t = da_t Wx^T. ``dh0`` = dh_0^next.
    """

    gates = 1

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", return_sequences=True, *, init="uniform",
                 rng=None):
        if nonlinearity not in NONLINEARITIES:
            raise invalid_argument("RNN", "nonlinearity", "'tanh' or 'relu'", nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, return_sequences, init=init, rng=rng)

    def _forward_steps(self, xw, p, h0):
        t, n, h = xw.shape
        hs = np.empty((t + 1, n, h), dtype=xw.dtype)
        hs[0] = h0
        relu = self.nonlinearity == "relu"
        for s in range(t):  # h_{s+1} = f(xw_s + h_s Wh): three vectorised numpy calls, no kernel needed
            a = np.matmul(hs[s], p["Wh"], out=hs[s + 1])
            a += xw[s]
            if relu:
                np.maximum(a, 0, out=a)
            else:
                np.tanh(a, out=a)
        return hs, {}

    def _backward_steps(self, dh_seq, hs, p, cache):
        t, n, h = dh_seq.shape
        da = np.empty((t, n, h), dtype=dh_seq.dtype)
        dh_next = np.zeros((n, h), dtype=dh_seq.dtype)
        wh_t = np.ascontiguousarray(p["Wh"].T)
        relu = self.nonlinearity == "relu"
        for s in range(t - 1, -1, -1):
            rnn_step_backward(dh_seq[s], dh_next, hs[s + 1], da[s], relu)
            np.matmul(da[s], wh_t, out=dh_next)
        self.dh0 = dh_next
        return da, None
