"""First-order optimizers: SGD (momentum, Nesterov), RMSProp, Adam.

The update rules are those of cs231n's ``optim.py``. For a parameter ``w`` with gradient ``dw``,
learning rate ``lr`` and per-parameter state arrays kept under the parameter's name:

| optimizer | state | update |
|---|---|---|
| SGD | - | ``w -= lr * dw`` |
| SGD, momentum mu | ``v`` (velocity, starts at 0) | ``v = mu * v - lr * dw``; ``w += v`` |
| SGD, Nesterov | ``v`` | ``v_prev = v``; ``v = mu * v - lr * dw``; ``w += -mu * v_prev + (1 + mu) * v`` |
| RMSProp | ``cache`` | ``cache = decay * cache + (1 - decay) * dw**2``; ``w -= lr * dw / (sqrt(cache) + eps)`` |
| Adam | ``m``, ``v``, step ``t`` | ``t += 1``; ``m = b1*m + (1-b1)*dw``; ``v = b2*v + (1-b2)*dw**2``; |
|      |                        | ``w -= lr * (m / (1-b1**t)) / (sqrt(v / (1-b2**t)) + eps)`` |

Conventions, where implementations differ:

- ``eps`` is added *outside* the square root (cs231n, PyTorch's ``RMSprop`` and ``Adam``).
- Momentum SGD stores the velocity ``v`` with ``lr`` folded in (cs231n). PyTorch stores
  ``buf = -v / lr`` and steps ``w -= lr * buf``; both give identical steps while ``lr`` is constant,
  and differ only in how a velocity built under an old ``lr`` carries over after ``lr`` changes.
- Adam increments ``t`` before the bias correction, so the first step uses ``1 - b1**1``.
- ``weight_decay`` (coupled L2, as PyTorch's ``weight_decay``) adds ``weight_decay * w`` to ``dw``
  -- the derivative of ``0.5 * weight_decay * ||w||^2`` -- for *weights only*: parameters whose
  name ends in ``W`` (``"0.W"``, ``"2.layers.0.W"``), not biases ``b`` nor batch-norm
  ``gamma``/``beta``.

``opt.step(model)`` updates every ``(name, param, grad)`` of ``model.parameters()`` in place
(``param -= ...`` on the same array object, so layers keep their references). ``opt.lr`` may be
set between steps (schedules do). ``state_dict()`` is a flat dict of numeric arrays for an .npz
checkpoint: ``{"lr": ..., "t": ..., "m/0.W": ..., "v/0.W": ...}``; ``load_state_dict`` restores it
so that training continues bit for bit.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_fraction, check_positive, invalid_argument
from .kernels.optim import adam_update, rmsprop_update, sgd_momentum_update, sgd_update
from .registry import OPTIMIZERS


def is_weight(name: str) -> bool:
    """True for parameters that weight decay applies to: the last name component is ``W``."""
    return name.rsplit(".", 1)[-1] == "W"


class Optimizer:
    """Base class: the parameter loop, weight decay, learning rate and state handling.

    A subclass names its per-parameter state arrays in ``slots`` and implements
    ``_update(name, param, grad)``, which must change ``param`` in place.
    """

    slots: tuple[str, ...] = ()
    _options: tuple[str, ...] = ()  # constructor arguments besides lr and weight_decay, for get_config

    def __init__(self, lr: float, weight_decay: float = 0.0):
        self._name = type(self).__name__
        self.lr = check_positive(self._name, "lr", lr)
        self.weight_decay = check_positive(self._name, "weight_decay", weight_decay, allow_zero=True)
        self.t = 0  # number of steps taken
        self.state: dict[str, dict[str, np.ndarray]] = {slot: {} for slot in self.slots}

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        # >= 0 here (a schedule may anneal to 0); the constructor insists on > 0.
        self._lr = check_positive(self._name, "lr", value, allow_zero=True)

    # ------------------------------------------------------------------ stepping
    def step(self, model) -> None:
        """Apply one update to every parameter of ``model.parameters()``, in place."""
        self.t += 1
        for name, param, grad in model.parameters():
            if grad is None:
                raise ValueError(f"{self._name}.step: parameter '{name}' has no gradient (run backward first)")
            if grad.shape != param.shape:
                raise ValueError(
                    f"{self._name}.step: gradient of '{name}' has shape {grad.shape}, "
                    f"the parameter has shape {param.shape}"
                )
            decay = self.weight_decay if is_weight(name) else 0.0
            grad = np.ascontiguousarray(grad, dtype=param.dtype)
            if param.flags.c_contiguous:
                self._update(name, param, grad, decay)
            else:  # a strided view: update a contiguous copy, then write it back
                target = np.ascontiguousarray(param)
                self._update(name, target, grad, decay)
                param[...] = target

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray, weight_decay: float) -> None:
        """Update the C-contiguous ``param`` in place from ``grad`` (same shape and dtype, contiguous),
        with coupled L2 ``weight_decay`` (0 for parameters that are not weights). Subclasses call
        a kernel of ``layernet.kernels.optim`` on ``_flat`` views."""
        raise NotImplementedError

    def _slot(self, slot: str, name: str, param: np.ndarray) -> np.ndarray:
        """A 1-D view of the state array ``slot`` of parameter ``name`` (kept in the parameter's shape
        and dtype, zeros on first use); a kernel writes through it in place."""
        store = self.state[slot]
        if name not in store:
            store[name] = np.zeros_like(param)
        value = store[name]
        if value.shape != param.shape:
            raise ValueError(
                f"{self._name}: state '{slot}/{name}' has shape {value.shape}, "
                f"the parameter has shape {param.shape} (optimizer state from another model?)"
            )
        if value.dtype != param.dtype or not value.flags.c_contiguous:
            value = store[name] = np.ascontiguousarray(value, dtype=param.dtype)
        return _flat(value)

    # ------------------------------------------------------------------ state and config
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the step count, the lr and every state array: ``{"t", "lr", "<slot>/<name>"}``."""
        state = {"t": np.array(self.t, dtype=np.int64), "lr": np.array(self.lr, dtype=np.float64)}
        for slot, store in self.state.items():
            for name, value in store.items():
                state[f"{slot}/{name}"] = value.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned; ValueError naming the first unexpected array."""
        expected = ", ".join(["t", "lr"] + [f"{slot}/<param>" for slot in self.slots])
        new = {slot: {} for slot in self.slots}
        for key, value in state.items():
            slot, _, name = key.partition("/")
            if key not in ("t", "lr") and (slot not in new or not name):
                raise ValueError(
                    f"{self._name}.load_state_dict: unexpected array '{key}' (expected {expected}); "
                    f"state from another optimizer?"
                )
            if name:
                new[slot][name] = np.array(value)  # a copy: later steps must not write into the caller's dict
        for key in ("t", "lr"):
            if key not in state or np.shape(state[key]) != ():
                raise ValueError(f"{self._name}.load_state_dict: expected a scalar array '{key}' in the state")
        self.t = int(state["t"])
        self.lr = float(state["lr"])
        self.state = new

    def get_config(self) -> dict:
        """``{"type": "adam", "lr": ..., ...}``: the arguments that rebuild this optimizer."""
        config = {"type": self.type_name, "lr": self.lr}
        config.update({key: getattr(self, key) for key in self._options})
        config["weight_decay"] = self.weight_decay
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{self._name}({args})"


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum; see the module table."""

    _options = ("momentum", "nesterov")

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        self.momentum = check_fraction("SGD", "momentum", momentum)
        if not isinstance(nesterov, bool):
            raise invalid_argument("SGD", "nesterov", "true or false", nesterov)
        if nesterov and self.momentum == 0:
            raise invalid_argument("SGD", "nesterov", "false when momentum is 0 (Nesterov needs momentum > 0)", nesterov)
        self.nesterov = nesterov
        self.slots = ("v",) if self.momentum > 0 else ()
        super().__init__(lr, weight_decay)

    def _update(self, name, param, grad, weight_decay):
        dtype = param.dtype.type
        if self.momentum == 0:
            sgd_update(_flat(param), _flat(grad), dtype(self.lr), dtype(weight_decay))
            return
        sgd_momentum_update(_flat(param), _flat(grad), self._slot("v", name, param), dtype(self.lr), dtype(self.momentum),
                            dtype(1 + self.momentum), dtype(weight_decay), self.nesterov)


@OPTIMIZERS.register("rmsprop")
class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton 2012): divide by a running RMS of the gradient; see the module table.

    ``decay`` is PyTorch's ``alpha``; ``eps`` is added outside the square root, as in PyTorch.
    """

    slots = ("cache",)
    _options = ("decay", "eps")

    def __init__(self, lr: float, decay: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0):
        self.decay = check_fraction("RMSProp", "decay", decay)
        self.eps = check_positive("RMSProp", "eps", eps)
        super().__init__(lr, weight_decay)

    def _update(self, name, param, grad, weight_decay):
        dtype = param.dtype.type
        rmsprop_update(_flat(param), _flat(grad), self._slot("cache", name, param), dtype(self.lr), dtype(self.decay),
                       dtype(1 - self.decay), dtype(self.eps), dtype(weight_decay))


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction; ``t`` counts steps from 1; see the module table."""

    slots = ("m", "v")
    _options = ("beta1", "beta2", "eps")

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        self.beta1 = check_fraction("Adam", "beta1", beta1)
        self.beta2 = check_fraction("Adam", "beta2", beta2)
        self.eps = check_positive("Adam", "eps", eps)
        super().__init__(lr, weight_decay)

    def _update(self, name, param, grad, weight_decay):
        dtype = param.dtype.type
        b1, b2, t = self.beta1, self.beta2, self.t
        adam_update(_flat(param), _flat(grad), self._slot("m", name, param), self._slot("v", name, param), dtype(self.lr),
                    dtype(b1), dtype(1 - b1), dtype(b2), dtype(1 - b2), dtype(self.eps), dtype(1 - b1**t),
                    dtype(1 - b2**t), dtype(weight_decay))


def _flat(array: np.ndarray) -> np.ndarray:
    """A 1-D view of a C-contiguous array (the kernels index elements in memory order)."""
    return array.reshape(-1)


def clip_grad_norm(model, max_norm: float) -> float:
    """Scale every gradient of ``model`` in place so that their global L2 norm is at most ``max_norm``.

    The norm is over all parameters together, sqrt(sum over every gradient element g^2), as
    ``torch.nn.utils.clip_grad_norm_``; when it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / (norm + 1e-6)`` (PyTorch's factor), so directions are kept. Returns the norm before
    clipping (a float, accumulated in float64). Used against exploding gradients in recurrent networks.
    """
    max_norm = check_positive("clip_grad_norm", "max_norm", max_norm)
    grads = [grad for _, _, grad in model.parameters() if grad is not None]
    norm = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for grad in grads:
            grad *= grad.dtype.type(scale)
    return norm
