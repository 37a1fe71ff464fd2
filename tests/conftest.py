"""Shared fixtures: seeded random generators, float64 tolerances."""

import numpy as np
import pytest

#: float64 analytic-vs-numeric bound used across the suite (see layernet.gradcheck).
GRAD_TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(0)
