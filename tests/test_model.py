"""Sequential: chaining, names, summary, state and files."""

import json

import numpy as np
import pytest

from layernet import Sequential
from layernet.layers import Affine, BatchNorm

MLP = {"layers": [{"type": "affine", "out_features": 6}, {"type": "affine", "out_features": 3}]}


@pytest.fixture
def mlp():
    return Sequential.from_config(MLP, input_shape=(2, 4), rng=0)


def test_from_config_infers_and_names(mlp):
    assert [layer.in_features for layer in mlp.layers] == [8, 6]
    assert [name for name, _, _ in mlp.parameters()] == ["0.W", "0.b", "1.W", "1.b"]
    assert mlp.num_params() == 8 * 6 + 6 + 6 * 3 + 3


def test_same_seed_same_model_different_seed_different_model():
    a = Sequential.from_config(MLP, input_shape=(8,), rng=3)
    b = Sequential.from_config(MLP, input_shape=(8,), rng=3)
    c = Sequential.from_config(MLP, input_shape=(8,), rng=4)
    np.testing.assert_array_equal(a.layers[0].params["W"], b.layers[0].params["W"])
    assert not np.array_equal(a.layers[0].params["W"], c.layers[0].params["W"])
    assert not np.array_equal(a.layers[0].params["W"][:6, :3], a.layers[1].params["W"][:6, :3])


def test_forward_backward_chain_matches_manual(mlp, rng):
    x = rng.standard_normal((5, 2, 4)).astype(np.float32)
    out = mlp.forward(x)
    l0, l1 = mlp.layers
    expected = (x.reshape(5, -1) @ l0.params["W"] + l0.params["b"]) @ l1.params["W"] + l1.params["b"]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = mlp.backward(dout)
    assert dx.shape == x.shape and dx.dtype == np.float32
    np.testing.assert_allclose(dx, (dout @ l1.params["W"].T @ l0.params["W"].T).reshape(x.shape), rtol=1e-4, atol=1e-6)


def test_summary_table_and_counts(mlp, capsys):
    text = mlp.summary((2, 4))
    assert capsys.readouterr().out.strip() == text.strip()
    assert "(None, 6)" in text and "(None, 3)" in text
    assert "Total params: 75" in text
    rows = [line for line in text.splitlines() if line.strip()[:1].isdigit() and "Affine" in line]
    assert [int(row.split()[-1]) for row in rows] == [54, 21]


def test_shape_mismatch_names_both_layers(rng):
    model = Sequential([Affine(8, 6, rng=0), Affine(5, 3, rng=0)])
    with pytest.raises(ValueError, match=r"layer 1 Affine\(5, 3\) does not fit the output of layer 0 Affine\(8, 6\)"):
        model.summary((8,), print_fn=None)
    with pytest.raises(ValueError, match=r"layer 1 Affine\(5, 3\) does not fit the output of layer 0 Affine\(8, 6\)"):
        model.forward(rng.standard_normal((2, 8)))
    with pytest.raises(ValueError, match=r"layer 1 \(affine\) does not fit"):
        Sequential.from_config(
            [{"type": "affine", "out_features": 6}, {"type": "affine", "in_features": 5, "out_features": 3}],
            input_shape=(8,),
        )


def test_unknown_layer_type_suggests():
    with pytest.raises(ValueError, match="did you mean 'affine'"):
        Sequential.from_config([{"type": "afine", "out_features": 3}], input_shape=(4,))


def test_only_layers_accepted():
    with pytest.raises(TypeError, match="item 1 must be a Layer"):
        Sequential([Affine(2, 2), "relu"])


def test_save_load_round_trip(mlp, rng, tmp_path):
    path = tmp_path / "model.npz"
    mlp.save(path)
    loaded = Sequential.load(path)
    x = rng.standard_normal((4, 2, 4)).astype(np.float32)
    np.testing.assert_array_equal(mlp.forward(x), loaded.forward(x))
    assert loaded.get_config() == json.loads(json.dumps(mlp.get_config()))
    with np.load(path, allow_pickle=False) as data:  # readable without pickles
        assert "state/0.W" in data.files


def test_state_dict_is_a_copy_and_load_checks_shapes(mlp):
    state = mlp.state_dict()
    state["0.W"][...] = 0
    assert not np.all(mlp.layers[0].params["W"] == 0)
    mlp.load_state_dict(state)
    assert np.all(mlp.layers[0].params["W"] == 0)
    bad = dict(state, **{"1.W": np.zeros((5, 3))})
    with pytest.raises(ValueError, match=r"parameter '1.W': the model expects shape \(6, 3\), the state has \(5, 3\)"):
        mlp.load_state_dict(bad)
    missing = {k: v for k, v in state.items() if k != "1.b"}
    with pytest.raises(ValueError, match="no array '1.b'"):
        mlp.load_state_dict(missing)
    with pytest.raises(ValueError, match="'9.W'"):
        mlp.load_state_dict(dict(state, **{"9.W": np.zeros(1)}))


def test_load_rejects_bad_files(tmp_path, mlp):
    good = tmp_path / "good.npz"
    mlp.save(good)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:200])
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    for path in (truncated, text, tmp_path / "absent.npz"):
        with pytest.raises(ValueError, match=str(path.name)):
            Sequential.load(path)


def test_astype_and_predict(mlp, rng):
    x = rng.standard_normal((300, 8))
    scores32 = mlp.predict(x.astype(np.float32), batch_size=64)
    mlp.astype(np.float64)
    assert all(p.dtype == np.float64 for _, p, _ in mlp.parameters())
    scores64 = mlp.predict(x, batch_size=1000)
    assert scores64.shape == (300, 3) and scores64.dtype == np.float64
    np.testing.assert_allclose(scores32, scores64, rtol=1e-4, atol=1e-5)


def test_replacing_a_parameter_is_used_by_next_forward(mlp, rng):
    x = rng.standard_normal((2, 8)).astype(np.float32)
    mlp.layers[1].params["b"] = np.full(3, 7.0, dtype=np.float32)
    before = mlp.forward(x)
    mlp.layers[1].params["b"] = np.zeros(3, dtype=np.float32)
    np.testing.assert_allclose(before - mlp.forward(x), 7.0, rtol=1e-6)
    mlp.layers[1].params["b"] = np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match=r"parameter 'b' must have shape \(3,\)"):
        mlp.forward(x)


def test_backward_with_a_wrong_dout_names_the_layer(rng):
    layer = Affine(4, 3, rng=0)
    layer.forward(rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match=r"Affine.backward: expected dout of the output's shape \(2, 3\), found \(2, 4\)"):
        layer.backward(np.zeros((2, 4)))


def test_backward_without_input_grad_gives_the_same_parameter_gradients(rng):
    from layernet.layers import Conv2d, Dropout, ReLU

    model = Sequential([Dropout(0.5, rng=0), Conv2d(1, 2, 3, rng=0), ReLU(), Affine(2 * 4 * 4, 3, rng=1)])
    x = rng.standard_normal((2, 1, 6, 6))
    dout = rng.standard_normal((2, 3))
    grads = []
    for input_grad in (True, False):
        model.layers[0].rng = np.random.default_rng(5)  # the same dropout mask both times
        model.forward(x, training=True)
        dx = model.backward(dout, input_grad=input_grad)
        assert (dx is None) == (not input_grad)
        grads.append({name: np.array(g) for name, _, g in model.parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        np.testing.assert_array_equal(grads[0][name], grads[1][name])
    assert all(layer.needs_input_grad for layer in model.layers)  # restored after the pass


def test_affine_skips_dx_when_not_needed(rng):
    layer = Affine(4, 3, rng=0)
    layer.needs_input_grad = False
    layer.forward(rng.standard_normal((2, 4)))
    assert layer.backward(np.ones((2, 3))) is None and layer.grads["W"].shape == (4, 3)


def test_an_error_that_is_no_shape_mismatch_names_its_layer_only(rng):
    model = Sequential([Affine(8, 6, rng=0), BatchNorm(6)])
    with pytest.raises(ValueError) as info:
        model.forward(rng.standard_normal((1, 8)), training=True)
    message = str(info.value)
    assert message.startswith("layer 1 BatchNorm(6") and "more than one value per feature" in message, message
    assert "does not fit" not in message and message.count("BatchNorm(") == 1, message
