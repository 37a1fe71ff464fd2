"""Shared fixtures: seeded random generators, float64 tolerances."""

import numpy as np
import pytest

#: float64 analytic-vs-numeric bound used across the suite (see layernet.gradcheck).
GRAD_TOL = 1e-7
#: Bound for whole-model checks (loss of order 1): the centred difference carries an absolute
#: round-off of about eps * |loss| / h ~ 1e-11, which is ~1e-6 relative to the smallest gradient
#: elements (~1e-5) of a random network, whatever the code's correctness.
MODEL_GRAD_TOL = 1e-6


@pytest.fixture
def rng():
    return np.random.default_rng(0)
