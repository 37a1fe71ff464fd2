"""Gradient checking: compare hand-derived gradients with centred finite differences.

All checks run in float64. The relative error is cs231n's

    rel_error(a, b) = max(|a - b| / max(1e-8, |a| + |b|))

Thresholds (float64, h = 1e-5): below 1e-7 the analytic gradient is right; between 1e-7 and
1e-5 look closer (kinks such as ReLU at 0 or max-pool ties can cause it); above 1e-5 there is
a bug. A check never disturbs the layer or model: parameters, buffers (running statistics),
dtypes and random generators are restored afterwards.
"""

from __future__ import annotations

import copy

import numpy as np

GOOD = 1e-7
BAD = 1e-5


def rel_error(a, b) -> float:
    """Maximum elementwise relative error ``max(|a-b| / max(1e-8, |a|+|b|))`` (0.0 for empty arrays)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numerical_gradient(f, x: np.ndarray, h: float = 1e-5, indices=None) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f()`` w.r.t. the array ``x``.

    ``x`` is perturbed in place (one element at a time) and restored; ``f`` takes no arguments
    (or ``x``) and must read ``x``. Returns a float64 array of x's shape. With ``indices`` (flat
    indices into x) only those elements are computed; the rest of the result stays 0.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)  # a view as long as x is contiguous
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: x must be a contiguous array (it is perturbed in place)")
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        flat[i] = old + h
        plus = float(_call(f, x))
        flat[i] = old - h
        minus = float(_call(f, x))
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x: np.ndarray, dout: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * dout)`` w.r.t. ``x``, for array-valued ``f``."""
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient_array: x must be a contiguous array (it is perturbed in place)")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.array(_call(f, x), dtype=np.float64)  # copies: f may return a view of x
        flat[i] = old - h
        minus = np.array(_call(f, x), dtype=np.float64)
        flat[i] = old
        # Difference the outputs first, then weight by dout: outputs that do not depend on x_i
        # cancel exactly, so round-off comes only from the outputs x_i actually moves.
        grad.reshape(-1)[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def _call(f, x):
    try:
        return f(x)
    except TypeError:
        return f()


# --------------------------------------------------------------------------- state handling
def _walk(layer):
    yield layer
    for child in layer.children() if hasattr(layer, "children") else ():
        yield from _walk(child)


def _all_layers(obj):
    roots = obj.layers if hasattr(obj, "layers") and not hasattr(obj, "params") else [obj]
    for root in roots:
        yield from _walk(root)


class _Preserved:
    """Snapshot params, buffers, grads and RNG states of a layer or model; restore on exit."""

    def __init__(self, obj):
        self.layers = list(_all_layers(obj))

    def __enter__(self):
        # The check works on float64 copies made by ``astype``; the original arrays are never
        # written, so restoring the same objects keeps outside references (optimizers) valid.
        self.saved = [(dict(layer.params), dict(layer.buffers), dict(layer.grads)) for layer in self.layers]
        self.rng_states = [copy.deepcopy(_rng(layer).bit_generator.state) if _rng(layer) else None for layer in self.layers]
        return self

    def reset_rngs(self):
        """Put every random generator back to its state at entry (same dropout mask each pass)."""
        for layer, state in zip(self.layers, self.rng_states):
            if state is not None:
                _rng(layer).bit_generator.state = copy.deepcopy(state)

    def __exit__(self, *exc):
        for layer, (params, buffers, grads) in zip(self.layers, self.saved):
            for store, saved in ((layer.params, params), (layer.buffers, buffers), (layer.grads, grads)):
                store.clear()
                store.update(saved)
            layer._cache = None
        self.reset_rngs()
        return False


def _rng(layer):
    rng = getattr(layer, "rng", None)
    return rng if isinstance(rng, np.random.Generator) else None


# --------------------------------------------------------------------------- checks
def check_layer(layer, x, training: bool = True, seed: int = 0, h: float = 1e-5) -> dict[str, float]:
    """Gradient-check one layer in float64 on input ``x``.

    The loss is ``sum(forward(x) * dout)`` for a random ``dout`` drawn with ``seed``. Returns
    ``{"x": err, "W": err, ...}``: the relative error of dx and of each parameter's gradient
    (parameters of a container's children are named like Sequential's: ``"0.W"``).
    The layer is left exactly as it was (parameters, buffers, dtype, random state).
    """
    integer = _integer_input(layer)
    x = np.array(x) if integer else np.array(x, dtype=np.float64)
    with _Preserved(layer) as state:
        layer.astype(np.float64)

        def forward():
            state.reset_rngs()
            return layer.forward(x, training=training)

        out = forward()
        dout = _dout_rng(seed).standard_normal(out.shape)
        dx = layer.backward(dout)
        # indices (an Embedding's input) have no gradient: only the parameters are checked
        errors = {} if integer else {"x": rel_error(dx, numerical_gradient_array(forward, x, dout, h))}
        named = list(_named_params(layer))
        analytic = {name: owner.grads[key].copy() for name, owner, key in named}
        for name, owner, key in named:
            numeric = numerical_gradient_array(forward, owner.params[key], dout, h)
            errors[name] = rel_error(analytic[name], numeric)
    return errors


def _integer_input(layer) -> bool:
    """True for a layer whose input is integer indices (``Embedding``), which has no gradient."""
    return bool(getattr(layer, "integer_input", False))


def random_input(layer, rng, shape) -> np.ndarray:
    """Random input of ``shape`` (batch included) for ``layer``: valid indices for an integer-input
    layer, standard normal values otherwise."""
    return layer.random_input(rng, shape) if _integer_input(layer) else rng.standard_normal(shape)


def _dout_rng(seed: int) -> np.random.Generator:
    """The generator of the random upstream gradient: a stream of its own, so that dout never
    equals an input the caller drew from ``default_rng(seed)`` (a BatchNorm fed x with
    dout = x has a vanishing gradient and would fail the check for a numerical reason)."""
    return np.random.default_rng([seed, 0x6C6E])


def _named_params(layer, prefix=""):
    """Yield ``(name, owning layer, key)`` for a layer's parameters and its children's ("0.W")."""
    for key in layer.params:
        yield prefix + key, layer, key
    for index, child in enumerate(layer.children()):
        yield from _named_params(child, f"{prefix}{index}.")


def check_model(model, loss, x, y, training: bool = True, h: float = 1e-5, samples: int | None = None,
                seed: int = 0) -> dict[str, float]:
    """Gradient-check a whole model plus loss in float64, per parameter name (``"0.W"`` ...).

    Also reports ``"x"``, the error of the gradient w.r.t. the input (not for integer indices fed to
    an ``Embedding``, which have none). The model is restored.
    Every element is checked (two forward passes each), or, with ``samples``, that many
    elements of x and of each parameter, drawn with ``seed``: a quick check of a larger model.
    An array whose analytic and numerical gradients are both below 1e-10 everywhere checked is
    reported as 0.0: its true gradient is zero (a bias right before batch norm) and the finite
    difference sees only round-off, which the relative error would inflate to ~1.
    """
    first = model.layers[0] if hasattr(model, "layers") else model
    integer = _integer_input(first)
    x = np.array(x) if integer else np.array(x, dtype=np.float64)
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.floating):
        y = y.astype(np.float64)
    pick = np.random.default_rng(seed)
    with _Preserved(model) as state:
        model.astype(np.float64)

        def objective():
            state.reset_rngs()
            return loss.forward(model.forward(x, training=training), y)

        objective()
        dx = model.backward(loss.backward())
        arrays = [] if integer else [("x", x, np.array(dx))]
        arrays += [(name, param, np.array(grad, copy=True)) for name, param, grad in model.parameters()]
        errors = {}
        for name, array, analytic in arrays:
            chosen = None if samples is None else pick.choice(array.size, min(samples, array.size), replace=False)
            numeric = numerical_gradient(objective, array, h, indices=chosen)
            if chosen is not None:
                analytic, numeric = analytic.reshape(-1)[chosen], numeric.reshape(-1)[chosen]
            both_zero = analytic.size and max(np.abs(analytic).max(), np.abs(numeric).max()) < 1e-10
            errors[name] = 0.0 if both_zero else rel_error(analytic, numeric)
    return errors


def gradcheck_report(model, loss, x, y, samples: int = 10, seed: int = 0) -> dict[str, dict[str, float]]:
    """Relative errors of every layer of a Sequential and of the whole model + loss, in float64
    (what ``layernet gradcheck`` prints).

    Keys: ``"<index> <type>"`` per layer with ``{"x": ..., "W": ...}`` from ``check_layer`` on
    fresh standard-normal inputs of the shape that reaches the layer (every element checked); and
    ``"model"`` with the model's parameter names (``"0.W"``). The model check perturbs ``samples``
    random elements of each array (cs231n's sparse check; a full check costs two forward passes
    of the whole model per parameter); ``samples=0`` checks every element with ``check_model``.
    Layers run in training mode (batch statistics; dropout masks held fixed by the checker).
    """
    rng = np.random.default_rng(seed)
    report = {}
    shape = tuple(x.shape[1:])
    for index, layer in enumerate(model.layers):
        report[f"{index} {layer.type_name}"] = check_layer(layer, random_input(layer, rng, (len(x), *shape)), training=True, seed=seed)
        shape = layer.output_shape(shape)
    report["model"] = check_model(model, loss, x, y, training=True, samples=samples or None, seed=seed)
    return report


def check_op(op, *inputs, seed: int = 0, h: float = 1e-5) -> list[float]:
    """Gradient-check an op (``layernet.ops``) in float64: the relative error per input.

    The inputs are copied to float64 arrays; the loss is ``sum(op.forward(*inputs) * dout)``
    for a random ``dout`` drawn with ``seed``; each analytic gradient from ``op.backward`` is
    compared with centred differences. Returns ``[err_input0, err_input1, ...]``.
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    try:
        out = op.forward(*xs)
        dout = _dout_rng(seed).standard_normal(np.shape(out))
        analytic = op.backward(dout)
        return [
            rel_error(grad, numerical_gradient_array(lambda *_: op.forward(*xs), x, dout, h))
            for grad, x in zip(analytic, xs)
        ]
    finally:
        op._cache = None  # the finite differences leave a forward cached; do not keep it
