"""First-order optimizers: SGD (momentum, Nesterov), RMSProp, Adam, AdamW, Adagrad, Adadelta.

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
| AdamW | as Adam | ``w -= lr * weight_decay * w`` (decoupled, before the Adam step on the raw ``dw``) |
| Adagrad | ``sum`` (starts at 0) | ``sum += dw**2``; ``w -= lr * dw / (sqrt(sum) + eps)`` (``lr_decay`` 0) |
| Adadelta | ``square_avg``, ``acc_delta`` | ``a = rho*a + (1-rho)*dw**2``; ``d = sqrt(u + eps) / sqrt(a + eps) * dw``; |
|          |                              | ``u = rho*u + (1-rho)*d**2``; ``w -= lr * d`` |

Conventions, where implementations differ:

- ``eps`` is added *outside* the square root (cs231n, PyTorch's ``RMSprop`` and ``Adam``).
- Momentum SGD stores the velocity ``v`` with ``lr`` folded in (cs231n). PyTorch stores
  ``buf = -v / lr`` and steps ``w -= lr * buf``; both give identical steps while ``lr`` is constant,
  and differ only in how a velocity built under an old ``lr`` carries over after ``lr`` changes.
- Adam increments ``t`` before the bias correction, so the first step uses ``1 - b1**1``.
- ``weight_decay`` (coupled L2, as PyTorch's ``weight_decay``) adds ``weight_decay * w`` to ``dw``
  -- the derivative of ``0.5 * weight_decay * ||w||^2`` -- for the parameters the model names in
  ``model.decayed_names()``: each layer declares its own (``Layer.decayed``: weights, not biases
  nor batch-norm ``gamma``/``beta``), containers ask their children. Adagrad and Adadelta couple
  it the same way (as ``torch.optim``); AdamW decouples it (Loshchilov & Hutter 2019) and decays
  the same set of parameters.

``opt.step(model)`` updates every ``(name, param, grad)`` of ``model.parameters()`` in place
(``param -= ...`` on the same array object, so layers keep their references). ``opt.lr`` may be
set between steps (schedules do). ``state_dict()`` is a flat dict of numeric arrays for an .npz
checkpoint: ``{"lr": ..., "t": ..., "m/0.W": ..., "v/0.W": ...}``; ``load_state_dict`` restores it
so that training continues bit for bit.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_fraction, check_positive, invalid_argument
from .kernels.optim import (
    adadelta_update,
    adagrad_update,
    adam_update,
    adamw_update,
    rmsprop_update,
    sgd_momentum_update,
    sgd_update,
)
from .registry import OPTIMIZERS


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
        decayed = self._decayed(model) if self.weight_decay else set()
        for name, param, grad in model.parameters():
            if grad is None:
                raise ValueError(f"{self._name}.step: parameter '{name}' has no gradient (run backward first)")
            if grad.shape != param.shape:
                raise ValueError(
                    f"{self._name}.step: gradient of '{name}' has shape {grad.shape}, "
                    f"the parameter has shape {param.shape}"
                )
            decay = self.weight_decay if name in decayed else 0.0
            grad = np.ascontiguousarray(grad, dtype=param.dtype)
            if param.flags.c_contiguous:
                self._update(name, param, grad, decay)
            else:  # a strided view: update a contiguous copy, then write it back
                target = np.ascontiguousarray(param)
                self._update(name, target, grad, decay)
                param[...] = target

    def _decayed(self, model) -> set[str]:
        """The names of the parameters weight decay applies to, as the model declares them."""
        declared = getattr(model, "decayed_names", None)
        if declared is None:
            raise TypeError(
                f"{self._name}.step: weight_decay={self.weight_decay} needs a model with decayed_names() "
                f"(the parameters it applies to, as Sequential has); found {type(model).__name__} without it"
            )
        return set(declared())

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
@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019), PyTorch's ``AdamW``.

    Each step first shrinks the weights, ``w -= lr * weight_decay * w``, then takes Adam's step
    on the raw gradient (the decay never enters ``m`` or ``v``). The decay applies to the same
    parameters as the other optimizers' coupled decay (weights, not biases or normalisation
    parameters); the default ``weight_decay`` is PyTorch's 1e-2.
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        super().__init__(lr, beta1, beta2, eps, weight_decay)

    def _update(self, name, param, grad, weight_decay):
        dtype = param.dtype.type
        b1, b2, t = self.beta1, self.beta2, self.t
        adamw_update(_flat(param), _flat(grad), self._slot("m", name, param), self._slot("v", name, param),
                     dtype(self.lr), dtype(b1), dtype(1 - b1), dtype(b2), dtype(1 - b2), dtype(self.eps),
                     dtype(1 - b1**t), dtype(1 - b2**t), dtype(self.lr * weight_decay))


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): divide by the root of the summed squared gradients; PyTorch's
    ``Adagrad`` (see the module table). ``lr_decay`` anneals the step as PyTorch does, with
    lr_t = lr / (1 + (t - 1) * lr_decay) at step t; the accumulator ``sum`` starts at
    ``initial_accumulator_value`` (0 by default)."""

    slots = ("sum",)
    _options = ("eps", "lr_decay", "initial_accumulator_value")

    def __init__(self, lr: float = 1e-2, eps: float = 1e-10, weight_decay: float = 0.0, lr_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0):
        self.eps = check_positive("Adagrad", "eps", eps)
        self.lr_decay = check_positive("Adagrad", "lr_decay", lr_decay, allow_zero=True)
        self.initial_accumulator_value = check_positive("Adagrad", "initial_accumulator_value",
                                                        initial_accumulator_value, allow_zero=True)
        super().__init__(lr, weight_decay)

    def _update(self, name, param, grad, weight_decay):
        dtype = param.dtype.type
        if name not in self.state["sum"]:
            self.state["sum"][name] = np.full_like(param, self.initial_accumulator_value)
        clr = self.lr / (1 + (self.t - 1) * self.lr_decay)
        adagrad_update(_flat(param), _flat(grad), self._slot("sum", name, param), dtype(clr), dtype(self.eps),
                       dtype(weight_decay))


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): steps scaled by the ratio of running RMS of updates and of gradients;
    PyTorch's ``Adadelta`` (``lr`` multiplies the step, 1.0 by default; see the module table)."""

    slots = ("square_avg", "acc_delta")
    _options = ("rho", "eps")

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        self.rho = check_fraction("Adadelta", "rho", rho)
        self.eps = check_positive("Adadelta", "eps", eps)
        super().__init__(lr, weight_decay)

    def _update(self, name, param, grad, weight_decay):
        dtype = param.dtype.type
        adadelta_update(_flat(param), _flat(grad), self._slot("square_avg", name, param),
                        self._slot("acc_delta", name, param), dtype(self.lr), dtype(self.rho), dtype(1 - self.rho),
                        dtype(self.eps), dtype(weight_decay))
