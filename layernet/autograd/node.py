"""Graph nodes: what a Tensor remembers about the operation that made it.

A node holds the op object (its hand-derived backward is the only math here), the values that
backward needs, and ``parents``: the input Tensors that require a gradient (None in the places
of the other inputs). ``node.grads(dout)`` returns one gradient per input (None where nobody
needs it), each of that input's shape and dtype; ``release()`` drops the saved values after a
backward pass unless the graph is retained. The bookkeeping (dtype casts, the sum over
broadcast axes that ``ops.BinaryOp.backward`` also does) is here; the derivatives are not.

Kinds:
- ``UnaryNode``/``BinaryNode``: an ``ops.UnaryOp``/``ops.BinaryOp``; the node keeps the inputs
  and the output and calls the op's ``_backward(dout, ...)`` (the derivative the op writes next
  to its ``_forward``), without the per-call checks of ``op.backward`` (the Tensors checked
  their data already). This is what keeps a graph of scalars cheap.
- ``CacheNode``: any other op, layer or loss: the node keeps what the object's ``forward``
  cached and puts it back before calling the object's own ``backward``, so one object may be
  used by several nodes (a layer called twice) and a retained graph may be walked again.
"""

from __future__ import annotations

import numpy as np

from ..ops.base import unbroadcast


def _fit(g, shape, dtype, out_shape):
    """``g`` (an array or numpy scalar) with ``shape`` (summed over broadcast axes) and ``dtype``."""
    if not hasattr(g, "dtype"):
        g = np.asarray(g)
    if g.shape != shape:
        g = unbroadcast(np.broadcast_to(g, out_shape), shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


class Node:
    """Base: ``op`` (for labels), ``parents``, ``released``."""

    __slots__ = ("op", "parents", "released")

    def __init__(self, op, parents):
        self.op = op
        self.parents = parents
        self.released = False

    @property
    def label(self) -> str:
        """The op for pictures and repr: its constructor call if short (``Sum(axis=0)``), else its name."""
        text = repr(self.op)
        text = text[:-2] if text.endswith("()") else text
        return text if len(text) <= 32 else getattr(self.op, "name", type(self.op).__name__)

    def grads(self, dout):
        raise NotImplementedError

    def release(self):
        self.released = True


class UnaryNode(Node):
    __slots__ = ("x", "out")

    def __init__(self, op, parent, x, out):
        self.op, self.parents, self.released, self.x, self.out = op, (parent,), False, x, out

    def grads(self, dout):
        x = self.x
        return (_fit(self.op._backward(dout, x, self.out), x.shape, x.dtype, x.shape),)

    def release(self):
        self.released, self.x, self.out = True, None, None


class BinaryNode(Node):
    __slots__ = ("a", "b", "out")

    def __init__(self, op, parents, a, b, out):
        self.op, self.parents, self.released, self.a, self.b, self.out = op, parents, False, a, b, out

    def grads(self, dout):
        a, b, out = self.a, self.b, self.out
        da, db = self.op._backward(dout, a, b, out)
        pa, pb = self.parents
        return (
            None if pa is None else _fit(da, a.shape, a.dtype, out.shape),
            None if pb is None else _fit(db, b.shape, b.dtype, out.shape),
        )

    def release(self):
        self.released, self.a, self.b, self.out = True, None, None, None


class CacheNode(Node):
    """A node around an object with ``forward`` (which caches) and ``backward`` (which uses the cache).

    ``run_backward(dout)`` is supplied per kind (see ``function.py`` and ``modules.py``) and
    returns the gradients per input; ``cache`` is what to put back first.
    """

    __slots__ = ("cache", "run_backward")

    def __init__(self, op, parents, cache, run_backward):
        super().__init__(op, parents)
        self.cache, self.run_backward = cache, run_backward

    def grads(self, dout):
        return self.run_backward(self, dout)

    def release(self):
        self.released, self.cache = True, None
