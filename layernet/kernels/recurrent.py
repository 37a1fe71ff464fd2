"""Per-step gate arithmetic of the recurrent layers (vanilla RNN, LSTM, GRU) and the embedding
table's gradient.

The layers do the matrix products with numpy (BLAS): the input products of all steps in one
``(T*N, D) @ (D, G)`` call before the loop, the recurrent product ``h_{t-1} @ Wh`` once per
step. What is left per step is elementwise work on ``(N, G)`` arrays, done here in one pass:

- forward kernels take the step's pre-activations ``xw_t`` (input product plus bias) and
  ``hw`` (recurrent product) and write the gate values and the new state;
- backward kernels take the upstream gradient of the step's output and of its state and write
  the gradient of the pre-activations (``da``, shared by the input and recurrent products) and of
  the previous cell state.

Layouts are time-major inside the layers: one step's rows ``[t]`` are contiguous ``(N, ...)``.
Gate blocks sit side by side on the last axis: LSTM ``[i | f | o | g]`` (cs231n), GRU ``[r | z | n]``
(PyTorch). Sigmoid is computed as ``1 / (1 + exp(-a))``: for a very negative ``a`` the exponential
overflows to inf and the result is exactly 0, never NaN. Kernels are generic over float32 and
float64 (Numba compiles one version per dtype). Serial: for the shapes of the benchmark (N = 128,
H = 128) a step's gate work takes tens of microseconds and waking a thread pool costs as much.
"""

from __future__ import annotations

import math

from ._jit import njit_kernel


@njit_kernel
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


# ----------------------------------------------------------------------------- vanilla RNN
@njit_kernel
def rnn_step_forward(xw_t, hw, h_t, relu):
    """h_t = tanh(xw_t + hw) (or max(0, .) with ``relu``); all (N, H)."""
    n, hidden = h_t.shape
    for i in range(n):
        for j in range(hidden):
            a = xw_t[i, j] + hw[i, j]
            if relu:
                h_t[i, j] = a if a > 0 else 0.0
            else:
                h_t[i, j] = math.tanh(a)


@njit_kernel
def rnn_step_backward(dout_t, dh_next, h_t, da, relu):
    """da = (dout_t + dh_next) * f'(a), with f' from the output: 1 - h^2 (tanh) or [h > 0] (ReLU)."""
    n, hidden = h_t.shape
    for i in range(n):
        for j in range(hidden):
            dh = dout_t[i, j] + dh_next[i, j]
            h = h_t[i, j]
            if relu:
                da[i, j] = dh if h > 0 else 0.0
            else:
                da[i, j] = dh * (1.0 - h * h)


# ----------------------------------------------------------------------------- LSTM
@njit_kernel
def lstm_step_forward(xw_t, hw, c_prev, gates_t, c_t, h_t):
    """One LSTM step from the pre-activations a = xw_t + hw, (N, 4H) in the order [i | f | o | g].

    gates_t (N, 4H) <- [sigmoid(a_i) | sigmoid(a_f) | sigmoid(a_o) | tanh(a_g)];
    c_t = f * c_prev + i * g; h_t = o * tanh(c_t); c_prev, c_t, h_t (N, H).
    """
    n, hidden = h_t.shape
    for r in range(n):
        for j in range(hidden):
            i = _sigmoid(xw_t[r, j] + hw[r, j])
            f = _sigmoid(xw_t[r, hidden + j] + hw[r, hidden + j])
            o = _sigmoid(xw_t[r, 2 * hidden + j] + hw[r, 2 * hidden + j])
            g = math.tanh(xw_t[r, 3 * hidden + j] + hw[r, 3 * hidden + j])
            gates_t[r, j] = i
            gates_t[r, hidden + j] = f
            gates_t[r, 2 * hidden + j] = o
            gates_t[r, 3 * hidden + j] = g
            c = f * c_prev[r, j] + i * g
            c_t[r, j] = c
            h_t[r, j] = o * math.tanh(c)


@njit_kernel
def lstm_step_backward(dout_t, dh_next, dc, gates_t, c_t, c_prev, da):
    """One LSTM step backward.

    dh = dout_t + dh_next; dc (N, H) holds the gradient of c_t on entry and of c_{t-1} on exit:
    dc_t = dc + dh * o * (1 - tanh(c_t)^2); then da (N, 4H), the gradient of the pre-activations:
    da_i = dc_t g i(1-i), da_f = dc_t c_prev f(1-f), da_o = dh tanh(c_t) o(1-o), da_g = dc_t i (1-g^2);
    dc_{t-1} = dc_t * f.
    """
    n, hidden = c_t.shape
    for r in range(n):
        for j in range(hidden):
            i = gates_t[r, j]
            f = gates_t[r, hidden + j]
            o = gates_t[r, 2 * hidden + j]
            g = gates_t[r, 3 * hidden + j]
            dh = dout_t[r, j] + dh_next[r, j]
            tc = math.tanh(c_t[r, j])
            dct = dc[r, j] + dh * o * (1.0 - tc * tc)
            da[r, j] = dct * g * i * (1.0 - i)
            da[r, hidden + j] = dct * c_prev[r, j] * f * (1.0 - f)
            da[r, 2 * hidden + j] = dh * tc * o * (1.0 - o)
            da[r, 3 * hidden + j] = dct * i * (1.0 - g * g)
            dc[r, j] = dct * f


# ----------------------------------------------------------------------------- GRU
@njit_kernel
def gru_step_forward(xw_t, hw, h_prev, gates_t, h_t):
    """One GRU step (PyTorch's equations); xw_t = x Wx + bx and hw = h_prev Wh + bh, (N, 3H) as [r | z | n].

    r = sigmoid(xw_r + hw_r), z = sigmoid(xw_z + hw_z), n = tanh(xw_n + r * hw_n),
    h_t = (1 - z) * n + z * h_prev. gates_t (N, 3H) <- [r | z | n].
    """
    n_rows, hidden = h_t.shape
    for r_ in range(n_rows):
        for j in range(hidden):
            r = _sigmoid(xw_t[r_, j] + hw[r_, j])
            z = _sigmoid(xw_t[r_, hidden + j] + hw[r_, hidden + j])
            n = math.tanh(xw_t[r_, 2 * hidden + j] + r * hw[r_, 2 * hidden + j])
            gates_t[r_, j] = r
            gates_t[r_, hidden + j] = z
            gates_t[r_, 2 * hidden + j] = n
            h_t[r_, j] = (1.0 - z) * n + z * h_prev[r_, j]


@njit_kernel
def gru_step_backward(dout_t, dh_next, gates_t, hw, h_prev, dxw, dhw, dh_direct):
    """One GRU step backward; dh = dout_t + dh_next (N, H).

    dn = dh (1 - z), dz = dh (h_prev - n), da_n = dn (1 - n^2) (the gradient of tanh's argument);
    da_r = (da_n * hw_n) r (1 - r), da_z = dz z (1 - z).
    dxw (N, 3H) <- [da_r | da_z | da_n]: the gradient of xw (of Wx's product and of bx);
    dhw (N, 3H) <- [da_r | da_z | da_n * r]: the gradient of hw (of Wh's product and of bh);
    dh_direct (N, H) <- dh * z, the part of dh_prev that skips the products (the caller adds dhw @ Wh.T).
    """
    n_rows, hidden = h_prev.shape
    for r_ in range(n_rows):
        for j in range(hidden):
            r = gates_t[r_, j]
            z = gates_t[r_, hidden + j]
            n = gates_t[r_, 2 * hidden + j]
            dh = dout_t[r_, j] + dh_next[r_, j]
            dan = dh * (1.0 - z) * (1.0 - n * n)
            dar = dan * hw[r_, 2 * hidden + j] * r * (1.0 - r)
            daz = dh * (h_prev[r_, j] - n) * z * (1.0 - z)
            dxw[r_, j] = dar
            dxw[r_, hidden + j] = daz
            dxw[r_, 2 * hidden + j] = dan
            dhw[r_, j] = dar
            dhw[r_, hidden + j] = daz
            dhw[r_, 2 * hidden + j] = dan * r
            dh_direct[r_, j] = dh * z


# ----------------------------------------------------------------------------- embedding
@njit_kernel
def embedding_backward(indices, dout, dW):
    """dW[indices[k]] += dout[k] for every k, in order (repeated indices accumulate).

    indices (L,) integers in [0, V) (checked by the caller); dout (L, D); dW (V, D) zeroed by the caller.
    """
    for k in range(indices.shape[0]):
        row = indices[k]
        for j in range(dout.shape[1]):
            dW[row, j] += dout[k, j]
