"""``layernet.autograd``: a define-by-run engine whose every backward is a ``layernet.ops`` op's,
a layer's or a loss's own hand-derived backward.

    from layernet.autograd import Tensor
    x = Tensor([-2.0], requires_grad=True); y = Tensor([5.0], requires_grad=True)
    z = Tensor([-4.0], requires_grad=True)
    f = ((x + y) * z).sum()
    f.backward()                       # x.grad = y.grad = [-4.], z.grad = [3.]

Layers, ``Sequential`` and losses accept Tensors: ``loss = ce(model(Tensor(x), training=True), y);
loss.backward()`` fills every ``layer.grads`` as ``model.backward(ce.backward())`` does.

Files: ``tensor.py`` (Tensor and its operators), ``function.py`` (applying an op, the named
functions), ``node.py`` (what a node saves), ``engine.py`` (the backward walk), ``modules.py``
(layers and losses as nodes), ``mode.py`` (``no_grad``), ``graph.py`` (the graph as DOT text).
"""

from .tensor import Tensor  # noqa: I001  (first: function.py imports it)
from .engine import backward, zero_grad
from .function import apply, concatenate, maximum, stack, where
from .mode import is_grad_enabled, no_grad

__all__ = [
    "Tensor", "apply", "backward", "concatenate", "is_grad_enabled", "maximum", "no_grad", "stack",
    "where", "zero_grad",
]
