"""The ops added for the autograd engine: Power, Negative, Index, Where, Concatenate, Stack."""

import numpy as np
import pytest

from conftest import GRAD_TOL
from layernet.gradcheck import check_op
from layernet.ops import Concatenate, Index, Negative, Power, Stack, Where

_rng = np.random.default_rng(5)
CASES = [
    ("Power", Power, [_rng.uniform(0.5, 2.0, (3, 4)), _rng.standard_normal((3, 4))]),
    ("Power-broadcast", Power, [_rng.uniform(0.5, 2.0, (4,)), _rng.standard_normal((3, 1))]),
    ("Negative", Negative, [_rng.standard_normal((2, 3))]),
    ("Index-slices", lambda: Index((slice(1, 3), slice(None, None, 2))), [_rng.standard_normal((4, 5))]),
    ("Index-repeated", lambda: Index(np.array([3, 0, 3, 3])), [_rng.standard_normal((4, 2))]),
    ("Index-mixed", lambda: Index((slice(0, 2), [1, 1, 4])), [_rng.standard_normal((3, 5))]),
    ("Index-bool", lambda: Index(np.array([True, False, True])), [_rng.standard_normal((3, 2))]),
    ("Where", lambda: Where(_rng.standard_normal((3, 4)) > 0), [_rng.standard_normal((3, 4)), _rng.standard_normal((1, 4))]),
    ("Concatenate", lambda: Concatenate(axis=1), [_rng.standard_normal((2, 3)), _rng.standard_normal((2, 1)), _rng.standard_normal((2, 2))]),
    ("Stack", lambda: Stack(axis=-1), [_rng.standard_normal((2, 3)), _rng.standard_normal((2, 3))]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradient_check_float64(case):
    _, make, inputs = case
    errors = check_op(make(), *inputs)
    assert len(errors) == len(inputs)
    assert max(errors) < GRAD_TOL, errors


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_float32_stays_float32(case):
    _, make, inputs = case
    op = make()
    out = op.forward(*[x.astype(np.float32) for x in inputs])
    grads = op.backward(np.ones(out.shape, dtype=np.float32))
    assert out.dtype == np.float32
    assert [g.dtype for g in grads] == [np.float32] * len(inputs)


def test_index_repeated_indices_add_up():
    op = Index(np.array([0, 0, 2]))
    op.forward(np.arange(3.0))
    (dx,) = op.backward(np.array([1.0, 2.0, 5.0]))
    np.testing.assert_array_equal(dx, [3.0, 0.0, 5.0])


def test_power_conventions_at_zero():
    op = Power()
    op.forward(np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.0]))
    da, db = op.backward(np.ones(3))
    np.testing.assert_array_equal(da, [0.0, 0.0, 0.0])  # b == 0: a**0 is constant in a
    np.testing.assert_array_equal(db, [0.0, 0.0, np.log(2.0)])  # a == 0, b >= 0: 0**b has slope 0 in b


def test_where_routes_by_cond():
    op = Where(np.array([True, False]))
    np.testing.assert_array_equal(op.forward(np.array([1.0, 2.0]), np.array([3.0, 4.0])), [1.0, 4.0])
    da, db = op.backward(np.array([10.0, 20.0]))
    np.testing.assert_array_equal(da, [10.0, 0.0])
    np.testing.assert_array_equal(db, [0.0, 20.0])


@pytest.mark.parametrize("make, shapes, match", [
    (lambda: Concatenate(0), [(2, 3), (2, 4)], r"Concatenate\(axis=0\): cannot join inputs of shapes \(2, 3\), \(2, 4\)"),
    (lambda: Stack(0), [(2, 3), (3, 2)], r"Stack\(axis=0\): cannot join inputs of shapes \(2, 3\), \(3, 2\)"),
    (lambda: Concatenate(0), [], "expected at least one input"),
])
def test_join_errors_name_the_shapes(make, shapes, match):
    with pytest.raises(ValueError, match=match):
        make().forward(*[np.zeros(s) for s in shapes])


def test_join_axis_must_be_an_int():
    with pytest.raises(ValueError, match="Invalid value for argument `axis` of Stack"):
        Stack(1.5)
