"""Ops (layernet.ops): gradient checks, tie rules, known answers, PyTorch as an oracle, errors."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_op, numerical_gradient_array, rel_error
from layernet.ops import (
    Add, BroadcastTo, Divide, Exp, Log, MatMul, Max, Maximum, Mean, Multiply, Pow, ReLU, Reshape,
    Sigmoid, Subtract, Sum, SwapAxes, Tanh, Transpose, unbroadcast,
)

# --------------------------------------------------------------------------- the cases
# Each case: (id, op factory, input shapes, input kind, torch counterpart as a function of tensors).
# Input kinds: "any" standard normal, "pos" in [0.5, 2] (log, fractional powers, divisors),
# "away" |x| >= 0.1 (ReLU away from its kink; divisors away from 0).

BROADCAST = [
    ("same", (3, 4), (3, 4)),
    ("row", (3, 4), (4,)),
    ("row-keep", (3, 4), (1, 4)),
    ("column", (3, 4), (3, 1)),
    ("outer", (3, 1), (1, 4)),
    ("scalar", (3, 4), ()),
    ("scalar-first", (), (2, 3)),
    ("batch", (2, 3, 4), (3, 4)),
    ("batch-both", (2, 1, 4), (3, 1)),
]


def _torch_ops():
    import torch

    def dims(t, axis):
        if axis is None:
            return tuple(range(t.ndim))
        return (axis,) if isinstance(axis, int) else tuple(axis)

    return {
        "add": torch.add, "subtract": torch.sub, "multiply": torch.mul, "divide": torch.div,
        "maximum": torch.maximum, "matmul": torch.matmul,
        "sum": lambda op: lambda t: t.sum(dim=dims(t, op.axis), keepdim=op.keepdims),
        "mean": lambda op: lambda t: t.mean(dim=dims(t, op.axis), keepdim=op.keepdims),
        "max": lambda op: lambda t: torch.amax(t, dim=dims(t, op.axis), keepdim=op.keepdims),
        "broadcastto": lambda op: lambda t: torch.broadcast_to(t, op.shape),
        "reshape": lambda op: lambda t: t.reshape(op.shape),
        "transpose": lambda op: lambda t: t.permute(*(op.axes or reversed(range(t.ndim)))),
        "swapaxes": lambda op: lambda t: torch.swapaxes(t, op.axis1, op.axis2),
        "exp": torch.exp, "log": torch.log, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
        "pow": lambda op: lambda t: torch.pow(t, op.p),
    }


CONFIGURED = {"sum", "mean", "max", "broadcastto", "reshape", "transpose", "swapaxes", "pow"}

CASES = []
for op_cls, kind_b in ((Add, "any"), (Subtract, "any"), (Multiply, "any"), (Divide, "away"), (Maximum, "any")):
    for name, sa, sb in BROADCAST:
        CASES.append((f"{op_cls.__name__}-{name}", op_cls, (sa, sb), ("any", kind_b)))
for name, sa, sb in [
    ("square", (3, 3), (3, 3)),
    ("non-square", (3, 4), (4, 2)),
    ("outer", (5, 1), (1, 3)),
    ("inner", (1, 5), (5, 1)),
    ("batched", (2, 3, 4), (2, 4, 5)),
    ("batch-left", (2, 3, 4), (4, 5)),
    ("batch-right", (3, 4), (2, 4, 5)),
    ("batch-broadcast", (2, 1, 3, 4), (5, 4, 2)),
    ("vector-matrix", (4,), (4, 2)),
    ("matrix-vector", (3, 4), (4,)),
    ("vector-vector", (4,), (4,)),
    ("vector-batch", (4,), (2, 4, 3)),
]:
    CASES.append((f"MatMul-{name}", MatMul, (sa, sb), ("any", "any")))
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), ()]
for op_cls in (Sum, Mean, Max):
    for axis in AXES:
        for keepdims in (False, True):
            CASES.append(
                (f"{op_cls.__name__}-axis={axis}-keep={keepdims}",
                 lambda c=op_cls, a=axis, k=keepdims: c(axis=a, keepdims=k), ((2, 3, 4),), ("any",))
            )
CASES += [
    ("Max-1d", lambda: Max(), ((5,),), ("any",)),
    ("Max-scalar", lambda: Max(), ((),), ("any",)),
    ("BroadcastTo-row", lambda: BroadcastTo((3, 4)), ((4,),), ("any",)),
    ("BroadcastTo-column-batch", lambda: BroadcastTo((2, 3, 4)), ((3, 1),), ("any",)),
    ("BroadcastTo-scalar", lambda: BroadcastTo((2, 2)), ((),), ("any",)),
    ("Reshape", lambda: Reshape((6, -1)), ((2, 3, 4),), ("any",)),
    ("Reshape-flat", lambda: Reshape(24), ((2, 3, 4),), ("any",)),
    ("Transpose-matrix", lambda: Transpose(), ((3, 5),), ("any",)),
    ("Transpose-reverse", lambda: Transpose(), ((2, 3, 4),), ("any",)),
    ("Transpose-axes", lambda: Transpose((2, 0, 1)), ((2, 3, 4),), ("any",)),
    ("Transpose-negative", lambda: Transpose((-1, 0, 1)), ((2, 3, 4),), ("any",)),
    ("SwapAxes", lambda: SwapAxes(0, 2), ((2, 3, 4),), ("any",)),
    ("SwapAxes-negative", lambda: SwapAxes(-1, 0), ((2, 3, 4),), ("any",)),
    ("Exp", Exp, ((3, 4),), ("any",)),
    ("Log", Log, ((3, 4),), ("pos",)),
    ("Pow-0", lambda: Pow(0), ((3, 4),), ("any",)),
    ("Pow-2", lambda: Pow(2), ((3, 4),), ("any",)),
    # x^3 near 0: the true slope 3x^2 is tiny while the centred difference is off by h^2 = 1e-10
    ("Pow-3", lambda: Pow(3), ((3, 4),), ("away",)),
    ("Pow-half", lambda: Pow(0.5), ((3, 4),), ("pos",)),
    ("Pow-minus-1.5", lambda: Pow(-1.5), ((3, 4),), ("pos",)),
    ("Sigmoid", Sigmoid, ((3, 4),), ("any",)),
    ("Tanh", Tanh, ((3, 4),), ("any",)),
    ("ReLU", ReLU, ((3, 4),), ("away",)),
    ("ReLU-batch", ReLU, ((2, 3, 4),), ("away",)),
]


def _inputs(shapes, kinds, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    out = []
    for shape, kind in zip(shapes, kinds):
        x = np.asarray(rng.standard_normal(shape))
        if kind == "pos":
            x = rng.uniform(0.5, 2.0, shape)
        elif kind == "away":
            x = np.where(x < 0, -1.0, 1.0) * (0.1 + np.abs(x))
        out.append(np.asarray(x, dtype=dtype))
    return out


IDS = [c[0] for c in CASES]


# --------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_check_float64(case):
    _, make, shapes, kinds = case
    op = make()
    errors = check_op(op, *_inputs(shapes, kinds))
    assert len(errors) == len(shapes)
    assert max(errors) < GRAD_TOL, errors


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_keeps_float32_and_agrees_with_float64(case):
    _, make, shapes, kinds = case
    x64 = _inputs(shapes, kinds)
    x32 = [x.astype(np.float32) for x in x64]
    op = make()
    out32 = op.forward(*x32)
    dout = np.random.default_rng(1).standard_normal(out32.shape)
    grads32 = op.backward(dout.astype(np.float32))
    out64 = op.forward(*x64)
    grads64 = op.backward(dout)
    assert out32.dtype == np.float32 and out32.shape == out64.shape
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-5)
    for g32, g64, x in zip(grads32, grads64, x32):
        assert g32.dtype == np.float32 and g32.shape == x.shape
        assert g64.dtype == np.float64 and g64.shape == x.shape
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_python_numbers_and_int_arrays_compute_in_float(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    op = Multiply()
    out = op.forward(x, 2.0)  # a Python number does not promote float32
    assert out.dtype == np.float32
    dx, dy = op.backward(np.ones((2, 3), dtype=np.float32))
    assert dx.dtype == np.float32 and dy.shape == () and dy.dtype == np.float32
    assert dy == pytest.approx(float(x.sum()), rel=1e-6)
    op = Add()
    out = op.forward(np.array([1, 2, 3]), np.array([[1], [2]]))
    assert out.dtype == np.float64
    da, db = op.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(da, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(db, [[3.0], [3.0]])


def test_unbroadcast_sums_over_broadcast_axes(rng):
    g = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(unbroadcast(g, (4,)), g.sum(axis=(0, 1)))
    np.testing.assert_allclose(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])
    np.testing.assert_allclose(unbroadcast(g, ()), g.sum())
    assert unbroadcast(g, (2, 3, 4)) is g
    with pytest.raises(ValueError, match="does not broadcast"):
        unbroadcast(g, (3, 3))


def test_gradients_are_fresh_arrays():
    op = Add()
    op.forward(np.zeros(3), np.zeros(3))
    dout = np.ones(3)
    da, db = op.backward(dout)
    da += 1  # a gate that accumulates into its gradient must not change dout or db
    np.testing.assert_array_equal(dout, 1.0)
    np.testing.assert_array_equal(db, 1.0)


class _WrongMultiply(Multiply):
    def _backward(self, dout, a, b, out):
        return dout * b, dout * b  # db should be dout * a


def test_check_op_catches_a_wrong_gradient(rng):
    errors = check_op(_WrongMultiply(), rng.standard_normal((3, 4)), rng.standard_normal(4))
    assert errors[0] < GRAD_TOL and errors[1] > 1e-2


def test_check_op_leaves_no_cache(rng):
    op = Exp()
    check_op(op, rng.standard_normal(3))
    with pytest.raises(RuntimeError, match="before forward"):
        op.backward(np.ones(3))


# --------------------------------------------------------------------------- known answers
def test_circuit_x_plus_y_times_z():
    """cs231n: f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4."""
    add, mul = Add(), Multiply()
    q = add.forward(-2.0, 5.0)
    f = mul.forward(q, -4.0)
    assert (q, f) == (3.0, -12.0)
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)


def test_sigmoid_neuron():
    """cs231n: f(w, x) = sigma(w0 x0 + w1 x1 + w2) at w = [2, -3, -3], x = [-1, -2]."""
    w, x = np.array([2.0, -3.0, -3.0]), np.array([-1.0, -2.0])
    dot, add, sig = MatMul(), Add(), Sigmoid()
    f = sig.forward(add.forward(dot.forward(w[:2], x), w[2]))
    assert f == pytest.approx(0.7311, abs=5e-5)  # sigma(1)
    (ds,) = sig.backward(1.0)
    assert ds == pytest.approx(0.1966, abs=5e-5)  # (1 - f) f
    ddot, db = add.backward(ds)
    dw01, dx = dot.backward(ddot)
    dw = np.append(dw01, db)
    np.testing.assert_allclose(dx, [0.3932, -0.5898], atol=5e-5)
    np.testing.assert_allclose(dw, [-0.1966, -0.3932, 0.1966], atol=5e-5)


TIE_X = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 1.0]])


def test_max_ties_share():
    op = Max(axis=1)
    np.testing.assert_array_equal(op.forward(TIE_X), [3.0, 2.0, 5.0])
    (dx,) = op.backward(np.array([6.0, 6.0, 6.0]))
    np.testing.assert_allclose(dx, [[0, 3, 3], [2, 2, 2], [0, 6, 0]])


def test_max_ties_first():
    op = Max(axis=1, ties="first")
    op.forward(TIE_X)
    (dx,) = op.backward(np.array([6.0, 6.0, 6.0]))
    np.testing.assert_array_equal(dx, [[0, 6, 0], [6, 0, 0], [0, 6, 0]])


def test_max_ties_first_over_several_axes_in_argmax_order():
    # x (2, 3, 2) reduced over axes (0, 2): each slice x[:, j, :] is read in row-major order.
    x = np.zeros((2, 3, 2))
    x[:, 0, :] = [[1, 0], [0, 1]]  # maxima at (0, 0) and (1, 1): the first is (0, 0)
    x[:, 1, :] = [[0, 0], [2, 2]]  # maxima at (1, 0) and (1, 1): the first is (1, 0)
    x[:, 2, :] = 5  # all four tie
    first = Max(axis=(0, 2), ties="first")
    first.forward(x)
    (dx,) = first.backward(np.ones(3))
    expected = np.zeros_like(x)
    expected[0, 0, 0] = expected[1, 1, 0] = expected[0, 2, 0] = 1
    np.testing.assert_array_equal(dx, expected)
    share = Max(axis=(0, 2), keepdims=True)
    share.forward(x)
    (dx,) = share.backward(np.ones((1, 3, 1)))
    np.testing.assert_allclose(dx[:, 2, :], 0.25)
    np.testing.assert_allclose(dx[:, 0, :], [[0.5, 0], [0, 0.5]])
    # axis=None: the first maximum of the flattened array
    op = Max(ties="first")
    op.forward(x)
    (dx,) = op.backward(1.0)
    assert dx[0, 2, 0] == 1 and dx.sum() == 1


def test_max_two_way_tie_share_agrees_with_numerical_gradient():
    x = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, -1.0, 0.0, 2.0]])
    assert max(check_op(Max(axis=1), x)) < GRAD_TOL
    assert max(check_op(Max(axis=1, ties="first"), x)) > 0.1  # "first" is a valid subgradient, not the numeric slope


def test_max_three_way_tie_share_differs_from_numerical_gradient():
    x = np.array([2.0, 2.0, 2.0, 1.0])
    op = Max()
    op.forward(x)
    (dx,) = op.backward(1.0)
    np.testing.assert_allclose(dx, [1 / 3, 1 / 3, 1 / 3, 0])  # the documented rule
    numeric = numerical_gradient_array(lambda: Max().forward(x), x, np.array(1.0))
    np.testing.assert_allclose(numeric, [0.5, 0.5, 0.5, 0], atol=1e-9)  # what finite differences see


@pytest.mark.parametrize(
    "ties, da, db", [("share", [0.5, 1, 0, 0.5], [0.5, 0, 1, 0.5]), ("first", [1, 1, 0, 1], [0, 0, 1, 0])]
)
def test_maximum_ties(ties, da, db):
    op = Maximum(ties=ties)
    a, b = np.array([1.0, 2.0, 0.0, 3.0]), np.array([1.0, 0.0, 4.0, 3.0])
    np.testing.assert_array_equal(op.forward(a, b), [1, 2, 4, 3])
    grads = op.backward(np.ones(4))
    np.testing.assert_allclose(grads[0], da)
    np.testing.assert_allclose(grads[1], db)


def test_maximum_tie_share_agrees_with_numerical_gradient_under_broadcasting():
    a = np.array([[1.0], [2.0], [0.5]])
    b = np.array([1.0, 2.0, 0.0, 3.0])
    assert max(check_op(Maximum(), a, b)) < GRAD_TOL


def test_relu_at_zero_gets_zero_gradient():
    op = ReLU()
    op.forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(op.backward(np.ones(3))[0], [0, 0, 1])


def test_sigmoid_is_stable_for_large_inputs():
    op = Sigmoid()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = op.forward(np.array([-1000.0, 0.0, 1000.0]))
        np.testing.assert_allclose(out, [0.0, 0.5, 1.0])
        assert np.all(np.isfinite(op.backward(np.ones(3))[0]))


# --------------------------------------------------------------------------- PyTorch as an oracle
# torch reads dim=() as "all dims" while numpy's axis=() reduces nothing: no torch twin for those.
TORCH_CASES = [(case, name) for case, name in zip(CASES, IDS) if getattr(case[1](), "axis", None) != ()]


@pytest.mark.parametrize("case", [c for c, _ in TORCH_CASES], ids=[n for _, n in TORCH_CASES])
def test_matches_pytorch_autograd(case):
    torch = require_torch()
    _, make, shapes, kinds = case
    op = make()
    key = op.name.lower()
    fn = _torch_ops()[key]
    if key in CONFIGURED:
        fn = fn(op)
    xs = _inputs(shapes, kinds)
    out = op.forward(*xs)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    grads = op.backward(dout)
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    tout = fn(*ts)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for g, t in zip(grads, ts):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("p", [0, 1, 2, 3, 0.5, -1, -1.5])
def test_pow_at_zero_and_negative_x_matches_pytorch(p):
    torch = require_torch()
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    dout = np.array([0.3, -1.2, 0.7, 1.1, -0.4])
    op = Pow(p)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0**-1 = inf, (-2)**0.5 = nan, as torch
        out = op.forward(x)
        (dx,) = op.backward(dout)
    t = torch.tensor(x, requires_grad=True)
    torch.pow(t, p).backward(torch.tensor(dout))
    np.testing.assert_allclose(out, t.detach().pow(p).numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, t.grad.numpy(), rtol=1e-12)  # nan and inf where torch has them
    if p == 0:
        assert np.array_equal(dx, np.zeros(5))


@pytest.mark.parametrize("axis", [None, 1, (0, 1)])
def test_max_ties_share_matches_pytorch_amax(axis):
    torch = require_torch()
    op = Max(axis=axis)
    out = op.forward(TIE_X)
    dout = np.random.default_rng(3).standard_normal(np.shape(out))
    (dx,) = op.backward(dout)
    t = torch.tensor(TIE_X, requires_grad=True)
    dims = tuple(range(2)) if axis is None else axis
    torch.amax(t, dim=dims).backward(torch.tensor(dout))
    np.testing.assert_allclose(dx, t.grad.numpy(), rtol=1e-12)


def test_maximum_ties_share_matches_pytorch():
    torch = require_torch()
    a, b = np.array([[1.0], [2.0], [0.5]]), np.array([1.0, 2.0, 0.0, 2.0])
    op = Maximum()
    op.forward(a, b)
    dout = np.random.default_rng(4).standard_normal((3, 4))
    da, db = op.backward(dout)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    torch.maximum(ta, tb).backward(torch.tensor(dout))
    np.testing.assert_allclose(da, ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12)


def test_circuits_match_pytorch():
    torch = require_torch()
    x, y, z = (torch.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    ((x + y) * z).backward()
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)
    w = torch.tensor([2.0, -3.0, -3.0], dtype=torch.float64, requires_grad=True)
    xv = torch.tensor([-1.0, -2.0], dtype=torch.float64, requires_grad=True)
    torch.sigmoid(w[:2] @ xv + w[2]).backward()
    dot, add, sig = MatMul(), Add(), Sigmoid()
    sig.forward(add.forward(dot.forward(w.detach().numpy()[:2], xv.detach().numpy()), w.detach().numpy()[2]))
    ddot, db = add.backward(sig.backward(1.0)[0])
    dw01, dx = dot.backward(ddot)
    np.testing.assert_allclose(np.append(dw01, db), w.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xv.grad.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- errors and repr
@pytest.mark.parametrize("op_cls", [Add, Subtract, Multiply, Divide, Maximum])
def test_shapes_that_do_not_broadcast(op_cls):
    with pytest.raises(ValueError, match=rf"{op_cls.__name__}: shapes \(3, 4\) and \(5,\) do not broadcast"):
        op_cls().forward(np.zeros((3, 4)), np.zeros(5))


@pytest.mark.parametrize(
    "sa, sb, words",
    [
        ((3, 4), (5, 2), r"\(3, 4\) and \(5, 2\) do not multiply.*k = 4 columns in a but 5 rows in b"),
        ((4,), (3,), r"\(4,\) and \(3,\) do not multiply"),
        ((2, 3, 4), (3, 4, 5), r"\(2, 3, 4\) and \(3, 4, 5\) do not multiply: the batch axes"),
        ((), (3,), r"at least one axis, found shapes \(\) and \(3,\)"),
    ],
)
def test_matmul_shape_errors(sa, sb, words):
    with pytest.raises(ValueError, match=rf"MatMul: .*{words}"):
        MatMul().forward(np.zeros(sa), np.zeros(sb))


@pytest.mark.parametrize(
    "op, shape, words",
    [
        (Sum(axis=3), (2, 3), r"Sum: axis 3 is out of range for an input of shape \(2, 3\)"),
        (Max(axis=(0, -2)), (2, 3), r"Max: axis \(0, -2\) repeats an axis"),
        (Max(axis=1), (2, 0), r"Max: cannot take the max over an empty axis"),
        (BroadcastTo((3, 4)), (3,), r"BroadcastTo: input of shape \(3,\) does not broadcast to \(3, 4\)"),
        (Reshape((5, -1)), (2, 3), r"Reshape: cannot reshape input of shape \(2, 3\) \(6 elements\) to \(5, -1\)"),
        (Transpose((0, 0)), (2, 3), r"Transpose: axes \(0, 0\) are not a permutation .* \(2, 3\)"),
        (SwapAxes(0, 2), (2, 3), r"SwapAxes: axis 2 is out of range for an input of shape \(2, 3\)"),
    ],
)
def test_axis_and_shape_errors(op, shape, words):
    with pytest.raises(ValueError, match=words):
        op.forward(np.zeros(shape))


@pytest.mark.parametrize("op", [Add(), MatMul(), Max(axis=0), Exp(), Reshape(-1)])
def test_backward_before_forward(op):
    with pytest.raises(RuntimeError, match=rf"{op.name}.backward called before forward"):
        op.backward(np.ones(3))


def test_backward_twice_after_one_forward():
    op = Exp()
    op.forward(np.zeros(2))
    op.backward(np.ones(2))
    with pytest.raises(RuntimeError, match="before forward"):
        op.backward(np.ones(2))


def test_dout_of_the_wrong_shape():
    op = Add()
    op.forward(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"Add.backward: dout has shape \(3,\), expected the output's shape \(2, 3\)"):
        op.backward(np.ones(3))


@pytest.mark.parametrize("bad", ["abc", np.array(["a", "b"]), True, np.array([True]), 1 + 2j, np.array([None, 1]), [[1], [1, 2]]])
def test_non_numeric_input(bad):
    with pytest.raises(TypeError, match="Multiply: input 1 must be a real number or a numeric array"):
        Multiply().forward(1.0, bad)


def test_wrong_number_of_inputs():
    with pytest.raises(TypeError, match="Add.forward takes 2 input"):
        Add().forward(np.zeros(2))


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: Max(ties="last"), "`ties` of Max"),
        (lambda: Maximum(ties=None), "`ties` of Maximum"),
        (lambda: Sum(axis="rows"), "`axis` of Sum"),
        (lambda: Mean(axis=1.5), "`axis` of Mean"),
        (lambda: Pow("2"), "`p` of Pow"),
        (lambda: Pow(np.inf), "`p` of Pow"),
        (lambda: Reshape((2, -1, -1)), "`shape` of Reshape"),
        (lambda: BroadcastTo((2, -1)), "`shape` of BroadcastTo"),
        (lambda: Transpose("xy"), "`axes` of Transpose"),
        (lambda: SwapAxes(0, None), "`axis2` of SwapAxes"),
    ],
)
def test_bad_constructor_arguments(make, words):
    with pytest.raises(ValueError, match=f"Invalid value for argument {words}"):
        make()


def test_repr():
    assert repr(Max(axis=1)) == "Max(axis=1, keepdims=False)"
    assert repr(Max(axis=(0, 1), keepdims=True, ties="first")) == "Max(axis=(0, 1), keepdims=True, ties='first')"
    assert repr(Sum()) == "Sum(axis=None, keepdims=False)"
    assert repr(Maximum()) == "Maximum()" and repr(Maximum(ties="first")) == "Maximum(ties='first')"
    assert repr(Pow(2)) == "Pow(p=2)"
    assert repr(Reshape([6, -1])) == "Reshape(shape=(6, -1))"
    assert repr(SwapAxes(0, 1)) == "SwapAxes(axis1=0, axis2=1)"
    assert repr(Add()) == "Add()" and repr(MatMul()) == "MatMul()"
