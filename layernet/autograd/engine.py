"""The backward pass: walk the recorded graph from one tensor back to the leaves.

Order: a node runs only after every node that consumed its output has sent its gradient, so
each runs exactly once, with the sum of the gradients that reached it by every path (Kahn's
algorithm on the reversed graph; loops and an explicit stack, no recursion, so a chain of any
length works). Leaves that require a gradient add it to ``.grad``; other tensors keep it only
after ``retain_grad()``. Afterwards every node on the way releases what it saved for its
backward, unless ``retain_graph=True``; a later pass through a released node is an error.
"""

from __future__ import annotations

import itertools

import numpy as np

from .tensor import Tensor

_passes = itertools.count(1)
_current_pass = 0


def current_pass() -> int:
    """A number identifying the backward pass running now (used to sum a layer's repeated uses)."""
    return _current_pass


def backward(root: Tensor, grad=None, retain_graph: bool = False) -> None:
    """Compute d(root)/d(leaf) for every leaf with ``requires_grad`` and add it to its ``.grad``.

    ``grad`` (dL/d(root), root's shape; an array or a Tensor) may be left out for a root of
    size 1, where it is 1. Raises RuntimeError if the root does not require grad or if the graph
    was released by an earlier backward, ValueError for a missing or misshapen ``grad``.
    """
    global _current_pass
    if not root.requires_grad:
        raise RuntimeError(
            "backward: expected a tensor that requires grad (made from inputs with requires_grad=True), "
            "found one with requires_grad=False and no graph"
        )
    grad = _initial_grad(root, grad)
    consumers = _count_consumers(root)
    _current_pass = next(_passes)
    grads = {root: grad}
    ready = [root]
    while ready:
        t = ready.pop()
        g = grads.pop(t)
        node = t._node
        if node is None or t._retain:
            t.grad = _accumulate(t.grad, g, t.data.dtype)
            if node is None:
                continue
        for parent, gp in zip(node.parents, node.grads(g)):
            if parent is None:
                continue
            if gp is not None:
                grads[parent] = grads[parent] + gp if parent in grads else gp
            left = consumers[parent] - 1
            consumers[parent] = left
            if not left:
                ready.append(parent)
        if not retain_graph:
            node.release()


def _initial_grad(root, grad):
    if grad is None:
        if root.data.size != 1:
            raise ValueError(
                f"backward: expected grad of the tensor's shape {root.data.shape} (it is implicitly 1 only "
                f"for a tensor of size 1), found none"
            )
        return np.ones(root.data.shape, dtype=root.data.dtype)
    if isinstance(grad, Tensor):
        grad = grad.data
    grad = np.asarray(grad)
    if grad.shape != root.data.shape:
        raise ValueError(f"backward: expected grad of the tensor's shape {root.data.shape}, found shape {grad.shape}")
    if grad.dtype.kind not in "fiu":
        raise ValueError(f"backward: expected a numeric grad, found dtype {grad.dtype}")
    return grad.astype(root.data.dtype, copy=False)


def _count_consumers(root):
    """How many recorded uses each tensor reachable from ``root`` has; RuntimeError on a released node."""
    consumers = {}
    stack = [root]
    while stack:
        node = stack.pop()._node
        if node is None:
            continue
        if node.released:
            raise RuntimeError(
                "backward: expected a graph that still holds its saved values, found one released by an "
                "earlier backward (pass retain_graph=True to the first backward to run backward twice)"
            )
        for parent in node.parents:
            if parent is None:
                continue
            if parent in consumers:
                consumers[parent] += 1
            else:
                consumers[parent] = 1
                stack.append(parent)
    return consumers


def _accumulate(old, g, dtype):
    """``old + g`` as a fresh array of ``dtype`` (``g`` itself may be shared with other tensors)."""
    if old is None:
        return np.array(g, dtype=dtype)
    return np.asarray(old + g, dtype=dtype)


def zero_grad(*tensors) -> None:
    """Set each tensor's ``.grad`` to None (the next backward starts its sum afresh)."""
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"zero_grad: expected Tensors, found {type(t).__name__}")
        t.grad = None
