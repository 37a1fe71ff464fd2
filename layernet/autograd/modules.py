"""Layers, ``Sequential`` and losses on Tensors: each call records one node whose backward is the
layer's (or loss's) own ``backward``.

- ``call_layer(layer, x, training)``: ``layer.forward(x.data, training)``; the node keeps the
  forward caches of the layer and of its sub-layers (a ``Residual``'s), and puts them back
  before calling ``layer.backward``, so one layer may appear in a graph several times. The
  layer's ``grads`` are replaced by each backward pass, as ``Sequential.backward`` does; a
  layer used k times in one graph ends the pass with the sum of its k contributions. When x
  needs no gradient, the layer is asked not to compute dx (``needs_input_grad``), as
  ``Sequential.backward(input_grad=False)`` does; the parameter gradients are the same.
- ``call_sequential(model, x, training)``: the layers called in turn (one node each).
- ``call_loss(loss, scores, y)``: a size-1 float64 Tensor (shape ()); backward is
  ``loss.backward()`` times the upstream gradient. ``y`` is a constant (a Tensor's data is used).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import engine, mode
from .node import CacheNode
from .tensor import Tensor, _result


def _family(layer):
    """The layer and every nested sub-layer, in a fixed order (iterative)."""
    found, stack = [], [layer]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(current.children()))
    return found


def call_layer(layer, x: Tensor, training=False) -> Tensor:
    family = _family(layer)
    out = layer.forward(x.data, training=training)  # the layer's own checks and messages
    caches = [member._cache for member in family]
    parent = x if x.requires_grad else None
    if not mode._enabled or (parent is None and not any(member.params for member in family)):
        for member in family:  # no backward will come: do not keep the forward's caches
            member._cache = None
        return _result(out, None)
    return _result(out, CacheNode(layer, (parent,), (family, caches), _layer_backward))


def _layer_backward(node, dout):
    family, caches = node.cache
    layer = node.op
    for member, cache in zip(family, caches):
        member._cache = cache
    earlier = _earlier_grads(family)
    saved = layer.needs_input_grad
    layer.needs_input_grad = saved and node.parents[0] is not None
    try:
        dx = layer.backward(dout)
    finally:
        layer.needs_input_grad = saved
    for member, grads in earlier:  # a second use in this pass: add the first use's gradients
        for key, value in grads.items():
            member.grads[key] = member.grads[key] + value
    return (dx,)


# Each layer's last backward pass (a number from engine.current_pass()).
_last_pass: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _earlier_grads(family):
    """For layers already used in this backward pass, (layer, copy of its grads so far)."""
    current = engine.current_pass()
    earlier = []
    for member in family:
        if not member.params:
            continue
        if _last_pass.get(member) == current:
            earlier.append((member, {k: v.copy() for k, v in member.grads.items()}))
        _last_pass[member] = current
    return earlier


def call_sequential(model, x: Tensor, training=False) -> Tensor:
    for index, layer in enumerate(model.layers):
        try:
            x = call_layer(layer, x, training)
        except ValueError as err:
            raise ValueError(model._mismatch_message(index, err, x.shape)) from None
    return x


def call_loss(loss, scores: Tensor, y) -> Tensor:
    if isinstance(y, Tensor):
        y = y.data
    value = np.asarray(loss.forward(scores.data, y), dtype=np.float64)
    dscores, loss._dscores = loss._dscores, None
    if not (mode._enabled and scores.requires_grad):
        return _result(value, None)
    return _result(value, CacheNode(loss, (scores,), dscores, _loss_backward))


def _loss_backward(node, dout):
    loss = node.op
    loss._dscores = node.cache
    dscores = loss.backward()
    g = float(dout)
    return (dscores if g == 1.0 else dscores * dscores.dtype.type(g),)
