"""Unresolved elements: gradient elements a centred difference cannot judge.

The centred difference ``n(h) = (f(x + h) - f(x - h)) / 2h`` of a smooth f is ``f' + c h^2`` plus
round-off; in float64 with h = 1e-5 it settles to about 1e-9 of the gradient's size, and stays
there when h is halved. Two things make it unsettled, and both are properties of f, not of the
analytic gradient:

* a kink within the step (ReLU at 0, a max-pool tie): for one kink at distance d < h where the
  slope jumps by D, ``n(h)`` is off by ``D (h - d) / 2h`` and changes by ``D d / 2h`` when h is
  halved. Through batch norm one nudge moves every value of a channel, so a few of thousands of
  ReLU inputs sit that close.
* round-off on an element near 0: each evaluation of f carries round-off of the order of eps times
  the outputs the element moves (through batch norm, a whole channel), divided by 2h in n(h). On
  an element of 1e-5 against outputs of order 1 that is a relative error around 1e-5, and it
  grows like 1/h as h shrinks (``compare``'s array-wide ``floor`` bounds it from above).

The rule (``find_unresolved``), for each element whose relative error ``|a - n| / max(1e-8,
|a| + |n|)`` is at or above ``GOOD`` (the others are fine as they are):

1. repeat ``n(h)``; if it moves by more than ``2 floor(h)`` (``floor`` = ``ROUND_OFF_ULPS * eps *
   scale / h``, the round-off bound ``compare`` uses, once per difference), f is not a function of
   x alone (an unheld dropout mask): the element is judged as it is.
2. evaluate ``n(h/2)`` and ``n(h/4)``; the element is unresolved if either differs from ``n(h)``
   by at least half its disagreement ``|a - n(h)|``: the finite difference is not converged at the
   precision the verdict needs, so it cannot say whether a is wrong. (Half, not all: when the
   smaller step clears a kink, ``n(h/k) = a`` and the move equals the disagreement exactly, which
   round-off may put on either side of a full-size threshold.)

Unresolved elements are left out of the error and counted. Only f is read to find them, so a wrong
backward cannot make an element unresolved: where n is settled (most elements of any array) a
wrong analytic gradient still fails. The price is resolution on the unsettled elements only: an
error smaller than twice n's own move there (a kink's jump; about 8 times the round-off at h,
since n(h/4) carries four times it) is not seen on them. A kink closer than about ``GOOD * h`` to x (an input
exactly at 0) leaves n settled at the mean of the two slopes and still counts: a false alarm,
never a hidden bug. Cost: six evaluations of f per element at or above ``GOOD``, none for the rest.
"""

from __future__ import annotations

import numpy as np

GOOD = 1e-7  # re-exported by layernet.gradcheck
#: The round-off of one evaluation of a scalar of magnitude ``scale`` is taken as this many ulps.
ROUND_OFF_ULPS = 10


def round_off_floor(scale: float, h: float) -> float:
    """``ROUND_OFF_ULPS * eps * scale / h``: the round-off bound of a centred difference with step h."""
    return ROUND_OFF_ULPS * np.finfo(np.float64).eps * abs(float(scale)) / h


def centred_difference(f, x: np.ndarray, index: int, h: float, dout=None) -> float:
    """``(f(x + h e_i) - f(x - h e_i)) / 2h`` for the flat index i of x (perturbed in place, restored).

    With ``dout`` f is array-valued and the scalar is ``sum(f(x) * dout)``, the outputs differenced
    first as in ``numerical_gradient_array``; without it f returns a scalar.
    """
    flat = x.reshape(-1)
    old = flat[index]
    values = []
    for step in (h, -h):
        flat[index] = old + step
        out = _call(f, x)
        values.append(float(out) if dout is None else np.array(out, dtype=np.float64))
    flat[index] = old
    if dout is None:
        return (values[0] - values[1]) / (2 * h)
    return float(np.sum((values[0] - values[1]) * dout)) / (2 * h)


def find_unresolved(f, x, analytic, numeric, scale: float, h: float, dout=None, indices=None) -> np.ndarray:
    """Flat indices of x's elements the centred difference cannot judge (the rule in the module doc).

    ``analytic`` and ``numeric`` (``n(h)``) have x's shape; only the flat ``indices`` (all if None)
    are examined.
    """
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    n = np.asarray(numeric, dtype=np.float64).reshape(-1)
    checked = np.arange(a.size) if indices is None else np.asarray(indices, dtype=np.intp)
    disagreement = np.abs(a[checked] - n[checked])
    relative = disagreement / np.maximum(1e-8, np.abs(a[checked]) + np.abs(n[checked]))
    floor = round_off_floor(scale, h)
    found = []
    for i in checked[relative >= GOOD]:
        if abs(centred_difference(f, x, i, h, dout) - n[i]) > 2 * floor:
            continue  # not reproducible: f does not depend on x alone, a real problem
        moves = [abs(centred_difference(f, x, i, h / k, dout) - n[i]) for k in (2, 4)]
        if max(moves) >= abs(a[i] - n[i]) / 2:
            found.append(i)
    return np.array(found, dtype=np.intp)


def _call(f, x):
    try:
        return f(x)
    except TypeError:
        return f()
