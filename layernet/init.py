"""Weight initialisers.

``initialize(init, shape, fan_in, fan_out, rng, dtype)`` returns a new array. ``init`` is a name
or a number:

| name | distribution |
|---|---|
| ``he_normal`` (``kaiming_normal``) | N(0, 2 / fan_in), for ReLU networks (He et al. 2015) |
| ``he_uniform`` (``kaiming_uniform``) | U(-a, a), a = sqrt(6 / fan_in) |
| ``xavier_normal`` (``glorot_normal``) | N(0, 2 / (fan_in + fan_out)) (Glorot & Bengio 2010) |
| ``xavier_uniform`` (``glorot_uniform``) | U(-a, a), a = sqrt(6 / (fan_in + fan_out)) |
| ``lecun_normal`` | N(0, 1 / fan_in) |
| ``zeros`` | all zeros (biases; a network of only zero weights cannot learn) |
| a float ``s`` | N(0, s^2): cs231n's ``weight_scale * randn`` |

For a dense layer fan_in = in_features and fan_out = out_features; for a convolution with
weights (F, C, KH, KW) fan_in = C*KH*KW and fan_out = F*KH*KW.
"""

from __future__ import annotations

import numbers

import numpy as np

from .registry import did_you_mean

_ALIASES = {
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
    "glorot_normal": "xavier_normal",
    "glorot_uniform": "xavier_uniform",
}
INITIALIZERS = ("he_normal", "he_uniform", "xavier_normal", "xavier_uniform", "lecun_normal", "zeros")


def as_rng(rng) -> np.random.Generator:
    """``None`` -> a fresh unseeded Generator, an int -> ``default_rng(int)``, a Generator as is."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, numbers.Integral):
        return np.random.default_rng(rng)
    raise ValueError(f"rng: expected None, an int seed or a numpy Generator, received {rng!r}")


def check_init(owner: str, init) -> None:
    """Raise ValueError naming ``owner`` if ``init`` is not a known initialiser."""
    if isinstance(init, numbers.Real) and not isinstance(init, bool):
        if init < 0 or not np.isfinite(init):
            raise ValueError(f"Invalid value for argument `init` of {owner}: expected a std >= 0. Received: init={init!r}")
        return
    if init not in INITIALIZERS and init not in _ALIASES:
        names = INITIALIZERS + tuple(_ALIASES)
        raise ValueError(
            f"Invalid value for argument `init` of {owner}: expected one of {', '.join(INITIALIZERS)} "
            f"or a float std{did_you_mean(init, names)}. Received: init={init!r}"
        )


def initialize(init, shape, fan_in: int, fan_out: int, rng, dtype=np.float32) -> np.ndarray:
    """A new array of ``shape`` drawn from the initialiser ``init`` (see the module docstring)."""
    check_init("initialize", init)
    rng = as_rng(rng)
    if isinstance(init, numbers.Real) and not isinstance(init, bool):
        return (float(init) * rng.standard_normal(shape)).astype(dtype)
    init = _ALIASES.get(init, init)
    if init == "zeros":
        return np.zeros(shape, dtype=dtype)
    if init == "he_normal":
        std = np.sqrt(2.0 / fan_in)
    elif init == "lecun_normal":
        std = np.sqrt(1.0 / fan_in)
    elif init == "xavier_normal":
        std = np.sqrt(2.0 / (fan_in + fan_out))
    else:
        bound = np.sqrt(6.0 / (fan_in if init == "he_uniform" else fan_in + fan_out))
        return rng.uniform(-bound, bound, size=shape).astype(dtype)
    return (std * rng.standard_normal(shape)).astype(dtype)
