"""Search spaces: distributions over config values, seeded random sampling and grid expansion.

A space maps dotted config keys (as in command-line overrides, ``optimizer.lr``,
``model.layers.0.out_channels``) to one of

- ``{choice: [a, b, c]}``: one of the listed values, each equally likely;
- ``[a, b, c]`` (a plain list, a *grid list*): the same as ``choice``;
- ``{uniform: [low, high]}``: a float drawn uniformly from [low, high);
- ``{loguniform: [low, high]}``: ``exp(uniform(log low, log high))``, both bounds > 0;
- ``{int_uniform: [low, high]}``: an integer in [low, high], both ends included.

Random search: trial ``i`` of a sweep with seed ``s`` draws its values from its own generator
``numpy.random.default_rng([s, i])``, key by key in the order the space lists them. A trial's
values therefore depend only on the seed and its index: asking for more trials keeps the first
ones, and a resumed sweep regenerates exactly the trials it had.

Grid search: the Cartesian product of every key's values, the *last* key varying fastest (as
nested ``for`` loops written in the order of the file). ``choice``, grid lists and
``int_uniform`` (every integer in its range) can be gridded; ``uniform`` and ``loguniform``
cannot (they have no finite list of values).

Every value handed out is a plain Python object (int, float, str, bool, None, list, dict) so
that it prints, serialises to YAML and CSV, and parses back to the same value.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

#: The distribution names a space entry may use, in the order error messages list them.
KINDS = ("choice", "uniform", "loguniform", "int_uniform")
#: The largest grid (number of combinations) a sweep may expand to.
MAX_GRID = 100_000


@dataclass(frozen=True)
class Dimension:
    """One swept key: ``kind`` is one of ``KINDS``; ``values`` the choices or the two bounds."""

    key: str
    kind: str
    values: tuple

    @property
    def log_scale(self) -> bool:
        """True for ``loguniform``: plots put this parameter on a log axis."""
        return self.kind == "loguniform"

    def sample(self, rng):
        """One value drawn with ``rng`` (a numpy Generator)."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        return int(rng.integers(low, high + 1))  # int_uniform, both ends included

    def grid(self) -> list:
        """Every value of a discrete dimension; ValueError for a continuous one."""
        if self.kind == "choice":
            return list(self.values)
        if self.kind == "int_uniform":
            low, high = self.values
            return list(range(low, high + 1))
        raise ValueError(f"space.{self.key}: {self.kind} has no finite list of values, so it cannot be part "
                         "of a grid search; use choice or a list, or search.type: random")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_dimension(key: str, spec) -> Dimension:
    """A ``Dimension`` from one space entry (the forms in the module docstring).

    Raises ValueError with a message that starts with what was expected (the caller adds
    the file, line and dotted path).
    """
    if isinstance(spec, list):
        spec = {"choice": spec}
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ValueError(f"expected a list of values or one of {{choice: [...]}}, {{uniform: [low, high]}}, "
                         f"{{loguniform: [low, high]}}, {{int_uniform: [low, high]}}; found {spec!r}")
    (kind, values), = spec.items()
    if kind not in KINDS:
        from ..registry import did_you_mean

        raise ValueError(f"unknown distribution '{kind}'{did_you_mean(kind, KINDS)}; expected one of: {', '.join(KINDS)}")
    if not isinstance(values, list):
        raise ValueError(f"{kind}: expected a list, found {values!r}")
    if kind == "choice":
        if not values:
            raise ValueError("choice: the list of values is empty; give at least one value")
        return Dimension(key, kind, tuple(values))
    if len(values) != 2:
        raise ValueError(f"{kind}: expected two bounds [low, high], found {values!r}")
    low, high = values
    if kind == "int_uniform":
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise ValueError(f"int_uniform: expected two integers [low, high], found {values!r}")
    elif not (_number(low) and _number(high)):
        raise ValueError(f"{kind}: expected two numbers [low, high], found {values!r} "
                         "(write floats with a dot, e.g. 1.0e-4)")
    if kind == "loguniform" and (low <= 0 or high <= 0):
        raise ValueError(f"loguniform: both bounds must be > 0, found {values!r}")
    if (kind == "int_uniform" and low > high) or (kind != "int_uniform" and low >= high):
        raise ValueError(f"{kind}: expected low < high, found {values!r}")
    return Dimension(key, kind, (float(low), float(high)) if kind != "int_uniform" else (low, high))


class Space:
    """The ordered dimensions of a sweep; ``random_trials`` and ``grid_trials`` list trial values."""

    def __init__(self, dimensions):
        self.dimensions = list(dimensions)
        if not self.dimensions:
            raise ValueError("space: no parameters to sweep; add at least one dotted key")

    @classmethod
    def from_dict(cls, space: dict) -> Space:
        return cls(parse_dimension(key, spec) for key, spec in space.items())

    @property
    def keys(self) -> list[str]:
        return [dim.key for dim in self.dimensions]

    def random_trials(self, seed: int, trials: int, start: int = 0) -> list[dict]:
        """Trials ``start .. trials-1`` of a seeded random search, each ``{key: value}``."""
        import numpy as np

        out = []
        for index in range(start, trials):
            rng = np.random.default_rng([int(seed), index])
            out.append({dim.key: dim.sample(rng) for dim in self.dimensions})
        return out

    def grid_size(self) -> int:
        return math.prod(len(dim.grid()) for dim in self.dimensions)

    def grid_trials(self) -> list[dict]:
        """Every combination, the last key varying fastest; ValueError above ``MAX_GRID``."""
        size = self.grid_size()
        if size > MAX_GRID:
            raise ValueError(f"the grid has {size} combinations (more than {MAX_GRID}); "
                             "use search.type: random with a number of trials")
        columns = [dim.grid() for dim in self.dimensions]
        return [dict(zip(self.keys, combo)) for combo in itertools.product(*columns)]
