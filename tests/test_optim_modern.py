"""AdamW, Adagrad, Adadelta against torch.optim (20 steps), by hand, and through a checkpoint."""

import math

import numpy as np
import pytest

from conftest import require_torch

from layernet.optim import Adadelta, Adagrad, AdamW
from layernet.registry import OPTIMIZERS
from test_optim import FakeModel, grad_sequence, make_model, run


def _torch_optimizer(torch, kind, kwargs, wd, weights, others):
    """torch's optimizer with decay on the weights only (param groups), our argument names translated."""
    tkw = dict(kwargs)
    if kind == "adamw":
        tkw["betas"] = (tkw.pop("beta1", 0.9), tkw.pop("beta2", 0.999))
    cls = {"adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad, "adadelta": torch.optim.Adadelta}[kind]
    return cls([{"params": weights, "weight_decay": wd}, {"params": others, "weight_decay": 0.0}], **tkw)


@pytest.mark.parametrize("kind, kwargs", [
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
    ("adagrad", {"lr": 0.05}),
    ("adagrad", {"lr": 0.1, "eps": 1e-6}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.5}),
    ("adadelta", {"lr": 1.0}),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5}),
])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_matches_torch_over_20_steps(kind, kwargs, wd, rng):
    torch = require_torch()
    ours = OPTIMIZERS.get(kind)(weight_decay=wd, **kwargs)
    model = make_model(rng)
    tparams = {n: torch.tensor(p.copy(), requires_grad=True) for n, p in model.params.items()}
    decayed = model.decayed_names()
    topt = _torch_optimizer(torch, kind, kwargs, wd, [t for n, t in tparams.items() if n in decayed],
                            [t for n, t in tparams.items() if n not in decayed])
    for grads in grad_sequence(rng, 20):
        model.set_grads(grads)
        ours.step(model)
        for n, t in tparams.items():
            t.grad = torch.tensor(grads[n])
        topt.step()
    for n, t in tparams.items():
        np.testing.assert_allclose(model.params[n], t.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def test_defaults_are_pytorchs():
    assert (AdamW().lr, AdamW().weight_decay, AdamW().beta1, AdamW().beta2, AdamW().eps) == (1e-3, 1e-2, 0.9, 0.999, 1e-8)
    assert (Adagrad().lr, Adagrad().eps, Adagrad().weight_decay) == (1e-2, 1e-10, 0.0)
    assert (Adagrad().lr_decay, Adagrad().initial_accumulator_value) == (0.0, 0.0)
    assert (Adadelta().lr, Adadelta().rho, Adadelta().eps, Adadelta().weight_decay) == (1.0, 0.9, 1e-6, 0.0)
    assert AdamW().get_config() == {"type": "adamw", "lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                    "weight_decay": 1e-2}


def test_adamw_decay_is_decoupled_and_skips_non_weights():
    # zero gradient: Adam's step is 0, only the decay moves the weight, and not the bias
    model = FakeModel({"0.W": [2.0], "0.b": [2.0], "1.gamma": [2.0]})
    AdamW(lr=0.1, weight_decay=0.5).step(model)
    np.testing.assert_allclose(model.params["0.W"], [2.0 * (1 - 0.05)])
    np.testing.assert_allclose(model.params["0.b"], [2.0])
    np.testing.assert_allclose(model.params["1.gamma"], [2.0])


def test_adagrad_and_adadelta_first_step_by_hand():
    model = FakeModel({"0.W": [1.0]})
    model.set_grads({"0.W": [2.0]})
    Adagrad(lr=0.1, eps=1e-10).step(model)          # s = 4; w -= 0.1 * 2 / 2
    np.testing.assert_allclose(model.params["0.W"], [0.9])
    model = FakeModel({"0.W": [1.0]})
    model.set_grads({"0.W": [2.0]})
    Adadelta(lr=1.0, rho=0.9, eps=1e-6).step(model)  # a = 0.4; d = sqrt(1e-6)/sqrt(0.4 + 1e-6) * 2
    np.testing.assert_allclose(model.params["0.W"], [1.0 - math.sqrt(1e-6) / math.sqrt(0.4 + 1e-6) * 2])


@pytest.mark.parametrize("kind", ["adamw", "adagrad", "adadelta"])
def test_state_dict_continues_bit_for_bit(kind, rng):
    grads = grad_sequence(rng, 6)
    start = make_model(rng)
    straight = run(OPTIMIZERS.get(kind)(lr=0.01), FakeModel(start.params), grads)
    first = OPTIMIZERS.get(kind)(lr=0.01)
    half = run(first, FakeModel(start.params), grads[:3])
    second = OPTIMIZERS.get(kind)(lr=0.01)
    second.load_state_dict(first.state_dict())
    run(second, half, grads[3:])
    for n in straight.params:
        np.testing.assert_array_equal(half.params[n], straight.params[n])


@pytest.mark.parametrize("kind", ["adamw", "adagrad", "adadelta"])
def test_float32_stays_float32_and_close(kind, rng):
    grads = grad_sequence(rng, 5)
    start = make_model(rng)
    wide = run(OPTIMIZERS.get(kind)(lr=0.01, weight_decay=0.01), FakeModel(start.params), grads)
    narrow = run(OPTIMIZERS.get(kind)(lr=0.01, weight_decay=0.01),
                 FakeModel({n: p.astype(np.float32) for n, p in start.params.items()}),
                 [{n: g.astype(np.float32) for n, g in step.items()} for step in grads])
    for n in wide.params:
        assert narrow.params[n].dtype == np.float32
        np.testing.assert_allclose(narrow.params[n], wide.params[n], atol=2e-5)


@pytest.mark.parametrize("build, message", [
    (lambda: Adadelta(rho=1.0), "`rho` of Adadelta"),
    (lambda: Adagrad(eps=0), "`eps` of Adagrad"),
    (lambda: AdamW(weight_decay=-1), "`weight_decay` of AdamW"),
])
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
