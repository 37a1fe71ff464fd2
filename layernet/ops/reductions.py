"""Reductions over axes (Sum, Mean, Max) and the two-input maximum gate (Maximum).

``axis`` works as in numpy: None (all axes), an int (negative counts from the end) or a tuple
of ints; ``keepdims=True`` keeps each reduced axis with size 1. Every backward first puts the
reduced axes back (size 1) and then broadcasts dout over them, because each input element fed
the one output element of its slice.
"""

from __future__ import annotations

import numpy as np

from .._validation import _is_int, invalid_argument
from .base import BinaryOp, UnaryOp

TIES = ("share", "first")


def _check_axis(owner: str, axis):
    if axis is None or _is_int(axis):
        return None if axis is None else int(axis)
    if isinstance(axis, (tuple, list)) and all(_is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    raise invalid_argument(owner, "axis", "None, an int or a tuple of ints", axis)


def _check_ties(owner: str, ties) -> str:
    if ties not in TIES:
        raise invalid_argument(owner, "ties", "'share' or 'first'", ties)
    return ties


class _Reduction(UnaryOp):
    """Shared bookkeeping of Sum, Mean and Max: the axes and keepdims."""

    _args = ("axis", "keepdims")

    def __init__(self, axis=None, keepdims=False):
        super().__init__()
        self.axis = _check_axis(self.name, axis)
        self.keepdims = bool(keepdims)

    def axes(self, shape: tuple) -> tuple[int, ...]:
        """The reduced axes as sorted non-negative ints; ValueError for one out of range or repeated."""
        ndim = len(shape)
        if self.axis is None:
            return tuple(range(ndim))
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        for a in axes:
            if not -ndim <= a < ndim:
                raise ValueError(f"{self.name}: axis {a} is out of range for an input of shape {shape}")
        normal = sorted(a % ndim for a in axes)
        if len(set(normal)) != len(normal):
            raise ValueError(f"{self.name}: axis {self.axis} repeats an axis of an input of shape {shape}")
        return tuple(normal)

    def kept(self, g: np.ndarray, shape: tuple) -> np.ndarray:
        """An output-shaped array with the reduced axes put back as size 1 (keepdims form)."""
        return g if self.keepdims else np.expand_dims(g, self.axes(shape))


class Sum(_Reduction):
    """out = x summed over ``axis``.

    Shapes: x (any) -> out x's shape without the reduced axes (size 1 with keepdims).
    Backward: each x element enters its slice's sum with weight 1, so it receives that slice's
    upstream gradient: dx = dout broadcast back over the reduced axes.
    """

    def _forward(self, x):
        return x.sum(axis=self.axes(x.shape), keepdims=self.keepdims)

    def _backward(self, dout, x, out):
        return np.broadcast_to(self.kept(dout, x.shape), x.shape)


class Mean(_Reduction):
    """out = x averaged over ``axis`` (K = the number of elements in each averaged slice).

    Shapes: as Sum.
    Backward: each x element enters its slice's mean with weight 1/K:
    dx = dout broadcast back over the reduced axes, divided by K.
    """

    def _forward(self, x):
        return x.mean(axis=self.axes(x.shape), keepdims=self.keepdims)

    def _backward(self, dout, x, out):
        count = int(np.prod([x.shape[a] for a in self.axes(x.shape)]))
        return np.broadcast_to(self.kept(dout, x.shape), x.shape) / count


class Max(_Reduction):
    """out = the largest element of x over ``axis``.

    Shapes: as Sum.
    Backward: the max gate routes the gradient to the element that won; the others get 0.
    Ties (k >= 2 equal maxima in one slice) need a rule, set by ``ties``:

    - ``"share"`` (default): each of the k tied maxima gets dout / k, as PyTorch's ``amax``.
      A centred numerical gradient agrees for a two-way tie (moving one of two tied values by
      +h raises the max by h, by -h leaves it: slope 1/2), but not for k >= 3 (it still sees
      1/2 for each, while the rule gives 1/3).
    - ``"first"``: all of dout goes to the first maximum in ``np.argmax`` order (row-major
      order over the reduced axes), as a max-pooling argmax does.
    """

    _args = ("axis", "keepdims", "ties")
    _quiet = {"ties": "share"}

    def __init__(self, axis=None, keepdims=False, ties="share"):
        super().__init__(axis, keepdims)
        self.ties = _check_ties("Max", ties)

    def _forward(self, x):
        axes = self.axes(x.shape)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError(f"Max: cannot take the max over an empty axis of an input of shape {x.shape}")
        return x.max(axis=axes, keepdims=self.keepdims)

    def _backward(self, dout, x, out):
        axes = self.axes(x.shape)
        if self.ties == "first":
            winners = _first_max_mask(x, axes)
        else:
            winners = (x == self.kept(out, x.shape)).astype(x.dtype)
            winners /= np.maximum(winners.sum(axis=axes, keepdims=True), 1)  # 1/k each
        return winners * self.kept(dout, x.shape)


def _first_max_mask(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of x's shape, True at the first maximum (np.argmax order) of each slice."""
    kept = [a for a in range(x.ndim) if a not in axes]
    order = kept + list(axes)
    moved = x.transpose(order)  # reduced axes last, in their original order
    flat = moved.reshape(moved.shape[: len(kept)] + (-1,))
    mask = np.zeros(flat.shape, dtype=bool)
    np.put_along_axis(mask, flat.argmax(axis=-1)[..., None], True, axis=-1)
    return mask.reshape(moved.shape).transpose(np.argsort(order))


class Maximum(BinaryOp):
    """out = the elementwise larger of a and b (numpy broadcasting, as ``np.maximum``).

    Backward: each output element routes dout to the input that was larger: da = dout where
    a > b, db = dout where b > a (each summed over its broadcast axes). Ties a == b follow
    ``ties``: ``"share"`` (default) gives dout / 2 to each, as PyTorch's ``maximum`` (a centred
    numerical gradient agrees, 1/2); ``"first"`` gives all of dout to the first input, a.
    """

    _args = ("ties",)
    _quiet = {"ties": "share"}

    def __init__(self, ties="share"):
        super().__init__()
        self.ties = _check_ties("Maximum", ties)

    def _forward(self, a, b):
        return np.maximum(a, b)

    def _backward(self, dout, a, b, out):
        if self.ties == "first":
            to_a = a >= b
            return dout * to_a, dout * ~to_a
        tie = (a == b) * dout * 0.5
        return dout * (a > b) + tie, dout * (b > a) + tie
