"""Per-step gate arithmetic of the recurrent layers (vanilla RNN, LSTM, GRU) and the embedding
table's gradient.

The layers do the matrix products with numpy (BLAS): the input products of all steps in one
``(T*N, D) @ (D, G)`` call before the loop, the recurrent product ``h_{t-1} @ Wh`` once per
step. What is left per step is elementwise work on ``(N, G)`` arrays:

- the arithmetic (adding the products, combining gates into the new state, and every backward
  step) is in the kernels below: plain loops without calls, which LLVM vectorises;
- the transcendental functions are numpy's ``np.tanh`` on whole blocks, between two kernels.
  Numba has no vector math library here (SVML is absent), so ``math.tanh``/``math.exp`` in a
  kernel are scalar libm calls: the fused LSTM step kernel that did it all took 1.3 ms for
  N = H = 128 (float32), while kernel + ``np.tanh`` + kernel takes 0.18 ms (numpy's tanh is
  SIMD: 64k float32 values in 0.05 ms). The sigmoid is therefore written with tanh,

      sigmoid(a) = 1 / (1 + exp(-a)) = (1 + tanh(a / 2)) / 2,

  so a step needs one tanh over all its gate pre-activations (the sigmoid ones halved first).
  Near saturation this form has an absolute (not relative) error of one rounding, which is what
  the gradients s(1 - s) need.

Layouts are time-major inside the layers: one step's rows ``[t]`` are contiguous ``(N, ...)``.
Gate blocks sit side by side on the last axis: LSTM ``[i | f | o | g]`` (cs231n), GRU ``[r | z | n]``
(PyTorch). Kernels are generic over float32 and float64 (Numba compiles one version per dtype).
Serial: a step's elementwise work is tens of microseconds, about what waking a thread pool costs.
"""

from __future__ import annotations

from ._jit import njit_kernel


# ----------------------------------------------------------------------------- vanilla RNN
@njit_kernel
def rnn_step_backward(dout_t, dh_next, h_t, da, relu):
    """da = (dout_t + dh_next) * f'(a), with f' from the output: 1 - h^2 (tanh) or [h > 0] (ReLU); all (N, H)."""
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
def lstm_preactivations(xw_t, hw, a):
    """a = xw_t + hw, (N, 4H) in the order [i | f | o | g], with the three sigmoid blocks halved
    (tanh(a / 2) gives their sigmoids). ``a`` may be ``hw`` itself."""
    n, g = a.shape
    three_h = 3 * (g // 4)
    for r in range(n):
        for j in range(three_h):
            a[r, j] = 0.5 * (xw_t[r, j] + hw[r, j])
        for j in range(three_h, g):
            a[r, j] = xw_t[r, j] + hw[r, j]


@njit_kernel
def lstm_cell(tanh_a, c_prev, gates_t, c_t):
    """From tanh of the pre-activations (N, 4H): gates_t <- [i | f | o | g] with i, f, o =
    (1 + tanh) / 2 and g = tanh; c_t = f * c_prev + i * g; c_prev, c_t (N, H)."""
    n, hidden = c_t.shape
    for r in range(n):
        for j in range(hidden):
            i = 0.5 + 0.5 * tanh_a[r, j]
            f = 0.5 + 0.5 * tanh_a[r, hidden + j]
            o = 0.5 + 0.5 * tanh_a[r, 2 * hidden + j]
            g = tanh_a[r, 3 * hidden + j]
            gates_t[r, j] = i
            gates_t[r, hidden + j] = f
            gates_t[r, 2 * hidden + j] = o
            gates_t[r, 3 * hidden + j] = g
            c_t[r, j] = f * c_prev[r, j] + i * g


@njit_kernel
def lstm_step_backward(dout_t, dh_next, dc, gates_t, tanh_c, c_prev, da):
    """One LSTM step backward.

    dh = dout_t + dh_next; dc (N, H) holds the gradient of c_t on entry and of c_{t-1} on exit:
    dc_t = dc + dh * o * (1 - tanh(c_t)^2); then da (N, 4H), the gradient of the pre-activations:
    da_i = dc_t g i(1-i), da_f = dc_t c_prev f(1-f), da_o = dh tanh(c_t) o(1-o), da_g = dc_t i (1-g^2);
    dc_{t-1} = dc_t * f. ``tanh_c`` is tanh(c_t), kept by the forward pass.
    """
    n, hidden = tanh_c.shape
    for r in range(n):
        for j in range(hidden):
            i = gates_t[r, j]
            f = gates_t[r, hidden + j]
            o = gates_t[r, 2 * hidden + j]
            g = gates_t[r, 3 * hidden + j]
            dh = dout_t[r, j] + dh_next[r, j]
            tc = tanh_c[r, j]
            dct = dc[r, j] + dh * o * (1.0 - tc * tc)
            da[r, j] = dct * g * i * (1.0 - i)
            da[r, hidden + j] = dct * c_prev[r, j] * f * (1.0 - f)
            da[r, 2 * hidden + j] = dh * tc * o * (1.0 - o)
            da[r, 3 * hidden + j] = dct * i * (1.0 - g * g)
            dc[r, j] = dct * f


# ----------------------------------------------------------------------------- GRU
@njit_kernel
def gru_gate_preactivations(xw_t, hw, gates_t):
    """gates_t[:, :2H] <- (xw_t + hw) / 2 for the r and z blocks (tanh of it gives their sigmoids)."""
    n, g = gates_t.shape
    two_h = 2 * (g // 3)
    for r in range(n):
        for j in range(two_h):
            gates_t[r, j] = 0.5 * (xw_t[r, j] + hw[r, j])


@njit_kernel
def gru_candidate_preactivation(xw_t, hw, gates_t):
    """From tanh of the halved r, z pre-activations in gates_t[:, :2H]: r, z = (1 + tanh) / 2 stored
    in place, and gates_t[:, 2H:] <- xw_n + r * hw_n, the candidate's pre-activation."""
    n, g = gates_t.shape
    hidden = g // 3
    for r_ in range(n):
        for j in range(2 * hidden):
            gates_t[r_, j] = 0.5 + 0.5 * gates_t[r_, j]
        for j in range(hidden):
            gates_t[r_, 2 * hidden + j] = xw_t[r_, 2 * hidden + j] + gates_t[r_, j] * hw[r_, 2 * hidden + j]


@njit_kernel
def gru_hidden(gates_t, h_prev, h_t):
    """h_t = (1 - z) * n + z * h_prev, with z and n = tanh(...) from gates_t (N, 3H) = [r | z | n]."""
    n_rows, hidden = h_t.shape
    for r_ in range(n_rows):
        for j in range(hidden):
            z = gates_t[r_, hidden + j]
            h_t[r_, j] = (1.0 - z) * gates_t[r_, 2 * hidden + j] + z * h_prev[r_, j]


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
