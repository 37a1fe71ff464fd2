"""Gradient checking: compare hand-derived gradients with centred finite differences.

All checks run in float64. The relative error is cs231n's

    rel_error(a, b) = max(|a - b| / max(1e-8, |a| + |b|))

Thresholds (float64, h = 1e-5): below 1e-7 the analytic gradient is right; between 1e-7 and
1e-5 look closer (kinks such as ReLU at 0 or max-pool ties can cause it); above 1e-5 there is
a bug. Elements the centred difference cannot judge, because it moves between steps h, h/2
and h/4 by at least half its difference from the analytic gradient (a kink within the step,
round-off on an element near 0), are left out of the error and counted (``_checked``; the rule
is stated in ``layernet._finite_difference``). A check never disturbs the layer or model:
parameters, buffers (running statistics), dtypes and random generators are restored afterwards.

Zero gradients (one rule, ``compare``, for every check): an array whose analytic and numerical
gradients both lie below the finite difference's round-off floor, ``ROUND_OFF_ULPS * eps *
scale / h`` with ``scale`` the magnitude of the checked scalar, is reported as 0.0. Its true
gradient is zero (a bias right before batch norm), the finite difference sees only round-off,
and the relative error of round-off against an exact 0 would be ~1.

The centred differences themselves are in ``layernet.numeric_gradients`` and the verdict bands
(``BAD``, ``verdict``, ``VERDICT_LEGEND``) in ``layernet.gradcheck_verdict``; both are importable
from here.
"""

from __future__ import annotations

import copy

import numpy as np

from ._finite_difference import GOOD, ROUND_OFF_ULPS, find_unresolved, round_off_floor  # noqa: F401  (GOOD: importable from here)
from .gradcheck_verdict import BAD, VERDICT_LEGEND, verdict  # noqa: F401  (importable from here)
from .numeric_gradients import numerical_gradient, numerical_gradient_array


def rel_error(a, b) -> float:
    """Maximum elementwise relative error ``max(|a-b| / max(1e-8, |a|+|b|))`` (0.0 for empty arrays)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def compare(analytic, numeric, scale: float, h: float = 1e-5) -> float:
    """The relative error of one array's gradient, or 0.0 if both gradients are round-off.

    ``analytic`` and ``numeric`` have the same shape; ``scale`` is the magnitude of the scalar
    the finite differences were taken of (``|loss|``, or ``sum(|out * dout|)`` for an
    array-valued function). Below ``floor = ROUND_OFF_ULPS * eps * scale / h`` a centred
    difference cannot tell a gradient from 0; if every element of both arrays is below it, the
    true gradient is 0 and the result is 0.0, else ``rel_error(analytic, numeric)``.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    floor = round_off_floor(scale, h)
    if analytic.size and max(np.abs(analytic).max(), np.abs(numeric).max()) < floor:
        return 0.0
    return rel_error(analytic, numeric)


class Errors(dict):
    """The ``{name: relative error}`` of a check, plus ``skipped``: ``{name: number of elements
    left out as unresolved}`` (only names with at least one; ``layernet._finite_difference``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skipped: dict[str, int] = {}


class ErrorList(list):
    """The relative error per input of ``check_op``/``check_function``, plus ``skipped``: the
    number of unresolved elements left out, per input."""

    def __init__(self, *args):
        super().__init__(*args)
        self.skipped: list[int] = [0] * len(self)


def _checked(f, x, analytic, scale: float, h: float, dout=None, indices=None) -> tuple[float, int]:
    """``(error, skipped)`` of one array, the one mechanism of every check.

    The centred differences of f w.r.t. x (of ``sum(f * dout)`` with ``dout``) at the flat
    ``indices``, or everywhere, are compared with ``analytic`` by ``compare``, leaving out the
    elements ``find_unresolved`` finds: a kink within the step or round-off on a gradient near 0
    (``layernet._finite_difference`` states the rule). If every checked element is unresolved,
    none is left out: a check that leaves out everything checks nothing."""
    if dout is None:
        numeric = numerical_gradient(f, x, h, indices=indices)
    else:
        numeric = numerical_gradient_array(f, x, dout, h)
    analytic = np.asarray(analytic, dtype=np.float64)
    checked = np.arange(x.size) if indices is None else np.asarray(indices, dtype=np.intp)
    unresolved = find_unresolved(f, x, analytic, numeric, scale, h, dout=dout, indices=checked)
    if not 0 < len(unresolved) < len(checked):
        unresolved = ()
    checked = np.setdiff1d(checked, unresolved)
    return compare(analytic.reshape(-1)[checked], numeric.reshape(-1)[checked], scale, h), len(unresolved)


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
def check_layer(layer, x, training: bool = True, seed: int = 0, h: float = 1e-5) -> Errors:
    """Gradient-check one layer in float64 on input ``x``.

    The loss is ``sum(forward(x) * dout)`` for a random ``dout`` drawn with ``seed``. Returns
    ``{"x": err, "W": err, ...}``: the relative error of dx and of each parameter's gradient
    (parameters of a container's children are named like Sequential's: ``"0.W"``), 0.0 for an
    array whose gradients are both round-off (``compare``). Elements the centred difference cannot
    judge (a kink within the step, round-off near 0) are left out; the result's ``skipped``
    counts them per name (``_checked``).
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
        scale = np.sum(np.abs(out * dout))
        dx = layer.backward(dout)
        # indices (an Embedding's input) have no gradient: only the parameters are checked
        arrays = [] if integer else [("x", x, np.array(dx, dtype=np.float64))]  # a copy
        named = list(_named_params(layer))
        arrays += [(name, owner.params[key], owner.grads[key].copy()) for name, owner, key in named]
        errors = Errors()
        for name, array, analytic in arrays:
            errors[name], skipped = _checked(forward, array, analytic, scale, h, dout=dout)
            if skipped:
                errors.skipped[name] = skipped
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
                seed: int = 0) -> Errors:
    """Gradient-check a whole model plus loss in float64, per parameter name (``"0.W"`` ...).

    Also reports ``"x"``, the error of the gradient w.r.t. the input (not for integer indices fed to
    an ``Embedding``, which have none). The model is restored.
    Every element is checked (two forward passes each), or, with ``samples``, that many
    elements of x and of each parameter, drawn with ``seed``: a quick check of a larger model.
    An array whose analytic and numerical gradients are both round-off everywhere checked is
    reported as 0.0 (``compare``, with the loss as the scale). Unresolved elements (a kink
    within the step, round-off near 0) are left out and counted in the result's ``skipped``.
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

        scale = objective()
        dx = model.backward(loss.backward())
        arrays = [] if integer else [("x", x, np.array(dx))]
        arrays += [(name, param, np.array(grad, copy=True)) for name, param, grad in model.parameters()]
        errors = Errors()
        for name, array, analytic in arrays:
            chosen = None if samples is None else pick.choice(array.size, min(samples, array.size), replace=False)
            errors[name], skipped = _checked(objective, array, analytic, scale, h, indices=chosen)
            if skipped:
                errors.skipped[name] = skipped
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


def check_op(op, *inputs, seed: int = 0, h: float = 1e-5) -> ErrorList:
    """Gradient-check an op (``layernet.ops``) in float64: the relative error per input.

    The inputs are copied to float64 arrays; the loss is ``sum(op.forward(*inputs) * dout)``
    for a random ``dout`` drawn with ``seed``; each analytic gradient from ``op.backward`` is
    compared with centred differences (``compare``: both round-off counts as 0.0; unresolved
    elements are left out, ``_checked``). Returns ``[err_input0, ...]`` with ``skipped`` per input.
    """
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    try:
        out = op.forward(*xs)
        dout = _dout_rng(seed).standard_normal(np.shape(out))
        scale = np.sum(np.abs(out * dout))
        analytic = op.backward(dout)
        return _error_list(_checked(lambda *_: op.forward(*xs), x, grad, scale, h, dout=dout)
                           for grad, x in zip(analytic, xs))
    finally:
        op._cache = None  # the finite differences leave a forward cached; do not keep it


def check_function(f, *arrays, seed: int = 0, h: float = 1e-5) -> ErrorList:
    """Gradient-check a function of autograd Tensors in float64: the relative error per input.

    ``f(*tensors)`` must return a size-1 ``layernet.autograd.Tensor``. The arrays are copied to
    float64 Tensors with ``requires_grad=True``; the loss is ``f(...) * g`` for a random scalar g
    drawn with ``seed`` (so a backward that ignores its upstream gradient is caught), its
    gradients come from ``backward()`` (an input the result does not depend on counts as 0), and
    each is compared with centred differences of ``f`` (run under ``no_grad``) by ``compare``
    (the scale is ``|f * g|``), leaving out unresolved elements (``_checked``). Returns ``[err_input0, ...]``
    with ``rel_error``'s formula, the bands of ``check_layer`` and ``skipped`` per input.
    """
    from .autograd import Tensor, no_grad

    xs = [np.array(x, dtype=np.float64) for x in arrays]
    inputs = [Tensor(x.copy(), requires_grad=True) for x in xs]
    out = f(*inputs)
    if not isinstance(out, Tensor) or out.data.size != 1:
        found = f"a Tensor of shape {out.data.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"check_function: expected f to return a size-1 Tensor, found {found}")
    g = float(_dout_rng(seed).standard_normal())
    if out.requires_grad:  # else no input reaches the result: every gradient is 0
        out.backward(np.full(out.data.shape, g))
    analytic = [np.zeros_like(x) if t.grad is None else t.grad for t, x in zip(inputs, xs)]

    def value():
        with no_grad():
            return float(f(*[Tensor(x) for x in xs]).data.reshape(())) * g

    scale = abs(value())
    return _error_list(_checked(value, x, a, scale, h) for a, x in zip(analytic, xs))


def _error_list(results) -> ErrorList:
    results = list(results)
    errors = ErrorList(error for error, _ in results)
    errors.skipped = [skipped for _, skipped in results]
    return errors
