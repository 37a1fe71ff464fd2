"""The verdict bands of a gradient check: ``verdict(error)`` is ``ok``, ``check`` or ``FAIL``.

``GOOD`` (from ``layernet._finite_difference``) and ``BAD`` bound the bands; ``VERDICT_LEGEND``
explains them for ``layernet gradcheck``. Re-exported by ``layernet.gradcheck``.
"""

from __future__ import annotations

from ._finite_difference import GOOD

BAD = 1e-5
#: What each verdict band means, for ``layernet gradcheck`` (lines of at most 80 columns).
VERDICT_LEGEND = f"""\
verdicts: the relative error max(|a - n| / max(1e-8, |a| + |n|)) of the
analytic gradient a against the centred difference n, both in float64
  ok     below {GOOD:g}: the backward pass is right
  check  {GOOD:g} to {BAD:g}: right or nearly; look closer if it grows with
         another seed. Round-off on gradient elements near 0 puts correct
         layers here: wide layers, kinks (ReLU at 0, max-pool ties), and a
         batch-norm input: nudging one value moves its channel's mean and
         variance, so every output of the channel adds round-off to n, while
         the exact dx = gamma / std * (dout - mean(dout) - x_hat *
         mean(dout * x_hat)), a difference of nearly equal terms, is small
  FAIL   above {BAD:g}: a bug in the backward pass (exit code 1)
  an error of exactly 0 means both gradients are round-off: the true
  gradient is 0 (a bias right before batch norm)
  "k unresolved skipped": k elements left out of the error: n moves between
  steps h, h/2, h/4 by at least half its difference from a (a kink such as
  ReLU at 0 within the step, or round-off on a gradient near 0)"""


def verdict(error: float) -> str:
    """``"ok"`` below ``GOOD``, ``"check"`` up to ``BAD``, ``"FAIL"`` above it or not finite."""
    return "ok" if error < GOOD else "check" if error <= BAD else "FAIL"
