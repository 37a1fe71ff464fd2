"""Long short-term memory layer (cs231n's lstm_forward / lstm_backward; PyTorch's ``nn.LSTM``)."""

from __future__ import annotations

import numpy as np

from ..kernels.recurrent import lstm_cell, lstm_preactivations, lstm_step_backward
from ..registry import LAYERS
from .recurrent import Recurrent


@LAYERS.register("lstm")
class LSTM(Recurrent):
    """LSTM over a whole sequence (Hochreiter & Schmidhuber 1997, with a forget gate).

    Shapes: x (N, T, D); Wx (D, 4H), Wh (H, 4H), b (4H,), gate blocks in cs231n's order
    [i | f | o | g]; h0, c0 (N, H) (zeros by default); out (N, T, H) or (N, H) (h_T) with
    ``return_sequences=False``. PyTorch orders its blocks i, f, g, o and has two biases: copy
    ``W_ih`` blocks (i, f, o, g) transposed into Wx, likewise ``W_hh`` into Wh, b = b_ih + b_hh.

    Step: a = x_t Wx + h_{t-1} Wh + b; i, f, o = sigmoid(a_i, a_f, a_o); g = tanh(a_g);
    c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).

    Backward through time, t = T .. 1, with dh^next = dc^next = 0 after the last step:
    dh = dout_t + dh^next; dc = dc^next + dh * o * (1 - tanh(c_t)^2);
    da_i = dc g i(1-i), da_f = dc c_{t-1} f(1-f), da_o = dh tanh(c_t) o(1-o), da_g = dc i (1-g^2)
    (sigmoid' = s(1-s), tanh' = 1 - tanh^2); dc^next <- dc * f, dh^next <- da Wh^T. Over all steps
    dWx = sum_t x_t^T da_t, dWh = sum_t h_{t-1}^T da_t, db = sum da_t, dx_t = da_t Wx^T.
    ``dh0``, ``dc0`` are the final dh^next, dc^next.
    """

    gates = 4
    state_names = ("h0", "c0")

    def __init__(self, input_size, hidden_size, return_sequences=True, *, init="uniform", rng=None):
        super().__init__(input_size, hidden_size, return_sequences, init=init, rng=rng)
        self.dc0 = None

    def forward(self, x, training=False, h0=None, c0=None):
        """x (N, T, D) -> (N, T, H), or (N, H) without return_sequences; h0, c0 (N, H) or zeros."""
        return self._forward(x, {"h0": h0, "c0": c0})

    def _forward_steps(self, xw, p, h0, c0):
        t, n, g = xw.shape
        h = g // 4
        hs = np.empty((t + 1, n, h), dtype=xw.dtype)
        cs = np.empty((t + 1, n, h), dtype=xw.dtype)
        hs[0], cs[0] = h0, c0
        gates = np.empty((t, n, g), dtype=xw.dtype)
        tanh_c = np.empty((t, n, h), dtype=xw.dtype)
        a = np.empty((n, g), dtype=xw.dtype)
        for s in range(t):
            np.matmul(hs[s], p["Wh"], out=a)
            lstm_preactivations(xw[s], a, a)          # sigmoid blocks halved: sigmoid(x) = (1 + tanh(x/2)) / 2
            np.tanh(a, out=a)
            lstm_cell(a, cs[s], gates[s], cs[s + 1])
            np.tanh(cs[s + 1], out=tanh_c[s])
            np.multiply(gates[s, :, 2 * h:3 * h], tanh_c[s], out=hs[s + 1])   # h = o * tanh(c)
        return hs, {"cs": cs, "gates": gates, "tanh_c": tanh_c}

    def _backward_steps(self, dh_seq, hs, p, cache):
        cs, gates, tanh_c = cache["cs"], cache["gates"], cache["tanh_c"]
        t, n, h = dh_seq.shape
        da = np.empty((t, n, 4 * h), dtype=dh_seq.dtype)
        dh_next = np.zeros((n, h), dtype=dh_seq.dtype)
        dc = np.zeros((n, h), dtype=dh_seq.dtype)
        wh_t = np.ascontiguousarray(p["Wh"].T)
        for s in range(t - 1, -1, -1):
            lstm_step_backward(dh_seq[s], dh_next, dc, gates[s], tanh_c[s], cs[s], da[s])
            np.matmul(da[s], wh_t, out=dh_next)
        self.dh0, self.dc0 = dh_next, dc
        return da, None
