"""RNN, LSTM, GRU: float64 gradient checks (inputs, parameters, h0, c0), PyTorch equality with
copied weights, return_sequences, shapes, configs and bad input."""

import numpy as np
import pytest

from conftest import GRAD_TOL, require_torch
from layernet.gradcheck import check_layer, numerical_gradient_array, rel_error
from layernet.layers import GRU, LSTM, RNN
from layernet.registry import LAYERS

#: Small fixed shapes. Larger random cases can show relative errors of 1e-7..5e-7 on LSTM/GRU weight
#: elements near 1e-5 (round-off of the centred difference, the same with Numba disabled); the
#: PyTorch comparison below checks every element to 1e-9 regardless.
N, T, D, H = 2, 3, 3, 4
LAYER_CASES = [
    pytest.param(lambda **kw: RNN(D, H, rng=0, **kw), id="rnn-tanh"),
    pytest.param(lambda **kw: RNN(D, H, "relu", rng=0, **kw), id="rnn-relu"),
    pytest.param(lambda **kw: LSTM(D, H, rng=0, **kw), id="lstm"),
    pytest.param(lambda **kw: GRU(D, H, rng=0, **kw), id="gru"),
]


@pytest.fixture
def x():
    return np.random.default_rng(1).standard_normal((N, T, D))


def _states(layer, rng):
    return {name: rng.standard_normal((N, H)) for name in layer.state_names}


@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
@pytest.mark.parametrize("make", LAYER_CASES)
def test_gradient_check_input_and_params(make, x, return_sequences):
    errors = check_layer(make(return_sequences=return_sequences), x)
    assert max(errors.values()) < GRAD_TOL, errors


@pytest.mark.parametrize("make", LAYER_CASES)
def test_gradient_check_initial_states(make, x, rng):
    """dh0 (and dc0) against centred differences of sum(out * dout) w.r.t. the given h0 (and c0)."""
    layer = make().astype(np.float64)
    states = _states(layer, rng)
    out = layer.forward(x, **states)
    dout = rng.standard_normal(out.shape)
    layer.backward(dout)
    for name in layer.state_names:
        analytic = getattr(layer, "d" + name)
        numeric = numerical_gradient_array(lambda _: layer.forward(x, **states), states[name], dout)
        assert rel_error(analytic, numeric) < GRAD_TOL, name


@pytest.mark.parametrize("make", LAYER_CASES)
def test_default_states_are_zeros_and_dh0_is_filled(make, x):
    layer = make()
    zeros = {name: np.zeros((N, H)) for name in layer.state_names}
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x, **zeros))
    layer.backward(np.ones((N, T, H)))
    for name in layer.state_names:
        grad = getattr(layer, "d" + name)
        assert grad.shape == (N, H) and np.all(np.isfinite(grad)) and np.any(grad != 0)


@pytest.mark.parametrize("make", LAYER_CASES)
def test_return_sequences_false_is_the_last_step(make, x):
    full, last = make(), make(return_sequences=False)
    out = full.forward(x)
    np.testing.assert_array_equal(last.forward(x), out[:, -1])
    assert last.output_shape((T, D)) == (H,) and full.output_shape((T, D)) == (T, H)
    dlast = np.random.default_rng(1).standard_normal((N, H))
    dseq = np.zeros((N, T, H))
    dseq[:, -1] = dlast
    np.testing.assert_allclose(last.backward(dlast), full.backward(dseq), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make", LAYER_CASES)
def test_float32_stays_float32(make, x):
    layer = make()
    out = layer.forward(x.astype(np.float32))
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


# ------------------------------------------------------------------------------ PyTorch
def _torch_copy(layer):
    """The torch.nn module equal to ``layer``, weights copied (LSTM blocks i,f,o,g -> i,f,g,o)."""
    torch = require_torch()
    d, h = layer.input_size, layer.hidden_size
    p = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in layer.params.items()}
    if isinstance(layer, LSTM):
        module = torch.nn.LSTM(d, h, batch_first=True).double()
        order = [0, 1, 3, 2]  # torch's i, f, g, o blocks from ours i, f, o, g

        def blocks(w):
            return torch.cat([w[..., k * h:(k + 1) * h] for k in order], dim=-1)

        weights = {"weight_ih_l0": blocks(p["Wx"]).T, "weight_hh_l0": blocks(p["Wh"]).T,
                   "bias_ih_l0": blocks(p["b"]), "bias_hh_l0": torch.zeros(4 * h, dtype=torch.float64)}
    elif isinstance(layer, GRU):
        module = torch.nn.GRU(d, h, batch_first=True).double()
        weights = {"weight_ih_l0": p["Wx"].T, "weight_hh_l0": p["Wh"].T, "bias_ih_l0": p["bx"], "bias_hh_l0": p["bh"]}
    else:
        module = torch.nn.RNN(d, h, nonlinearity=layer.nonlinearity, batch_first=True).double()
        weights = {"weight_ih_l0": p["Wx"].T, "weight_hh_l0": p["Wh"].T, "bias_ih_l0": p["b"],
                   "bias_hh_l0": torch.zeros(h, dtype=torch.float64)}
    with torch.no_grad():
        for name, value in weights.items():
            getattr(module, name).copy_(value.contiguous())
    return torch, module


@pytest.mark.parametrize("make", LAYER_CASES)
def test_forward_backward_equal_pytorch(make, x, rng):
    layer = make().astype(np.float64)
    torch, module = _torch_copy(layer)
    states = _states(layer, rng)
    out = layer.forward(x, **states)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    tx = torch.tensor(x, requires_grad=True)
    tstates = [torch.tensor(states[name][None], requires_grad=True) for name in layer.state_names]
    tout, _ = module(tx, tuple(tstates) if len(tstates) == 2 else tstates[0])
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, tstate in zip(layer.state_names, tstates):
        np.testing.assert_allclose(getattr(layer, "d" + name), tstate.grad.numpy()[0], rtol=1e-9, atol=1e-12)
    expected = _torch_grads(layer, module)
    for key, grad in expected.items():
        np.testing.assert_allclose(layer.grads[key], grad, rtol=1e-9, atol=1e-12, err_msg=key)


def _torch_grads(layer, module):
    """PyTorch's parameter gradients in layernet's layout."""
    g = {name: p.grad.numpy() for name, p in module.named_parameters()}
    h = layer.hidden_size
    if isinstance(layer, LSTM):
        def blocks(w):
            return np.concatenate([w[k * h:(k + 1) * h] for k in (0, 1, 3, 2)], axis=0)

        return {"Wx": blocks(g["weight_ih_l0"]).T, "Wh": blocks(g["weight_hh_l0"]).T, "b": blocks(g["bias_ih_l0"])}
    if isinstance(layer, GRU):
        return {"Wx": g["weight_ih_l0"].T, "Wh": g["weight_hh_l0"].T, "bx": g["bias_ih_l0"], "bh": g["bias_hh_l0"]}
    return {"Wx": g["weight_ih_l0"].T, "Wh": g["weight_hh_l0"].T, "b": g["bias_ih_l0"]}


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_float32_close_to_pytorch_on_a_long_sequence(cls, rng):
    """T = 28, H = 32 in float32: the recurrences stay within float32 round-off of PyTorch's."""
    layer = cls(8, 32, rng=1)
    torch, module = _torch_copy(layer)
    module.float()
    x = rng.standard_normal((4, 28, 8)).astype(np.float32)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = layer.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    tout, _ = module(tx)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), atol=2e-5)
    np.testing.assert_allclose(dx, tx.grad.numpy(), atol=2e-4)


def test_pytorch_default_initialisation_bound():
    layer = LSTM(7, 16, rng=0)
    for value in layer.params.values():
        assert np.abs(value).max() <= 1 / 4 and np.abs(value).max() > 0.2
    assert np.all(LSTM(7, 16, init="xavier_uniform", rng=0).params["b"] == 0)


# ------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("make", LAYER_CASES)
def test_integer_input_is_refused(make):
    with pytest.raises(ValueError, match=r"(RNN|LSTM|GRU).*expected a floating-point input.*int64"):
        make().forward(np.ones((N, T, D), dtype=np.int64))


@pytest.mark.parametrize("make", LAYER_CASES)
def test_two_dimensional_input_is_refused(make):
    with pytest.raises(ValueError, match=r"(RNN|LSTM|GRU).*expected input of shape \(N, T, 3\), found shape \(2, 3\)"):
        make().forward(np.ones((N, D)))


@pytest.mark.parametrize("make", LAYER_CASES)
def test_wrong_feature_count_and_state_shape_are_refused(make):
    layer = make()
    with pytest.raises(ValueError, match=r"expected input of shape \(N, T, 3\).*found \(2, 3, 7\)"):
        layer.forward(np.ones((N, T, 7)))
    with pytest.raises(ValueError, match=r"expected h0 of shape \(2, 4\), found \(2, 5\)"):
        layer.forward(np.ones((N, T, D)), h0=np.ones((N, 5)))


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_constructor_arguments_are_validated(kind):
    cls = LAYERS.get(kind)
    with pytest.raises(ValueError, match="`hidden_size`.*positive int"):
        cls(4, 0)
    with pytest.raises(ValueError, match="`return_sequences`"):
        cls(4, 3, return_sequences="yes")
    with pytest.raises(ValueError, match="`init`"):
        cls(4, 3, init="orthogonall")


def test_rnn_nonlinearity_is_validated():
    with pytest.raises(ValueError, match="`nonlinearity` of RNN: expected 'tanh' or 'relu'"):
        RNN(4, 3, nonlinearity="sigmoid")


def test_input_size_is_inferred_from_the_last_axis():
    from layernet.model import Sequential

    model = Sequential.from_config({"layers": [{"type": "lstm", "hidden_size": 8, "return_sequences": False},
                                               {"type": "affine", "out_features": 10}]}, input_shape=(28, 28), rng=0)
    assert model[0].input_size == 28 and model.output_shape((28, 28)) == (10,)
    assert model[0].get_config() == {"type": "lstm", "input_size": 28, "hidden_size": 8, "return_sequences": False,
                                     "init": "uniform"}


def test_single_threaded_blas_restores_the_thread_count():
    from layernet import _blas

    lib = _blas._openblas()
    assert lib is not None, "numpy's OpenBLAS was not found: the recurrent layers would run unchanged"
    before = lib.get_num_threads()
    lib.set_num_threads(2)
    try:
        with _blas.single_threaded_blas():
            assert lib.get_num_threads() == 1
        assert lib.get_num_threads() == 2
        with pytest.raises(RuntimeError), _blas.single_threaded_blas():
            raise RuntimeError("restored on errors too")
        assert lib.get_num_threads() == 2
    finally:
        lib.set_num_threads(before)
