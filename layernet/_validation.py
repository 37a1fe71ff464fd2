"""Shared argument and input checks, so every layer words its errors the same way.

Hyperparameters are checked in ``__init__`` and arrays in ``forward``, before a jitted kernel
sees them: an error raised from inside Numba is unreadable. Messages follow the Keras form
"Invalid value for argument `kernel_size` of Conv2d: expected ..., received kernel_size=(3, 0)".
"""

from __future__ import annotations

import numbers

import numpy as np


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def invalid_argument(owner: str, name: str, expected: str, value) -> ValueError:
    """Build the standard error for a bad constructor argument."""
    return ValueError(
        f"Invalid value for argument `{name}` of {owner}: expected {expected}. "
        f"Received: {name}={value!r}"
    )


def check_int(owner: str, name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise ValueError."""
    if not _is_int(value) or value < minimum:
        kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise invalid_argument(owner, name, kind, value)
    return int(value)


def check_positive(owner: str, name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is > 0 (or >= 0 with ``allow_zero``), else raise."""
    if not _is_real(value) or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        kind = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise invalid_argument(owner, name, kind, value)
    return float(value)


def check_fraction(owner: str, name: str, value, *, closed_low: bool = True, closed_high: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (bounds configurable), else raise ValueError."""
    low, high = ("[" if closed_low else "("), ("]" if closed_high else ")")
    ok = _is_real(value) and np.isfinite(value)
    if ok:
        ok = (value >= 0 if closed_low else value > 0) and (value <= 1 if closed_high else value < 1)
    if not ok:
        raise invalid_argument(owner, name, f"a number in {low}0, 1{high}", value)
    return float(value)


def as_pair(owner: str, name: str, value, *, minimum: int = 1) -> tuple[int, int]:
    """Normalise an int or an (h, w) pair of ints >= ``minimum`` to a tuple ``(h, w)``."""
    if _is_int(value) and value >= minimum:
        return int(value), int(value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(_is_int(v) and v >= minimum for v in value)
    ):
        return int(value[0]), int(value[1])
    kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    raise invalid_argument(owner, name, f"{kind} or a tuple of 2 such ints", value)


def plain_pair(value):
    """The config form of an int-or-pair argument: an int stays an int, a pair becomes a tuple."""
    return int(value) if _is_int(value) else (int(value[0]), int(value[1]))


def format_shape(shape) -> str:
    """Shape as text, with ``None`` for an unknown batch size: (None, 1, 28, 28)."""
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_input(owner: str, x, *, ndim=None, expected: str | None = None) -> np.ndarray:
    """Check that ``x`` is a floating numpy array of an allowed rank; return it as an ndarray.

    ``ndim`` is an int, a tuple of allowed ranks, or ``None`` for any rank >= 1.
    ``expected`` describes the expected shape in words, e.g. "(N, C, H, W)".
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (ValueError, TypeError) as err:  # ragged nested lists, objects numpy cannot read
            raise ValueError(f"{owner}: expected a numeric array, found {type(x).__name__} ({err})") from None
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{owner}: expected a floating-point input (float32 or float64), found dtype {x.dtype} "
            f"with shape {x.shape}"
        )
    if x.dtype not in (np.float32, np.float64):
        raise ValueError(f"{owner}: expected float32 or float64 input, found dtype {x.dtype}")
    allowed = (ndim,) if _is_int(ndim) else ndim
    if allowed is not None and x.ndim not in allowed:
        want = expected or " or ".join(f"rank {r}" for r in allowed)
        raise ValueError(f"{owner}: expected input of shape {want}, found shape {x.shape} (rank {x.ndim})")
    if x.ndim == 0:
        raise ValueError(f"{owner}: expected an array with a batch axis, found a scalar")
    if x.shape[0] == 0:
        raise ValueError(f"{owner}: expected a batch of at least one example, found shape {x.shape}")
    return x


def compute_dtype(x: np.ndarray, params: dict) -> np.dtype:
    """The dtype a layer computes in: numpy's promotion of the input and parameter dtypes."""
    return np.result_type(x.dtype, *(p.dtype for p in params.values()))
