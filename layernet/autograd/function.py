"""Applying a ``layernet.ops`` op to Tensors: ``apply(op, *inputs)`` runs it and records the node.

Inputs may be Tensors, Python numbers or numeric arrays (constants). Python numbers stay Python
numbers, so numpy's promotion keeps float32 data float32 (``x * 2.0``). A node is recorded only
when recording is on (not inside ``no_grad()``) and some input requires a gradient.
"""

from __future__ import annotations

import numpy as np

from ..ops import (Add, BinaryOp, Concatenate, Divide, Maximum, Multiply, Negative, Power, Stack,
                   Subtract, UnaryOp, Where)
from . import mode
from .node import BinaryNode, CacheNode, UnaryNode
from .tensor import Tensor, _result


def _value(v):
    """(data, parent): a Tensor's data and itself if it requires grad; a constant and None."""
    if type(v) is Tensor:
        return v.data, (v if v.requires_grad else None)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v, None  # a Python number stays "weak" in numpy's promotion
    array = np.asarray(v)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"autograd: expected a Tensor, a real number or a numeric array, found {type(v).__name__} of dtype {array.dtype}")
    return array, None


def apply(op, *inputs) -> Tensor:
    """``op``'s forward on the inputs' data, as a Tensor that remembers ``op`` for ``backward``.

    ``op`` is a ``layernet.ops`` object (``apply(ops.Exp(), x)``); its backward is the node's
    backward. An ``ops.UnaryOp``/``ops.BinaryOp`` whose ``forward``/``backward`` are the base
    class's (the checks and caching around its ``_forward``/``_backward``) runs lean: its
    ``_forward`` here and its ``_backward`` in the node, with the values the node saved. Any
    other op (or one whose ``backward`` was replaced) runs its own ``forward``/``backward``, with
    the forward's cache kept by the node. Results follow numpy's dtype promotion.
    """
    if len(inputs) == 2 and isinstance(op, BinaryOp):
        return _binary(op, *inputs)
    if len(inputs) == 1 and isinstance(op, UnaryOp) and type(inputs[0]) is Tensor:
        return _unary(op, inputs[0])
    return _general(op, inputs)


def _general(op, inputs) -> Tensor:
    values, parents = zip(*(_value(v) for v in inputs)) if inputs else ((), ())
    out = np.asarray(op.forward(*values))
    cache, op._cache = op._cache, None
    if not (mode._enabled and any(p is not None for p in parents)):
        return _result(out, None)
    return _result(out, CacheNode(op, parents, cache, _op_backward))


def _unary(op, t: Tensor) -> Tensor:
    cls = type(op)
    if cls.backward is not _UNARY_BACKWARD or cls.forward is not _UNARY_FORWARD:
        return _general(op, (t,))
    x = t.data
    out = op._forward(x)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if t.requires_grad and mode._enabled:
        return _result(out, UnaryNode(op, t, x, out))
    return _result(out, None)


def _binary(op, x, y) -> Tensor:
    cls = type(op)
    if cls.backward is not _BINARY_BACKWARD or cls.forward is not _BINARY_FORWARD:
        return _general(op, (x, y))
    a, pa = _value(x)
    b, pb = _value(y)
    try:
        out = op._forward(a, b)
    except ValueError:
        op.broadcast_shapes(np.shape(a), np.shape(b))  # the op's message naming both shapes
        raise
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if (pa is not None or pb is not None) and mode._enabled:
        return _result(out, BinaryNode(op, (pa, pb), a, b, out))
    return _result(out, None)


_UNARY_FORWARD, _UNARY_BACKWARD = UnaryOp.forward, UnaryOp.backward
_BINARY_FORWARD, _BINARY_BACKWARD = BinaryOp.forward, BinaryOp.backward


def _op_backward(node, dout):
    node.op._cache = node.cache
    return node.op.backward(dout)


# ---------------------------------------------------------------------------- named functions
def add(a, b):
    return apply(Add(), a, b)


def subtract(a, b):
    return apply(Subtract(), a, b)


def multiply(a, b):
    return apply(Multiply(), a, b)


def divide(a, b):
    return apply(Divide(), a, b)


def negative(x):
    return apply(Negative(), x)


def power(a, b):
    """a ** b with a Tensor, array or number on either side (``ops.Power``)."""
    return apply(Power(), a, b)


def maximum(a, b) -> Tensor:
    """Elementwise larger of a and b (broadcasting); ties split the gradient equally (``ops.Maximum``)."""
    return apply(Maximum(), a, b)


def where(cond, a, b) -> Tensor:
    """a where ``cond`` (a boolean array or Tensor, not differentiated) holds, else b (``ops.Where``)."""
    cond = cond.data if type(cond) is Tensor else cond
    return apply(Where(cond), a, b)


def concatenate(tensors, axis=0) -> Tensor:
    """Join Tensors along an existing ``axis`` (``ops.Concatenate``); gradients are dout's slices."""
    return apply(Concatenate(axis), *_sequence("concatenate", tensors))


def stack(tensors, axis=0) -> Tensor:
    """Join Tensors of one shape along a new ``axis`` (``ops.Stack``)."""
    return apply(Stack(axis), *_sequence("stack", tensors))


def _sequence(owner, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{owner}: expected a list or tuple of Tensors, found {type(tensors).__name__}")
    return tensors
