"""Optimizers and lr schedules: update rules by hand and against torch.optim, state, validation."""

import math

import numpy as np
import pytest

from conftest import require_torch
from layernet.optim import SGD, Adam, RMSProp
from layernet.registry import OPTIMIZERS, SCHEDULES


class FakeModel:
    """Just enough of Sequential for an optimizer: named parameters with gradients, and the
    names weight decay applies to (by default those of DECAYED that it has)."""

    def __init__(self, params: dict, decayed=None):
        self.params = {k: np.array(v) for k, v in params.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.decayed = set(self.params) & DECAYED if decayed is None else set(decayed)

    def parameters(self):
        for name, param in self.params.items():
            yield name, param, self.grads[name]

    def decayed_names(self):
        return self.decayed

    def set_grads(self, grads: dict):
        for name, g in grads.items():
            self.grads[name][...] = g


NAMES_SHAPES = {"0.W": (4, 3), "0.b": (3,), "1.gamma": (3,), "1.beta": (3,), "2.layers.0.W": (3, 2, 2, 2)}
DECAYED = {"0.W", "2.layers.0.W"}


def make_model(rng, dtype=np.float64):
    return FakeModel({n: rng.standard_normal(s).astype(dtype) for n, s in NAMES_SHAPES.items()})


def grad_sequence(rng, steps, dtype=np.float64):
    return [{n: rng.standard_normal(s).astype(dtype) for n, s in NAMES_SHAPES.items()} for _ in range(steps)]


def run(opt, model, grads):
    for g in grads:
        model.set_grads(g)
        opt.step(model)
    return model


# ---------------------------------------------------------------------------- hand-computed steps
def test_sgd_plain_and_momentum_by_hand():
    model = FakeModel({"0.W": [1.0, -2.0]})
    opt = SGD(lr=0.1, momentum=0.9)
    model.set_grads({"0.W": [1.0, 1.0]})
    opt.step(model)                     # v = -0.1*g = [-0.1, -0.1]
    np.testing.assert_allclose(model.params["0.W"], [0.9, -2.1])
    opt.step(model)                     # v = 0.9*(-0.1) - 0.1 = -0.19
    np.testing.assert_allclose(model.params["0.W"], [0.71, -2.29])
    plain = FakeModel({"0.W": [1.0]})
    plain.set_grads({"0.W": [2.0]})
    SGD(lr=0.5).step(plain)
    np.testing.assert_allclose(plain.params["0.W"], [0.0])


def test_nesterov_by_hand():
    model = FakeModel({"0.W": [0.0]})
    opt = SGD(lr=0.1, momentum=0.5, nesterov=True)
    model.set_grads({"0.W": [1.0]})
    opt.step(model)   # v_prev=0, v=-0.1; w += -0.5*0 + 1.5*(-0.1) = -0.15
    np.testing.assert_allclose(model.params["0.W"], [-0.15])
    opt.step(model)   # v_prev=-0.1, v=-0.15; w += 0.05 + 1.5*(-0.15) = -0.175
    np.testing.assert_allclose(model.params["0.W"], [-0.325])


def test_rmsprop_by_hand():
    model = FakeModel({"0.W": [1.0]})
    opt = RMSProp(lr=0.01, decay=0.9, eps=1e-8)
    model.set_grads({"0.W": [2.0]})
    opt.step(model)   # cache = 0.1*4 = 0.4; w -= 0.01*2/(sqrt(0.4)+1e-8)
    np.testing.assert_allclose(model.params["0.W"], [1.0 - 0.02 / (math.sqrt(0.4) + 1e-8)])


def test_adam_first_step_is_lr_times_sign():
    # t is incremented before the bias correction: m_hat = g, v_hat = g^2 on step 1.
    model = FakeModel({"0.W": [1.0, 1.0]})
    opt = Adam(lr=0.1, eps=0.0 + 1e-12)
    model.set_grads({"0.W": [3.0, -0.5]})
    opt.step(model)
    np.testing.assert_allclose(model.params["0.W"], [0.9, 1.1], rtol=1e-10)
    assert opt.t == 1


def test_adam_second_step_by_hand():
    model = FakeModel({"0.W": [0.0]})
    opt = Adam(lr=1.0, beta1=0.5, beta2=0.75, eps=1e-8)
    for g in (1.0, 3.0):
        model.set_grads({"0.W": [g]})
        opt.step(model)
    m, v = 0.5 * 0.5 + 0.5 * 3, 0.75 * 0.25 + 0.25 * 9          # 1.75, 2.4375
    m_hat, v_hat = m / (1 - 0.25), v / (1 - 0.5625)
    first = -1.0 / (1.0 + 1e-8)                                  # step 1: -lr * g / (|g| + eps)
    expected = first - m_hat / (math.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(model.params["0.W"], [expected], rtol=1e-12)


# ---------------------------------------------------------------------------- torch oracle
def torch_pair(kind, kwargs, wd):
    """Our optimizer and the torch optimizer (param groups: decay on W only) for the same settings."""
    torch = require_torch()
    ours = OPTIMIZERS.get(kind)(weight_decay=wd, **kwargs)
    translate = {"decay": "alpha", "beta1": None, "beta2": None}
    tkw = {translate.get(k, k) or k: v for k, v in kwargs.items() if translate.get(k, k) is not None}
    if kind == "adam":
        tkw["betas"] = (kwargs.get("beta1", 0.9), kwargs.get("beta2", 0.999))
    cls = {"sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam}[kind]
    return ours, lambda weights, others: cls(
        [{"params": weights, "weight_decay": wd}, {"params": others, "weight_decay": 0.0}], **tkw
    )


@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("sgd", {"lr": 0.1}),
        ("sgd", {"lr": 0.05, "momentum": 0.9}),
        ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
        ("rmsprop", {"lr": 0.01, "decay": 0.9, "eps": 1e-6}),
        ("rmsprop", {"lr": 0.003}),
        ("adam", {"lr": 0.01}),
        ("adam", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
    ],
)
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_matches_torch_over_several_steps(kind, kwargs, wd, rng):
    torch = require_torch()
    ours, make_torch = torch_pair(kind, kwargs, wd)
    model = make_model(rng)
    tparams = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in model.params.items()}
    topt = make_torch([t for n, t in tparams.items() if n in DECAYED], [t for n, t in tparams.items() if n not in DECAYED])
    for grads in grad_sequence(rng, 6):
        model.set_grads(grads)
        ours.step(model)
        for n, t in tparams.items():
            t.grad = torch.tensor(grads[n])
        topt.step()
    for n, t in tparams.items():
        np.testing.assert_allclose(model.params[n], t.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize(
    "kind, kwargs",
    [("sgd", {"lr": 0.05, "momentum": 0.9}), ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
     ("rmsprop", {"lr": 0.01}), ("adam", {"lr": 0.01})],
)
def test_float32_kernels_agree_with_float64(kind, kwargs, rng):
    """The fused kernels compute a float32 model in float32: close to the float64 run, not equal."""
    grads = grad_sequence(rng, 5)
    start = make_model(rng)
    wide = run(OPTIMIZERS.get(kind)(weight_decay=0.01, **kwargs), FakeModel(start.params), grads)
    narrow = FakeModel({n: p.astype(np.float32) for n, p in start.params.items()})
    run(OPTIMIZERS.get(kind)(weight_decay=0.01, **kwargs), narrow,
        [{n: g.astype(np.float32) for n, g in step.items()} for step in grads])
    for n in NAMES_SHAPES:
        assert narrow.params[n].dtype == np.float32
        np.testing.assert_allclose(narrow.params[n], wide.params[n], rtol=2e-5, atol=2e-6, err_msg=n)


# ---------------------------------------------------------------------------- behaviour
def _decay_moves(kind, model) -> dict[str, bool]:
    """Which parameters of ``model`` one step with weight decay moves differently from one without."""
    extra = {"momentum": 0.9} if kind == "sgd" else {}
    start = {name: param.copy() for name, param, _ in model.parameters()}
    grads = {name: np.full(param.shape, 0.3, param.dtype) for name, param, _ in model.parameters()}
    after = {}
    for decay in (0.5, 0.0):
        for name, param, grad in model.parameters():
            param[...] = start[name]
            grad[...] = grads[name]
        OPTIMIZERS.get(kind)(lr=0.1, weight_decay=decay, **extra).step(model)
        after[decay] = {name: param.copy() for name, param, _ in model.parameters()}
    return {name: not np.array_equal(after[0.5][name], after[0.0][name]) for name in start}


@pytest.mark.parametrize("kind", ["sgd", "rmsprop", "adam"])
def test_weight_decay_on_the_parameters_the_layers_declare(kind):
    from layernet import Sequential
    from layernet.layers import Affine, BatchNorm, Conv2d, Flatten, ReLU, Residual

    model = Sequential([Conv2d(1, 2, 3, padding=1, rng=0), BatchNorm(2), ReLU(),
                        Residual(Conv2d(2, 2, 3, padding=1, rng=1), BatchNorm(2)), Flatten(), Affine(18, 3, rng=2)])
    declared = {"0.W", "3.0.W", "5.W"}  # weights yes; biases, gamma and beta no; Residual asks its layers
    assert model.decayed_names() == declared
    assert model.layers[3].decayed_names("3.") == ["3.0.W"]
    moved = _decay_moves(kind, model)
    assert {name for name, yes in moved.items() if yes} == declared, moved


def test_weight_decay_follows_the_declaration_not_the_name():
    from layernet import Sequential
    from layernet.layers import Layer

    class Scale(Layer):
        """out = x * kernel + W: a multiplicative "kernel" that is decayed, an offset named W that is not."""

        decayed = ("kernel",)

        def __init__(self):
            super().__init__()
            self.init_param("kernel", np.ones(3))
            self.init_param("W", np.ones(3))

    model = Sequential([Scale()])
    assert model.decayed_names() == {"0.kernel"}
    assert _decay_moves("sgd", model) == {"0.kernel": True, "0.W": False}


def test_weight_decay_needs_a_model_that_declares_it():
    class Bare:
        def parameters(self):
            yield "0.W", np.ones(2), np.ones(2)

    SGD(lr=0.1).step(Bare())  # no decay: nothing to declare
    with pytest.raises(TypeError, match=r"SGD.step: weight_decay=0.1 needs a model with decayed_names\(\).*found Bare"):
        SGD(lr=0.1, weight_decay=0.1).step(Bare())


@pytest.mark.parametrize("kind", ["sgd", "rmsprop", "adam"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_is_in_place_and_keeps_dtype(kind, dtype, rng):
    model = make_model(rng, dtype)
    before = {n: (id(p), p.copy()) for n, p in model.params.items()}
    opt = OPTIMIZERS.get(kind)(lr=0.1, **({"momentum": 0.9} if kind == "sgd" else {}))
    run(opt, model, grad_sequence(rng, 2, dtype))
    for n, p in model.params.items():
        assert id(p) == before[n][0]
        assert p.dtype == dtype
        assert not np.array_equal(p, before[n][1])
    assert all(a.dtype == dtype for a in opt.state_dict().values() if a.ndim)


@pytest.mark.parametrize("kind, kwargs", [("sgd", {"momentum": 0.9}), ("rmsprop", {}), ("adam", {})])
def test_strided_parameter_is_updated_like_a_contiguous_one(kind, kwargs, rng):
    """A parameter that is a strided view (not C-contiguous) is updated through a copy, written back."""
    grads = grad_sequence(rng, 3)
    contiguous = make_model(rng)
    strided = FakeModel({}, decayed=DECAYED)
    for n, p in contiguous.params.items():  # the same values, as Fortran-ordered arrays
        strided.params[n] = np.asfortranarray(p)
        strided.grads[n] = np.zeros_like(p)
    assert not strided.params["0.W"].flags.c_contiguous
    views = {n: p for n, p in strided.params.items()}
    run(OPTIMIZERS.get(kind)(lr=0.1, weight_decay=0.01, **kwargs), contiguous, grads)
    run(OPTIMIZERS.get(kind)(lr=0.1, weight_decay=0.01, **kwargs), strided, grads)
    for n in NAMES_SHAPES:
        assert strided.params[n] is views[n]
        np.testing.assert_allclose(strided.params[n], contiguous.params[n], rtol=1e-12)


def test_state_of_another_dtype_is_converted_and_kept(rng):
    """Float64 state loaded into a float32 model is converted once and then updated in place."""
    model = make_model(rng, np.float32)
    opt = SGD(lr=0.1, momentum=0.9)
    opt.load_state_dict({"t": np.array(1), "lr": np.array(0.1),
                         **{f"v/{n}": np.ones(s) for n, s in NAMES_SHAPES.items()}})
    run(opt, model, grad_sequence(rng, 2, np.float32))
    state = opt.state_dict()
    assert all(state[f"v/{n}"].dtype == np.float32 for n in NAMES_SHAPES)
    assert not np.allclose(state["v/0.W"], 0.9 * 0.9)  # the gradients moved it: the update was not lost


@pytest.mark.parametrize(
    "kind, kwargs",
    [("sgd", {"momentum": 0.9, "nesterov": True}), ("rmsprop", {}), ("adam", {}), ("sgd", {})],
)
def test_state_dict_round_trip_continues_bit_identically(kind, kwargs, rng, tmp_path):
    grads = grad_sequence(rng, 6, np.float32)
    start = make_model(rng, np.float32)
    straight = FakeModel(start.params)
    run(OPTIMIZERS.get(kind)(lr=0.01, weight_decay=0.01, **kwargs), straight, grads)

    resumed = FakeModel(start.params)
    first = OPTIMIZERS.get(kind)(lr=0.01, weight_decay=0.01, **kwargs)
    run(first, resumed, grads[:3])
    np.savez(tmp_path / "opt.npz", **first.state_dict())
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as saved:
        state = dict(saved)
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
    second = OPTIMIZERS.get(kind)(lr=0.5, weight_decay=0.01, **kwargs)   # lr comes back from the state
    second.load_state_dict(state)
    assert second.t == 3 and second.lr == 0.01
    run(second, resumed, grads[3:])
    for n in NAMES_SHAPES:
        np.testing.assert_array_equal(resumed.params[n], straight.params[n])


def test_state_dict_keys_and_copies(rng):
    model = make_model(rng)
    opt = Adam(lr=0.01)
    run(opt, model, grad_sequence(rng, 3))
    state = opt.state_dict()
    assert int(state["t"]) == 3
    assert set(state) == {"t", "lr"} | {f"{s}/{n}" for s in ("m", "v") for n in NAMES_SHAPES}
    state["m/0.W"][...] = 99.0
    assert not np.any(opt.state["m"]["0.W"] == 99.0)


def test_load_state_dict_rejects_foreign_state(rng):
    model = make_model(rng)
    adam = Adam(lr=0.01)
    run(adam, model, grad_sequence(rng, 1))
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: unexpected array 'm/0.W'"):
        SGD(lr=0.1, momentum=0.9).load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match=r"scalar array 't'"):
        Adam(lr=0.1).load_state_dict({"lr": np.array(0.1)})
    # state from a model with other shapes: named when the parameter is reached
    small = Adam(lr=0.01)
    small.load_state_dict({"t": np.array(1), "lr": np.array(0.01), "m/0.W": np.zeros(2), "v/0.W": np.zeros(2)})
    with pytest.raises(ValueError, match=r"state 'm/0.W' has shape \(2,\), the parameter has shape \(4, 3\)"):
        small.step(model)


def test_lr_is_settable_and_used(rng):
    model = FakeModel({"0.W": [1.0]})
    opt = SGD(lr=0.1)
    opt.lr = 0.5
    model.set_grads({"0.W": [1.0]})
    opt.step(model)
    np.testing.assert_allclose(model.params["0.W"], [0.5])
    opt.lr = 0.0          # a schedule may anneal to 0
    with pytest.raises(ValueError, match="Invalid value for argument `lr` of SGD"):
        opt.lr = -1.0


def test_missing_or_misshapen_gradient_is_named():
    class NoGrad:
        def parameters(self):
            yield "3.gamma", np.ones(2), None

    with pytest.raises(ValueError, match="'3.gamma' has no gradient"):
        SGD(lr=0.1).step(NoGrad())

    class Bad:
        def parameters(self):
            yield "0.W", np.ones((2, 2)), np.ones(2)

    with pytest.raises(ValueError, match=r"gradient of '0.W' has shape \(2,\)"):
        Adam(lr=0.1).step(Bad())


@pytest.mark.parametrize(
    "kind, kwargs, arg",
    [
        ("sgd", {"lr": 0}, "lr"),
        ("sgd", {"lr": -0.1}, "lr"),
        ("sgd", {"lr": "0.1"}, "lr"),
        ("sgd", {"lr": float("nan")}, "lr"),
        ("sgd", {"lr": 0.1, "momentum": 1.0}, "momentum"),
        ("sgd", {"lr": 0.1, "momentum": -0.1}, "momentum"),
        ("sgd", {"lr": 0.1, "nesterov": True}, "nesterov"),
        ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": "yes"}, "nesterov"),
        ("sgd", {"lr": 0.1, "weight_decay": -1e-4}, "weight_decay"),
        ("rmsprop", {"lr": 0.1, "decay": 1.0}, "decay"),
        ("rmsprop", {"lr": 0.1, "eps": 0}, "eps"),
        ("adam", {"lr": 0.1, "beta1": 1.0}, "beta1"),
        ("adam", {"lr": 0.1, "beta2": -0.5}, "beta2"),
        ("adam", {"lr": 0.1, "eps": -1e-8}, "eps"),
    ],
)
def test_hyperparameters_validated(kind, kwargs, arg):
    cls = OPTIMIZERS.get(kind)
    with pytest.raises(ValueError, match=rf"Invalid value for argument `{arg}` of {cls.__name__}: expected .* Received: {arg}="):
        cls(**kwargs)


def test_registry_and_config():
    assert {"sgd", "rmsprop", "adam"} <= set(OPTIMIZERS.names())
    with pytest.raises(ValueError, match="did you mean 'adam'"):
        OPTIMIZERS.get("adm")
    for opt in (SGD(0.1, momentum=0.9, nesterov=True), RMSProp(0.01, weight_decay=1e-4), Adam(1e-3, beta2=0.99)):
        config = opt.get_config()
        rebuilt = OPTIMIZERS.get(config.pop("type"))(**config)
        assert rebuilt.get_config() == opt.get_config()
        assert repr(opt).startswith(type(opt).__name__ + "(lr=")
    assert Adam(1e-3).get_config() == {
        "type": "adam", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0
    }


# ---------------------------------------------------------------------------- schedules
def lrs(schedule, epochs, metrics=None):
    out = [schedule.lr]
    for e in range(epochs - 1):
        out.append(schedule.step(metrics[e] if metrics else {}))
    return out


def make_schedule(name, base_lr=1.0, epochs=10, **options):
    return SCHEDULES.get(name)(base_lr=base_lr, epochs=epochs, **options)


def test_constant_step_exponential_by_hand():
    assert lrs(make_schedule("constant", 0.3), 4) == [0.3] * 4
    np.testing.assert_allclose(lrs(make_schedule("step", step_size=2, gamma=0.5), 6), [1, 1, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(lrs(make_schedule("exponential", 2.0, gamma=0.5), 4), [2, 1, 0.5, 0.25])


def test_cosine_without_and_with_warmup():
    got = lrs(make_schedule("cosine", 1.0, epochs=4, min_lr=0.0), 4)
    np.testing.assert_allclose(got, [1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2])
    got = lrs(make_schedule("cosine", 0.9, epochs=5, min_lr=0.1, warmup_epochs=2), 5)
    # warmup 0.9*1/3, 0.9*2/3; then cosine over 3 epochs from 0.9 down towards 0.1
    cosine = [0.1 + 0.8 * (1 + math.cos(math.pi * k / 3)) / 2 for k in range(3)]
    np.testing.assert_allclose(got, [0.3, 0.6] + cosine)
    assert all(b > a for a, b in zip(got[:3], got[1:3]))


def test_cosine_stretched_after_its_last_epoch_continues_below_where_it_was():
    sched = make_schedule("cosine", 1.0, epochs=20)
    trained = lrs(sched, 20)
    sched.step({})  # the end of epoch 20: the lr for an epoch 21 would be min_lr
    assert sched.lr == 0.0
    sched.stretch(25, anchor=19)
    tail = [sched.lr] + [sched.step({}) for _ in range(4)]
    assert 0 < tail[-1] and all(b < a for a, b in zip([trained[-1]] + tail, tail)), (trained[-1], tail)
    # the phase of epoch 19 (0.95) is kept; the rest of the cosine is spread over epochs 19..25
    np.testing.assert_allclose(tail, [(1 + math.cos(math.pi * (0.95 + 0.05 * k / 6))) / 2 for k in range(1, 6)])


def test_cosine_stretched_mid_run_bends_smoothly_and_warmup_is_kept():
    sched = make_schedule("cosine", 1.0, epochs=10, warmup_epochs=2)
    head = lrs(sched, 6)
    sched.step({})
    sched.stretch(20, anchor=5)
    tail = [sched.lr] + [sched.step({}) for _ in range(13)]
    assert head[2] == 1.0 and all(b < a for a, b in zip(head[2:] + tail, head[3:] + tail))
    shortened = make_schedule("cosine", 1.0, epochs=10, warmup_epochs=2)
    shortened.stretch(5, anchor=0)  # still in warmup: only the cosine's length changes
    assert lrs(shortened, 5) == lrs(make_schedule("cosine", 1.0, epochs=5, warmup_epochs=2), 5)
    with pytest.raises(ValueError, match="epochs"):
        shortened.stretch(2, anchor=1)


def test_reduce_on_plateau_patience_and_mode():
    # mode auto on val_loss -> min; patience 2: the lr drops after the 2nd epoch in a row without improvement
    sched = make_schedule("reduce_on_plateau", 1.0, monitor="val_loss", patience=2, factor=0.5, threshold=0.0)
    losses = [1.0, 0.9, 0.95, 0.9, 0.8, 0.8, 0.85, 0.85, 0.85]
    got = [sched.step({"val_loss": v}) for v in losses]
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125]
    # max mode on accuracy, min_lr floor, relative threshold
    sched = make_schedule("reduce_on_plateau", 1.0, monitor="val_acc", patience=1, factor=0.1, min_lr=0.05,
                          threshold=0.01)
    assert sched.maximize
    got = [sched.step({"val_acc": v}) for v in [0.5, 0.504, 0.6, 0.6, 0.6]]
    np.testing.assert_allclose(got, [1.0, 0.1, 0.1, 0.05, 0.05])


def test_reduce_on_plateau_cooldown_and_missing_metric():
    sched = make_schedule("reduce_on_plateau", 1.0, patience=1, factor=0.5, cooldown=2, threshold=0.0)
    got = [sched.step({"val_loss": 1.0}) for _ in range(6)]
    assert got == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    with pytest.raises(ValueError, match=r"monitors 'val_loss'.*found: train_loss"):
        sched.step({"train_loss": 1.0})


@pytest.mark.parametrize(
    "name, options",
    [("constant", {}), ("step", {"step_size": 2}), ("exponential", {"gamma": 0.9}),
     ("cosine", {"warmup_epochs": 2, "min_lr": 0.01}),
     ("reduce_on_plateau", {"patience": 1, "factor": 0.5, "cooldown": 1})],
)
def test_schedule_state_round_trip(name, options, tmp_path):
    metrics = [{"val_loss": v} for v in [1.0, 0.8, 0.9, 0.9, 0.7, 0.9, 0.9, 0.9, 0.9]]
    straight = lrs(make_schedule(name, 0.1, **options), 10, metrics)
    first = make_schedule(name, 0.1, **options)
    head = lrs(first, 4, metrics)
    np.savez(tmp_path / "s.npz", **first.state_dict())
    with np.load(tmp_path / "s.npz", allow_pickle=False) as saved:
        state = dict(saved)
    second = make_schedule(name, 0.1, **options)
    second.load_state_dict(state)
    assert second.lr == head[-1]
    tail = [second.step(m) for m in metrics[3:]]
    assert head + tail == straight
    with pytest.raises(ValueError, match=r"load_state_dict: missing array '(best|epoch)'"):
        second.load_state_dict({"lr": np.array(0.1)})


@pytest.mark.parametrize(
    "name, options, arg",
    [
        ("step", {"step_size": 0}, "step_size"),
        ("step", {"gamma": 0.0}, "gamma"),
        ("exponential", {"gamma": 1.5}, "gamma"),
        ("cosine", {"epochs": None}, "epochs"),
        ("cosine", {"warmup_epochs": 10}, "warmup_epochs"),
        ("cosine", {"min_lr": 2.0}, "min_lr"),
        ("reduce_on_plateau", {"mode": "up"}, "mode"),
        ("reduce_on_plateau", {"factor": 1.0}, "factor"),
        ("reduce_on_plateau", {"patience": -1}, "patience"),
        ("constant", {"base_lr": 0}, "base_lr"),
    ],
)
def test_schedule_options_validated(name, options, arg):
    kwargs = {"base_lr": 1.0, "epochs": 10, **options}
    with pytest.raises(ValueError, match=rf"Invalid value for argument `{arg}` of \w+: expected"):
        SCHEDULES.get(name)(**kwargs)


def test_schedule_registry_and_config():
    assert SCHEDULES.names() == ["constant", "cosine", "exponential", "onecycle", "reduce_on_plateau", "step"]
    with pytest.raises(ValueError, match="did you mean 'cosine'"):
        SCHEDULES.get("cosin")
    sched = make_schedule("step", 0.1, step_size=3, gamma=0.5)
    config = sched.get_config()
    assert config == {"type": "step", "step_size": 3, "gamma": 0.5}
    rebuilt = SCHEDULES.get(config.pop("type"))(base_lr=0.1, epochs=10, **config)
    assert lrs(rebuilt, 7) == lrs(make_schedule("step", 0.1, step_size=3, gamma=0.5), 7)
    assert repr(sched) == "StepDecay(base_lr=0.1, epochs=10, step_size=3, gamma=0.5)"
