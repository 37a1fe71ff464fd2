"""Gated recurrent unit layer, with PyTorch's ``nn.GRU`` equations (Cho et al. 2014)."""

from __future__ import annotations

import numpy as np

from ..kernels.recurrent import gru_candidate_preactivation, gru_gate_preactivations, gru_hidden, gru_step_backward
from ..registry import LAYERS
from .recurrent import Recurrent


@LAYERS.register("gru")
class GRU(Recurrent):
    """GRU over a whole sequence, gate blocks [r | z | n] as in ``nn.GRU``.

    Shapes: x (N, T, D); Wx (D, 3H), Wh (H, 3H), bx (3H,), bh (3H,) (``nn.GRU``'s weight_ih_l0.T,
    weight_hh_l0.T, bias_ih_l0, bias_hh_l0); h0 (N, H) (zeros by default); out (N, T, H) or (N, H).

    Step, with xw = x_t Wx + bx and hw = h_{t-1} Wh + bh:
    r = sigmoid(xw_r + hw_r), z = sigmoid(xw_z + hw_z), n = tanh(xw_n + r * hw_n),
    h_t = (1 - z) * n + z * h_{t-1}. The reset gate multiplies hw_n *after* the product (PyTorch's
    and cuDNN's form; the 2014 paper resets h before it), so the bias bh_n is inside the reset.

    Backward through time, t = T .. 1: dh = dout_t + dh^next; dn = dh (1 - z); dz = dh (h_{t-1} - n);
    da_n = dn (1 - n^2); da_r = da_n hw_n r(1-r); da_z = dz z(1-z). The input side gets
    dxw = [da_r | da_z | da_n], the recurrent side dhw = [da_r | da_z | da_n * r];
    dh^next <- dh * z + dhw Wh^T. Over all steps dWx = sum_t x_t^T dxw_t, dbx = sum dxw,
    dWh = sum_t h_{t-1}^T dhw_t, dbh = sum dhw, dx_t = dxw_t Wx^T. ``dh0`` is the final dh^next.
    """

    gates = 3
    bias_keys = ("bx", "bh")

    def _forward_steps(self, xw, p, h0):
        t, n, g = xw.shape
        h = g // 3
        hs = np.empty((t + 1, n, h), dtype=xw.dtype)
        hs[0] = h0
        gates = np.empty((t, n, g), dtype=xw.dtype)
        hws = np.empty((t, n, g), dtype=xw.dtype)
        for s in range(t):
            np.matmul(hs[s], p["Wh"], out=hws[s])
            hws[s] += p["bh"]
            gru_gate_preactivations(xw[s], hws[s], gates[s])           # (a_r, a_z) / 2
            np.tanh(gates[s, :, :2 * h], out=gates[s, :, :2 * h])      # sigmoid(x) = (1 + tanh(x/2)) / 2
            gru_candidate_preactivation(xw[s], hws[s], gates[s])       # r, z; xw_n + r * hw_n
            np.tanh(gates[s, :, 2 * h:], out=gates[s, :, 2 * h:])      # n
            gru_hidden(gates[s], hs[s], hs[s + 1])
        return hs, {"gates": gates, "hws": hws}

    def _backward_steps(self, dh_seq, hs, p, cache):
        gates, hws = cache["gates"], cache["hws"]
        t, n, h = dh_seq.shape
        dxw = np.empty((t, n, 3 * h), dtype=dh_seq.dtype)
        dhw = np.empty((t, n, 3 * h), dtype=dh_seq.dtype)
        dh_next = np.zeros((n, h), dtype=dh_seq.dtype)
        direct = np.empty((n, h), dtype=dh_seq.dtype)
        wh_t = np.ascontiguousarray(p["Wh"].T)
        for s in range(t - 1, -1, -1):
            gru_step_backward(dh_seq[s], dh_next, gates[s], hws[s], hs[s], dxw[s], dhw[s], direct)
            np.matmul(dhw[s], wh_t, out=dh_next)
            dh_next += direct
        self.dh0 = dh_next
        return dxw, dhw
