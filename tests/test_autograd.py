"""The autograd engine: Tensor, backward's order and accumulation, no_grad, released graphs, errors."""

import numpy as np
import pytest

from layernet import autograd
from layernet.autograd import Tensor, no_grad, zero_grad
from layernet.gradcheck import check_function
from layernet.ops import Tanh


# --------------------------------------------------------------------------- Tensor
def test_dtypes_and_attributes():
    assert Tensor(2).dtype == np.float64 and Tensor(2.5).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.float64  # Python ints become float64
    assert Tensor(np.ones(3, np.float32)).dtype == np.float32
    held = Tensor(np.arange(3))  # an integer array may be held
    assert held.dtype == np.arange(3).dtype and not held.requires_grad
    t = Tensor(np.zeros((2, 3)), requires_grad=True, name="w")
    assert (t.shape, t.ndim, t.name, t.is_leaf, t.grad) == ((2, 3), 2, "w", True, None)
    assert "shape=(2, 3)" in repr(t) and "float64" in repr(t) and "op=leaf" in repr(t)
    y = t * 2
    assert not y.is_leaf and y.requires_grad and "op=Multiply" in repr(y)


def test_requires_grad_on_integer_data_is_refused():
    with pytest.raises(ValueError, match=r"requires_grad=True expected floating data, found dtype int"):
        Tensor(np.arange(3), requires_grad=True)


def test_the_circuit_x_plus_y_times_z():
    x, y, z = (Tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert x.grad.shape == () and x.grad.dtype == np.float64


# --------------------------------------------------------------------------- backward
def test_branches_add_and_leaves_accumulate_across_calls():
    x = Tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1 = 7; x is used three times
    y.backward(retain_graph=True)
    assert x.grad == 7.0
    y.backward()
    assert x.grad == 14.0
    x.grad = None
    (x * 2).backward()
    assert x.grad == 2.0
    zero_grad(x)
    assert x.grad is None


def test_diamond_runs_each_node_once():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    a = x.exp()
    b, c = a * 2, a * 3
    (b + c).sum().backward()
    np.testing.assert_allclose(x.grad, 5 * np.exp([1.0, 2.0]), rtol=1e-15)


def test_non_leaves_keep_grad_only_when_retained():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2
    k = (h * 3).retain_grad()
    k.sum().backward()
    assert h.grad is None
    np.testing.assert_array_equal(k.grad, np.ones(3))
    np.testing.assert_array_equal(x.grad, np.full(3, 6.0))


def test_grad_is_a_fresh_array_of_the_data_dtype():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = Tensor(np.ones(3, np.float32), requires_grad=True)
    (x + y + 1.5).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.flags.writeable
    x.grad += 1  # the add gate hands the same array to both inputs; the leaves must not share it
    np.testing.assert_array_equal(y.grad, np.ones(3))


def test_a_chain_of_100000_nodes_needs_no_recursion():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_second_backward_without_retain_graph_says_what_to_do():
    x = Tensor(2.0, requires_grad=True)
    y = (x * x).exp()
    y.backward()
    with pytest.raises(RuntimeError, match="pass retain_graph=True"):
        y.backward()


def test_released_graph_drops_saved_values():
    x = Tensor(np.ones(4), requires_grad=True)
    y = x.exp()
    y.sum().backward()
    assert y._node.released and y._node.x is None


def test_backward_with_explicit_grad_array_or_tensor():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 3
    g = np.arange(6.0).reshape(2, 3)
    y.backward(g, retain_graph=True)
    np.testing.assert_array_equal(x.grad, 3 * g)
    y.backward(Tensor(g))
    np.testing.assert_array_equal(x.grad, 6 * g)


@pytest.mark.parametrize("grad, error, match", [
    (None, ValueError, r"expected grad of the tensor's shape \(2, 3\).*found none"),
    (np.ones(3), ValueError, r"expected grad of the tensor's shape \(2, 3\), found shape \(3,\)"),
])
def test_bad_backward_calls(grad, error, match):
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(error, match=match):
        y.backward(grad)


def test_backward_on_a_tensor_without_graph():
    with pytest.raises(RuntimeError, match="expected a tensor that requires grad.*found one with requires_grad=False"):
        Tensor(1.0).backward()


def _backward_twice():
    y = Tensor(2.0, requires_grad=True).exp()
    y.backward()
    y.backward()


def _layer_on_wrong_shape():
    from layernet.layers import Affine

    Affine(4, 2)(Tensor(np.ones((3, 5)), requires_grad=True))


@pytest.mark.parametrize("make", [
    lambda: Tensor(np.arange(3), requires_grad=True),
    lambda: Tensor(np.ones(3), requires_grad=True).backward(),
    lambda: Tensor(np.ones(3), requires_grad=True).backward(np.ones(2)),
    lambda: Tensor(1.0).backward(),
    _backward_twice,
    _layer_on_wrong_shape,
], ids=["int-requires-grad", "no-grad-for-non-scalar", "grad-shape", "no-graph", "twice", "layer-shape"])
def test_every_error_message_is_one_line(make):
    with pytest.raises((ValueError, RuntimeError)) as info:
        make()
    assert "\n" not in str(info.value) and "expected" in str(info.value) and "found" in str(info.value)


# --------------------------------------------------------------------------- no_grad, detach
def test_no_grad_records_nothing():
    x = Tensor(np.ones(3), requires_grad=True)
    with no_grad():
        y = (x * 2).sum()
    assert not y.requires_grad and y.is_leaf and autograd.is_grad_enabled()
    z = x * 2
    assert z.requires_grad


def test_detach_shares_data_without_history():
    x = Tensor(np.ones(3), requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    d = x.detach()
    assert np.shares_memory(d.data, x.data)


def test_constants_do_not_require_grad():
    a = Tensor(np.ones(3))
    assert not (a * 2 + np.ones(3)).requires_grad


# --------------------------------------------------------------------------- check_function
def test_check_function_passes_the_engine(rng):
    errors = check_function(lambda a, b: ((a @ b).tanh() * a.sum()).mean(), rng.standard_normal((3, 4)), rng.standard_normal((4, 2)))
    assert max(errors) < 1e-7, errors


class _WrongTanh(Tanh):
    def _backward(self, dout, x, out):
        return dout * (1 - out)  # should be 1 - out**2


def test_check_function_flags_a_wrong_op(rng):
    x = rng.standard_normal((3, 4))
    assert max(check_function(lambda t: autograd.apply(Tanh(), t).sum(), x)) < 1e-7
    assert check_function(lambda t: autograd.apply(_WrongTanh(), t).sum(), x)[0] > 1e-2


def test_check_function_catches_an_ignored_upstream_gradient(rng):
    class _Careless(Tanh):
        def _backward(self, dout, x, out):
            return 1 - out * out  # forgets dout

    assert check_function(lambda t: autograd.apply(_Careless(), t).sum(), rng.standard_normal(3))[0] > 1e-2


def test_check_function_wants_a_size_1_result(rng):
    with pytest.raises(ValueError, match=r"expected f to return a size-1 Tensor, found a Tensor of shape \(3,\)"):
        check_function(lambda t: t * 2, rng.standard_normal(3))


def test_a_replaced_op_backward_is_the_one_the_engine_calls(rng, monkeypatch):
    """Every node's backward is the op's: replacing ops.Tanh.backward changes the engine's answer."""
    x = rng.standard_normal(4)
    assert max(check_function(lambda t: t.tanh().sum(), x)) < 1e-7
    monkeypatch.setattr(Tanh, "backward", lambda self, dout: (np.zeros_like(self.pop_cache()[0]),))
    assert check_function(lambda t: t.tanh().sum(), x)[0] > 0.5


def test_a_replaced_op_private_backward_is_used_too(rng, monkeypatch):
    from layernet.ops import Multiply

    monkeypatch.setattr(Multiply, "_backward", lambda self, dout, a, b, out: (dout * b, dout * b))
    errors = check_function(lambda s, t: (s * t).sum(), rng.standard_normal(3), rng.standard_normal(3))
    assert errors[0] < 1e-7 and errors[1] > 1e-2


def test_layers_losses_and_plotting_do_not_import_the_engine():
    import subprocess
    import sys

    code = ("import sys, layernet, layernet.layers, layernet.losses, layernet.model, layernet.plot, layernet.gradcheck; "
            "print('layernet.autograd' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("f", [
    lambda a, b: a + 2.0 * b - 1,
    lambda a, b: (a / (b * b + 1.0)) ** 2,
    lambda a, b: 2.0 ** a + a ** b.sigmoid(),
    lambda a, b: (a @ b.T).tanh().exp().log(),
    lambda a, b: autograd.maximum(a, b).max(axis=1) + a.mean(axis=0).sum(),
    lambda a, b: autograd.where(a.data > 0, a, b)[[0, 0]].relu(),
    lambda a, b: autograd.concatenate([a, b], axis=0).reshape(-1).swapaxes(0, 0) - autograd.stack([a, b]).sum(0).reshape(6).sum(),
], ids=["arith", "div-pow", "powers", "matmul-unary", "max-mean", "where-index", "join-shape"])
def test_float32_stays_float32(f, rng):
    a = Tensor(rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32), requires_grad=True)
    out = f(a, b)
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.dtype == b.grad.dtype == np.float32
