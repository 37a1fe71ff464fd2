"""What the recurrent layers (``RNN``, ``LSTM``, ``GRU``) share: arguments, initialisation, the
input and state checks, and the whole-sequence matrix products around their per-step loops.

Layout: inputs are batch-first ``x (N, T, D)``; the output is ``(N, T, H)`` (every step's hidden
state) or ``(N, H)`` (the last one) with ``return_sequences=False``. A layer with ``G`` gate
blocks (RNN 1, GRU 3, LSTM 4) holds ``Wx (D, G*H)`` and ``Wh (H, G*H)``.

Forward: the input products of all steps are one BLAS call on the time-major input,
``xw = X (T*N, D) @ Wx + bias`` (``X`` is x transposed to ``(T, N, D)``), then each subclass's
``_forward_steps`` runs the recurrence, one ``h_{t-1} @ Wh`` product and its elementwise work per
step.

Threads: forward and backward run their products on one BLAS thread (``layernet._blas``). The
per-step products are small (8 MFLOP for N = H = 128) and come one after another with elementwise
work in between, so a second OpenBLAS thread has to be woken for each and the step waits for it;
on a shared machine it may not be scheduled for milliseconds. LSTM(28 -> 128), T = 28, N = 128,
forward + backward, float32, fresh processes at load average ~9 on 2 cores: 600-660 ms with two
BLAS threads for everything, 600-660 ms with one thread for the step loops only (the
whole-sequence weight-gradient products then dominate), 166-177 ms with one thread throughout;
PyTorch on two threads took 1.0-1.6 s in the same minutes.

Backward through time: a subclass's ``_backward_steps`` walks the steps in reverse and returns
``dxw (T, N, G*H)``, the gradient of every step's input pre-activations, and ``dhw``, that of the
recurrent pre-activations (the same array except in the GRU). Then, over the whole sequence:
``dWx = X^T dxw``, ``dbias = sum(dxw)``, ``dWh = Hprev^T dhw`` with ``Hprev`` the states
``h_0 .. h_{T-1}`` that entered each step, and ``dx = dxw @ Wx^T``. The gradient of the initial
state is kept in ``layer.dh0`` (and ``layer.dc0`` for the LSTM) after every backward.

Initialisation (``init``): ``"uniform"`` (default) is PyTorch's for recurrent layers, every
parameter uniform in ``[-1/sqrt(H), 1/sqrt(H)]``; any name of ``layernet.init`` or a float std
draws the two weight matrices that way (fan-in D for Wx, H for Wh) and zeros the biases.
"""

from __future__ import annotations

import numpy as np

from .._blas import single_threaded_blas
from .._validation import check_int, format_shape, invalid_argument
from ..init import as_rng, check_init, initialize
from .base import Layer


class Recurrent(Layer):
    """Base of RNN, LSTM and GRU; see the module docstring. Subclasses set ``gates`` and
    ``bias_keys`` and implement ``_forward_steps`` and ``_backward_steps``."""

    _positional = ("input_size", "hidden_size")
    inferred_args = ("input_size",)
    gates = 1
    #: ``(key added to xw, key added to hw or None)``: ("b", None) for RNN/LSTM, ("bx", "bh") for GRU.
    bias_keys = ("b", None)
    #: names of the initial states forward accepts (``h0``; the LSTM adds ``c0``).
    state_names = ("h0",)
    #: weight decay applies to the two weight matrices, not the biases
    decayed = ("Wx", "Wh")

    def __init__(self, input_size, hidden_size, return_sequences=True, *, init="uniform", rng=None):
        super().__init__()
        self.input_size = check_int(self.name, "input_size", input_size)
        self.hidden_size = check_int(self.name, "hidden_size", hidden_size)
        if not isinstance(return_sequences, (bool, np.bool_)):
            raise invalid_argument(self.name, "return_sequences", "true or false", return_sequences)
        self.return_sequences = bool(return_sequences)
        if init != "uniform":
            check_init(self.name, init)
        self.init = init
        self.rng = as_rng(rng)
        d, h, g = self.input_size, self.hidden_size, self.gates * self.hidden_size
        shapes = {"Wx": (d, g), "Wh": (h, g), **{key: (g,) for key in self.bias_keys if key}}
        for key, shape in shapes.items():
            self.init_param(key, self._initial(key, shape))
        self.dh0 = None
        self.final_state = None

    def _initial(self, key, shape):
        if self.init == "uniform":
            bound = 1.0 / np.sqrt(self.hidden_size)
            return self.rng.uniform(-bound, bound, size=shape).astype(np.float32)
        if key not in ("Wx", "Wh"):
            return np.zeros(shape, dtype=np.float32)
        fan_in = self.input_size if key == "Wx" else self.hidden_size
        return initialize(self.init, shape, fan_in, shape[1], self.rng)

    @classmethod
    def infer_config(cls, config, input_shape):
        config = dict(config)
        if config.get("input_size") is None and input_shape is not None and len(input_shape) >= 1:
            config["input_size"] = int(input_shape[-1])
        return config

    def output_shape(self, input_shape):
        if len(input_shape) != 2 or input_shape[1] != self.input_size:
            hint = " (images? data.sequence: rows reads them row by row)" if len(input_shape) == 3 else ""
            raise ValueError(f"{self!r}: expected input of shape (N, T, {self.input_size}), found "
                             f"{format_shape((None, *input_shape))}{hint}")
        steps = input_shape[0]
        return (steps, self.hidden_size) if self.return_sequences else (self.hidden_size,)

    # ------------------------------------------------------------------ checks
    def _check_x(self, x):
        x = self.check_input(x, ndim=3, expected=f"(N, T, {self.input_size})")
        if x.shape[2] != self.input_size or x.shape[1] == 0:
            raise self.fail_shape(f"(N, T, {self.input_size}) with T >= 1", x.shape)
        return x

    def _initial_state(self, name, value, n, dtype):
        """An initial state (N, H) in ``dtype``: zeros for None, else the checked array (copied)."""
        if value is None:
            return np.zeros((n, self.hidden_size), dtype=dtype)
        value = self.check_input(value, ndim=2, expected=f"{name} (N, H) = ({n}, {self.hidden_size})")
        if value.shape != (n, self.hidden_size):
            raise ValueError(f"{self!r}: expected {name} of shape ({n}, {self.hidden_size}), found {value.shape}")
        return np.array(value, dtype=dtype)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, x, training=False, h0=None):
        """x (N, T, D) -> (N, T, H), or (N, H) without return_sequences; ``h0`` (N, H) or zeros."""
        return self._forward(x, {"h0": h0})

    def _forward(self, x, states):
        with single_threaded_blas():  # see the module docstring
            return self._forward_sequence(x, states)

    def _forward_sequence(self, x, states):
        x = self._check_x(x)
        self.check_param_shapes()
        dtype = self.compute_dtype(x)
        n, t, d = x.shape
        p = {key: value.astype(dtype, copy=False) for key, value in self.params.items()}
        init = [self._initial_state(name, states.get(name), n, dtype) for name in self.state_names]
        xt = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=dtype)            # (T, N, D)
        xw = xt.reshape(t * n, d) @ p["Wx"]
        xw += p[self.bias_keys[0]]
        xw = xw.reshape(t, n, -1)
        hs, cache = self._forward_steps(xw, p, *init)                            # hs (T+1, N, H), hs[0] = h0
        #: the last step's state, (h_T,) or (h_T, c_T): where a sampler continues from
        self.final_state = (hs[t].copy(),) + ((cache["cs"][t].copy(),) if "cs" in cache else ())
        self.save_cache(x.dtype, xt, hs, p, cache)
        if not self.return_sequences:
            return hs[t].copy()
        return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))

    def backward(self, dout):
        with single_threaded_blas():  # see the module docstring
            return self._backward_sequence(dout)

    def _backward_sequence(self, dout):
        x_dtype, xt, hs, p, cache = self.pop_cache()
        t, n, d = xt.shape
        h = self.hidden_size
        shape = (n, t, h) if self.return_sequences else (n, h)
        dout = self.check_dout(dout, shape, xt.dtype)
        dh_seq = np.zeros((t, n, h), dtype=xt.dtype)
        if self.return_sequences:
            dh_seq[...] = dout.transpose(1, 0, 2)
        else:
            dh_seq[t - 1] = dout
        dxw, dhw = self._backward_steps(dh_seq, hs, p, cache)                   # (T, N, G*H) each
        dxw2 = dxw.reshape(t * n, -1)
        dhw2 = dxw2 if dhw is None else dhw.reshape(t * n, -1)
        bx, bh = self.bias_keys
        self.set_grad("Wx", xt.reshape(t * n, d).T @ dxw2)
        self.set_grad("Wh", hs[:t].reshape(t * n, h).T @ dhw2)
        self.set_grad(bx, dxw2.sum(axis=0))
        if bh is not None:
            self.set_grad(bh, dhw2.sum(axis=0))
        if not self.needs_input_grad:
            return None
        dx = (dxw2 @ p["Wx"].T).reshape(t, n, d).transpose(1, 0, 2)
        return np.ascontiguousarray(dx, dtype=x_dtype)

    def _forward_steps(self, xw, p, *initial):
        """Run the recurrence; return ``(hs (T+1, N, H) with hs[0] = h0, cache dict)``."""
        raise NotImplementedError

    def _backward_steps(self, dh_seq, hs, p, cache):
        """Backward through time from dh_seq (T, N, H); set ``self.dh0``; return ``(dxw, dhw or None)``."""
        raise NotImplementedError
