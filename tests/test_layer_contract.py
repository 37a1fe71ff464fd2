"""The layer contract, checked for every registered layer type.

Parametrized over ``LAYERS.names()``: a layer is tested the moment it is registered, and a
registered type without an entry in ``EXAMPLES`` fails, so whoever registers a layer adds one.
For each example the layer must

- build from its config (``LAYERS.get(type).from_config``) and round-trip ``get_config`` (also
  through JSON, as saved models store it) to an equal config and an equal ``repr``;
- keep the dtype: float32 in -> float32 out and dx (and float32 gradients of its float32
  parameters); float64 in -> float64 out and dx; dx has the input's dtype whatever the
  parameters' dtype (float64 parameters, float32 input: float32 dx);
- agree with itself on shapes: ``output_shape`` of the per-sample shape is the forward's;
- pass a float64 gradient check (``check_layer``, training and eval) below 1e-7;
- refuse a bad shape, an integer input (a float input for a layer of indices: Embedding), and
  backward before forward, naming the layer;
- declare weight decay (``decayed``) only for parameters it has, never a bias or gamma/beta.

Inputs are distinct values spread evenly over [-2, 2] and kept away from 0, in shuffled order,
so no max-pool window has a tie and no ReLU input sits at its kink.
"""

import json

import numpy as np
import pytest

from conftest import GRAD_TOL
from layernet.gradcheck import check_layer
from layernet.registry import LAYERS

BATCH = 3

#: type name -> list of (config, per-sample input shape, a bad *full* input shape, batch included).
EXAMPLES = {
    "affine": [
        ({"type": "affine", "in_features": 12, "out_features": 5}, (12,), (BATCH, 11)),
        ({"type": "affine", "in_features": 12, "out_features": 5, "bias": False}, (3, 4), (BATCH, 4, 4)),
    ],
    "conv2d": [
        ({"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": [3, 2], "stride": [2, 1],
          "padding": [1, 0]}, (2, 5, 6), (BATCH, 3, 5, 6)),
        ({"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1}, (1, 4, 5),
         (BATCH, 1, 5)),
        ({"type": "conv2d", "in_channels": 4, "out_channels": 6, "kernel_size": 3, "padding": [2, 1],
          "dilation": [2, 1], "groups": 2}, (4, 5, 6), (BATCH, 3, 5, 6)),
    ],
    "maxpool2d": [({"type": "maxpool2d", "kernel_size": 3, "stride": 2}, (2, 7, 6), (BATCH, 2, 2, 6))],
    "avgpool2d": [({"type": "avgpool2d", "kernel_size": [2, 3], "stride": 1}, (2, 5, 6), (BATCH, 5, 6))],
    "batchnorm": [
        ({"type": "batchnorm", "num_features": 4}, (4,), (BATCH, 5)),
        ({"type": "batchnorm", "num_features": 3}, (3, 4, 5), (BATCH, 4, 4, 5)),
    ],
    "dropout": [({"type": "dropout", "p": 0.3}, (4, 5), ())],
    "relu": [({"type": "relu"}, (4, 5), ())],
    "leaky_relu": [({"type": "leaky_relu", "negative_slope": 0.1}, (4, 5), ())],
    "sigmoid": [({"type": "sigmoid"}, (4, 5), ())],
    "tanh": [({"type": "tanh"}, (4, 5), ())],
    "flatten": [({"type": "flatten"}, (2, 3, 4), ())],
    # x + f(x): an input of 6 features per sample that f maps to another shape is refused by
    # the block itself ((2, 3) -> (6,)).
    "rnn": [
        ({"type": "rnn", "input_size": 3, "hidden_size": 4}, (3, 3), (BATCH, 3)),
        ({"type": "rnn", "input_size": 3, "hidden_size": 4, "nonlinearity": "relu", "return_sequences": False},
         (2, 3), (BATCH, 2, 4)),
    ],
    "lstm": [
        ({"type": "lstm", "input_size": 3, "hidden_size": 4}, (3, 3), (BATCH, 3)),
        ({"type": "lstm", "input_size": 2, "hidden_size": 3, "return_sequences": False}, (2, 2), (BATCH, 2, 3)),
    ],
    "gru": [
        ({"type": "gru", "input_size": 3, "hidden_size": 4}, (3, 3), (BATCH, 3)),
        ({"type": "gru", "input_size": 2, "hidden_size": 3, "return_sequences": False}, (2, 2), (BATCH, 2, 3)),
    ],
    # integer input (indices in [0, 7)); float input is what it refuses
    "embedding": [({"type": "embedding", "num_embeddings": 7, "embedding_dim": 3}, (4,), (BATCH,))],
    "temporal_affine": [({"type": "temporal_affine", "in_features": 4, "out_features": 3}, (2, 4), (BATCH, 2, 5))],
    "residual": [
        ({"type": "residual", "layers": [{"type": "affine", "in_features": 6, "out_features": 6}]}, (6,),
         (BATCH, 2, 3)),
        # f(x) + s(x) with a projection shortcut: both paths map 6 features to 4
        ({"type": "residual", "layers": [{"type": "affine", "in_features": 6, "out_features": 4}, {"type": "tanh"}],
          "shortcut": [{"type": "affine", "in_features": 6, "out_features": 4}]}, (6,), (BATCH, 5)),
    ],
    "layernorm": [
        ({"type": "layernorm", "normalized_shape": 5}, (4, 5), (BATCH, 4, 6)),
        ({"type": "layernorm", "normalized_shape": [3, 4], "eps": 1e-3}, (2, 3, 4), (BATCH, 3, 5)),
    ],
    "groupnorm": [
        ({"type": "groupnorm", "num_groups": 2, "num_channels": 4}, (4, 3, 5), (BATCH, 3, 3, 5)),
        ({"type": "groupnorm", "num_groups": 3, "num_channels": 6, "eps": 1e-3}, (6,), (BATCH, 5)),
    ],
    "global_avgpool2d": [({"type": "global_avgpool2d"}, (3, 4, 5), (BATCH, 4, 5))],
    "gelu": [
        ({"type": "gelu"}, (4, 5), ()),
        ({"type": "gelu", "approximate": "tanh"}, (4, 5), ()),
    ],
    "concat": [
        ({"type": "concat", "branches": [[{"type": "affine", "in_features": 6, "out_features": 3}],
                                         [{"type": "affine", "in_features": 6, "out_features": 2}, {"type": "tanh"}]],
          "axis": 1}, (6,), (BATCH, 5)),
        ({"type": "concat", "branches": [[{"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 1}],
                                         [{"type": "conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 3,
                                           "padding": 1}]],
          "axis": 1}, (2, 4, 5), (BATCH, 3, 4, 5)),
    ],
}


def _cases():
    for name in LAYERS.names():
        for index, example in enumerate(EXAMPLES.get(name, [None])):
            yield pytest.param(name, example, id=f"{name}-{index}")


CASES = list(_cases())


def _build(name, example):
    if example is None:
        pytest.fail(
            f"layer type '{name}' is registered but has no entry in EXAMPLES of tests/test_layer_contract.py; "
            "add (config, per-sample input shape, bad input shape) so the contract test covers it"
        )
    config, shape, bad = example
    layer = LAYERS.get(name).from_config(config, rng=0)
    return layer, (BATCH, *shape), bad


def _input(layer, shape, dtype=np.float64):
    """The test input: valid indices for an integer-input layer (Embedding), else ``_spread`` values."""
    if getattr(layer, "integer_input", False):
        return np.random.default_rng(0).integers(0, layer.num_embeddings, size=shape)
    return _spread(shape, dtype)


def _spread(shape, dtype=np.float64, seed=0):
    """Distinct values evenly spread over [-2, 2], none within 1/size of 0, in random order."""
    size = int(np.prod(shape))
    values = (np.arange(size) - (size - 1) / 2) / max(size, 1) * 4
    values = np.where(np.abs(values) < 1e-12, 1.0 / max(size, 1), values)
    return np.random.default_rng(seed).permutation(values).reshape(shape).astype(dtype)


@pytest.mark.parametrize("name, example", CASES)
def test_config_round_trip(name, example):
    layer, _, _ = _build(name, example)
    config = layer.get_config()
    assert config["type"] == name and type(layer).type_name == name
    for key, value in example[0].items():  # what the example asked for is what it got
        if key not in ("layers", "shortcut", "branches"):  # containers: the children's full configs
            assert config[key] == value, (key, config[key], value)
    rebuilt = LAYERS.get(name).from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(layer)
    assert repr(layer).startswith(type(layer).__name__ + "(")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, example", CASES)
def test_dtype_and_shapes(name, example, dtype):
    layer, shape, _ = _build(name, example)
    for key, param in layer.params.items():
        assert param.dtype == np.float32, f"{name}: parameter {key} should be created as float32, is {param.dtype}"
    x = _input(layer, shape, dtype)
    integer = getattr(layer, "integer_input", False)
    if integer:  # indices carry no dtype: the output follows the parameters'
        layer.astype(dtype)
    out = layer.forward(x, training=True)
    assert out.dtype == dtype, f"{name}: {np.dtype(dtype).name} input gave {out.dtype} output"
    assert out.shape[0] == BATCH
    assert tuple(layer.output_shape(shape[1:])) == out.shape[1:]
    dx = layer.backward(np.ones_like(out))
    if integer:
        assert dx is None  # no gradient w.r.t. indices
    else:
        assert dx.dtype == dtype and dx.shape == x.shape, (dx.dtype, dx.shape)
    for key, param in layer.params.items():
        grad = layer.grads[key]
        assert grad.shape == param.shape and grad.dtype == param.dtype, (key, grad.shape, grad.dtype)
        assert np.all(np.isfinite(grad))
    # eval mode too (dropout: identity; batch norm: running statistics)
    assert layer.forward(x, training=False).dtype == dtype


@pytest.mark.parametrize("params, inputs", [(np.float64, np.float32), (np.float32, np.float64)])
@pytest.mark.parametrize("name, example", CASES)
def test_dx_has_the_input_dtype(name, example, params, inputs):
    layer, shape, _ = _build(name, example)
    if getattr(layer, "integer_input", False):
        pytest.skip("indices have no dtype to keep and no gradient (Embedding)")
    layer.astype(params)
    x = _spread(shape, inputs)
    out = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(out))
    assert dx.dtype == inputs, f"{name}: {np.dtype(params).name} parameters and {np.dtype(inputs).name} input gave {dx.dtype} dx"
    for key, param in layer.params.items():
        assert layer.grads[key].dtype == param.dtype, (key, layer.grads[key].dtype, param.dtype)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name, example", CASES)
def test_gradient_check_float64(name, example, training):
    layer, shape, _ = _build(name, example)
    before = {key: value.copy() for key, value in layer.params.items()}
    errors = check_layer(layer, _input(layer, shape), training=training)
    assert set(errors) >= ({"W"} if getattr(layer, "integer_input", False) else {"x"})
    assert max(errors.values()) < GRAD_TOL, errors
    for key, value in before.items():  # the check leaves the layer as it was
        assert layer.params[key].dtype == value.dtype
        np.testing.assert_array_equal(layer.params[key], value)


@pytest.mark.parametrize("name, example", CASES)
def test_weight_decay_is_declared_for_parameters_the_layer_has(name, example):
    layer, _, _ = _build(name, example)
    assert set(layer.decayed) <= set(layer.params), f"{name}: decayed {layer.decayed} names no parameter of {sorted(layer.params)}"
    assert {"b", "gamma", "beta"}.isdisjoint(layer.decayed), f"{name}: weight decay on a bias or normalisation parameter"


@pytest.mark.parametrize("name, example", CASES)
def test_rejects_bad_shape(name, example):
    layer, _, bad = _build(name, example)
    cls_name = type(layer).__name__
    with pytest.raises(ValueError) as info:
        layer.forward(_spread(bad) if bad else np.float64(0.5), training=False)
    assert cls_name in str(info.value), str(info.value)
    if len(bad) >= 2:  # the same per-sample shape is refused before any data flows
        with pytest.raises(ValueError):
            layer.output_shape(bad[1:])


@pytest.mark.parametrize("name, example", CASES)
def test_rejects_integer_input(name, example):
    """Integer input is refused (floating input, for a layer that takes indices)."""
    layer, shape, _ = _build(name, example)
    dtype = np.float64 if getattr(layer, "integer_input", False) else np.int64
    with pytest.raises(ValueError) as info:
        layer.forward(np.ones(shape, dtype=dtype), training=False)
    assert type(layer).__name__ in str(info.value), str(info.value)


@pytest.mark.parametrize("name, example", CASES)
def test_backward_before_forward(name, example):
    layer, shape, _ = _build(name, example)
    with pytest.raises(RuntimeError, match=type(layer).__name__):
        layer.backward(np.ones((BATCH, *layer.output_shape(shape[1:]))))



def test_every_registered_type_has_an_example():
    missing = sorted(set(LAYERS.names()) - set(EXAMPLES))
    assert not missing, f"registered layer types without an entry in EXAMPLES: {missing}"
