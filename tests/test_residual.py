"""Residual: x + f(x), the branch rule in backward, and the container protocol (children)."""

import numpy as np
import pytest

from conftest import GRAD_TOL, MODEL_GRAD_TOL
from layernet import Sequential
from layernet.gradcheck import check_layer, check_model, numerical_gradient_array
from layernet.layers import Affine, Conv2d, ReLU, Residual
from layernet.registry import LAYERS


class _HalfSquaredError:
    """loss = 0.5 * sum((scores - y)^2) / N: a test-local loss with the protocol of layernet.losses."""

    def forward(self, scores, y):
        self._cache = (scores, y)
        return 0.5 * float(np.sum((scores - y) ** 2)) / scores.shape[0]

    def backward(self):
        scores, y = self._cache
        return (scores - y) / scores.shape[0]


def _block(rng=0):
    return Residual(Affine(4, 5, rng=rng), ReLU(), Affine(5, 4, rng=rng + 1))


def test_forward_is_x_plus_f_of_x(rng):
    inner = Affine(3, 3, rng=0)
    inner.params["W"] = 2 * np.eye(3, dtype=np.float32)
    block = Residual(inner)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    out = block.forward(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 3 * x, rtol=1e-6)


def test_backward_adds_the_skip_gradient(rng):
    inner = Affine(3, 3, rng=0)
    W = inner.params["W"].astype(np.float64)
    block = Residual(inner).astype(np.float64)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    block.forward(x)
    dx = block.backward(dout)
    np.testing.assert_allclose(dx, dout + dout @ W.T, rtol=1e-12)  # skip path + path through f
    np.testing.assert_allclose(inner.grads["W"], x.T @ dout, rtol=1e-12)


def test_check_layer_and_inner_parameter_gradients(rng):
    block = _block()
    x = rng.standard_normal((3, 4))
    errors = check_layer(block, x)
    assert set(errors) == {"x", "0.W", "0.b", "2.W", "2.b"}  # the inner layers' params, by index
    assert max(errors.values()) < GRAD_TOL, errors
    # and the inner gradients once more by hand, independently of check_layer's naming
    block.astype(np.float64)
    dout = np.random.default_rng(1).standard_normal((3, 4))
    block.forward(x, training=True)
    block.backward(dout)
    for child in block.children():
        for key, param in child.params.items():
            numeric = numerical_gradient_array(lambda: block.forward(x, training=True), param, dout)
            assert np.max(np.abs(child.grads[key] - numeric) / np.maximum(1e-8, np.abs(child.grads[key]) + np.abs(numeric))) < GRAD_TOL


def test_check_layer_restores_the_children(rng):
    block = _block()
    W = block.layers[0].params["W"]
    before = W.copy()
    check_layer(block, rng.standard_normal((2, 4)))
    assert block.layers[0].params["W"] is W and W.dtype == np.float32
    np.testing.assert_array_equal(W, before)


def test_astype_and_zero_grad_reach_the_children(rng):
    block = _block().astype(np.float64)
    assert all(p.dtype == np.float64 for child in block.children() for p in child.params.values())
    block.forward(rng.standard_normal((2, 4)))
    block.backward(np.ones((2, 4)))
    assert np.any(block.layers[0].grads["W"] != 0)
    block.zero_grad()
    assert not np.any(block.layers[0].grads["W"])
    assert block.params == {} and block.num_params() == (4 * 5 + 5) + (5 * 4 + 4)


def test_in_sequential_names_and_summary():
    model = Sequential([Affine(6, 4, rng=0), _block(), Affine(4, 2, rng=3)])
    names = [name for name, _, _ in model.parameters()]
    inner = [n for n in names if n.startswith("1.")]
    assert inner[:2] == ["1.0.W", "1.0.b"] and inner[-2:][0].endswith(".W") and len(inner) == 4
    text = model.summary((6,), print_fn=None)
    assert "Residual(f: " in text and "1.0    Affine(4, 5)" in text and "(None, 4)" in text  # a row per inner layer
    assert f"Total params: {model.num_params():,}" in text


def test_check_model_with_a_residual_mlp(rng):
    model = Sequential([Affine(6, 4, rng=0), _block(), Affine(4, 2, rng=3)])
    errors = check_model(model, _HalfSquaredError(), rng.standard_normal((3, 6)), rng.standard_normal((3, 2)))
    assert set(errors) == {"x"} | {name for name, _, _ in model.parameters()}
    assert max(errors.values()) < MODEL_GRAD_TOL, errors


SMALL_CONVNET = {
    "layers": [
        {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
        {
            "type": "residual",
            "layers": [
                {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
                {"type": "conv2d", "out_channels": 2, "kernel_size": 1},
            ],
        },
        {"type": "affine", "out_features": 3},
    ]
}


def test_small_convnet_with_a_residual_block(rng, tmp_path):
    model = Sequential.from_config(SMALL_CONVNET, input_shape=(1, 5, 5), rng=0)
    block = model.layers[1]
    assert isinstance(block, Residual) and all(isinstance(c, Conv2d) for c in block.layers)
    assert [c.in_channels for c in block.layers] == [2, 3]
    assert model.output_shape((1, 5, 5)) == (3,)
    x, y = rng.standard_normal((2, 1, 5, 5)), rng.standard_normal((2, 3))
    errors = check_model(model, _HalfSquaredError(), x, y)
    assert "1.0.W" in errors and "1.1.b" in errors
    assert max(errors.values()) < GRAD_TOL, errors
    # save / load gives the same architecture and the same outputs
    path = tmp_path / "resnet.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert loaded.get_config() == model.get_config()
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(x32), model.forward(x32))


def test_save_load_round_trip_mlp(rng, tmp_path):
    model = Sequential([Affine(6, 4, rng=0), _block(), Affine(4, 2, rng=3)])
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = Sequential.load(path)
    assert repr(loaded) == repr(model)
    x = rng.standard_normal((3, 6)).astype(np.float32)
    np.testing.assert_array_equal(loaded.forward(x), model.forward(x))
    state = loaded.state_dict()
    assert "1.0.W" in state


def test_get_config_round_trip():
    block = _block()
    config = block.get_config()
    assert config["type"] == "residual" and [c["type"] for c in config["layers"]][0] == "affine"
    rebuilt = LAYERS.get("residual").from_config(config, rng=0)
    assert rebuilt.get_config() == config and repr(rebuilt) == repr(block)


def test_from_config_infers_inner_layers_from_the_input_shape():
    config = {"type": "residual", "layers": [{"type": "affine", "out_features": 7}, {"type": "affine", "out_features": 4}]}
    model = Sequential.from_config({"layers": [config]}, input_shape=(4,), rng=0)
    assert [c.in_features for c in model.layers[0].layers] == [4, 7]
    same = Sequential.from_config({"layers": [config]}, input_shape=(4,), rng=0)
    np.testing.assert_array_equal(model.layers[0].layers[1].params["W"], same.layers[0].layers[1].params["W"])
    assert not np.array_equal(model.layers[0].layers[0].params["W"][:4, :4], model.layers[0].layers[1].params["W"][:4, :4])


def test_repr():
    assert repr(Residual(Affine(4, 4))) == "Residual(Affine(4, 4))"


# --------------------------------------------------------------------------- errors
def test_f_must_keep_the_shape(rng):
    block = Residual(Affine(4, 3, rng=0))
    with pytest.raises(ValueError, match=r"Residual: its layers map an input of shape \(2, 4\) to \(2, 3\)"):
        block.forward(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match=r"Residual: its layers map an input of shape \(None, 4\) to \(None, 3\)"):
        block.output_shape((4,))
    config = {"layers": [{"type": "residual", "layers": [{"type": "affine", "out_features": 3}]}]}
    with pytest.raises(ValueError, match=r"layer 0 \(residual\).*Residual: its layers map .*\(None, 4\) to \(None, 3\)"):
        Sequential.from_config(config, input_shape=(4,))


def test_inner_layer_errors_name_the_inner_layer():
    with pytest.raises(ValueError, match=r"Residual, inner layer 1 \(afine\): unknown layer type 'afine' \(did you mean 'affine'"):
        Residual.from_config({"layers": [{"type": "affine", "in_features": 2, "out_features": 2}, {"type": "afine"}]})
    with pytest.raises(ValueError, match=r"Residual, inner layer 0: expected a dict with a 'type' key"):
        Residual.from_config({"layers": ["affine"]})
    with pytest.raises(ValueError, match=r"Residual: unknown argument 'layer' \(did you mean 'layers'"):
        Residual.from_config({"layer": []})
    with pytest.raises(ValueError, match=r"Residual, inner layers: expected a non-empty list"):
        Residual.from_config({"layers": []})


def test_constructor_errors():
    with pytest.raises(ValueError, match="Residual: expected at least one layer"):
        Residual()
    with pytest.raises(TypeError, match="Residual: argument 1 must be a Layer"):
        Residual(Affine(2, 2), "relu")


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="Residual.backward called before forward"):
        _block().backward(np.ones((2, 4)))


def test_non_floating_input():
    with pytest.raises(ValueError, match="Residual: expected a floating-point input"):
        _block().forward(np.ones((2, 4), dtype=np.int64))


def test_forward_errors_name_the_residual_and_inner_layer():
    block = Residual(Affine(6, 6, rng=0))
    with pytest.raises(ValueError, match=r"Residual, inner layer 0 Affine\(6, 6\): .*found \(3, 5\)"):
        block.forward(np.zeros((3, 5)))
    block.forward(np.zeros((3, 6)))
    with pytest.raises(ValueError, match=r"Residual.backward: expected dout of the output's shape \(3, 6\)"):
        block.backward(np.zeros((3, 5)))
