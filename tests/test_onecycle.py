"""The onecycle schedule: PyTorch's OneCycleLR step by step, stepped every training step, lr in steps.csv."""

import math

import numpy as np
import pytest

from conftest import require_torch

from layernet import metrics
from layernet.layers import Affine
from layernet.losses import SoftmaxCrossEntropy
from layernet.model import Sequential
from layernet.optim import SGD
from layernet.registry import SCHEDULES
from layernet.schedules import OneCycle
from layernet.trainer import Trainer


def torch_onecycle_lrs(total_steps, max_lr, **kwargs):
    """The lr each of ``total_steps`` steps uses under torch's OneCycleLR(cycle_momentum=False)."""
    torch = require_torch()
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps, cycle_momentum=False,
                                                anneal_strategy="cos", **kwargs)
    lrs = []
    for _ in range(total_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("total, kwargs", [
    (100, {}),
    (37, {"pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0}),
    (7, {"pct_start": 0.5}),
    (3, {}),
])
def test_matches_torch_step_by_step(total, kwargs):
    expected = torch_onecycle_lrs(total, 0.4, **kwargs)
    schedule = OneCycle(base_lr=0.1, epochs=1, max_lr=0.4, **kwargs)
    ours = [schedule.lr_at_step(s, total) for s in range(total)]
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)


def test_max_lr_defaults_to_the_optimizer_lr_and_config():
    schedule = SCHEDULES.get("onecycle")(base_lr=0.2, epochs=3)
    assert schedule.max_lr == 0.2 and schedule.lr == 0.2 / 25
    assert schedule.get_config() == {"type": "onecycle", "max_lr": 0.2, "pct_start": 0.3, "div_factor": 25.0,
                                     "final_div_factor": 1e4}
    with pytest.raises(ValueError, match="`pct_start` of OneCycle"):
        OneCycle(base_lr=0.1, epochs=2, pct_start=1.5)
    with pytest.raises(ValueError, match="outside the run's 10 steps"):
        schedule.lr_at_step(10, 10)


def _trainer(tmp_path, schedule, epochs=3):
    model = Sequential([Affine(4, 3, rng=0)])
    return Trainer(model, SoftmaxCrossEntropy(), SGD(lr=0.1, momentum=0.9), schedule, batch_size=8, epochs=epochs,
                   verbose="quiet", history_dir=tmp_path, checkpoint_dir=tmp_path / "ckpt")


@pytest.fixture(autouse=True)
def _quiet(recwarn):
    """No validation data here: the trainer warns that it monitors train_acc."""


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 4)).astype(np.float32), rng.integers(0, 3, 30)


def test_trainer_steps_onecycle_every_step_and_logs_lr(tmp_path):
    x, y = _data()
    trainer = _trainer(tmp_path, OneCycle(base_lr=0.1, epochs=3, max_lr=0.5, pct_start=0.4))
    trainer.fit(x, y)
    rows = metrics.read_csv(tmp_path / "steps.csv")
    assert list(rows[0]) == ["step", "epoch", "loss", "lr"]
    assert len(rows) == 12  # 3 epochs of 4 batches
    np.testing.assert_allclose([r["lr"] for r in rows], torch_onecycle_lrs(12, 0.5, pct_start=0.4), rtol=1e-12)
    history = metrics.read_csv(tmp_path / "history.csv")
    assert [h["lr"] for h in history] == [rows[0]["lr"], rows[4]["lr"], rows[8]["lr"]]


def test_lr_column_for_epoch_schedules(tmp_path):
    x, y = _data()
    trainer = _trainer(tmp_path, SCHEDULES.get("step")(base_lr=0.1, epochs=3, step_size=1, gamma=0.5))
    trainer.fit(x, y)
    lrs = [r["lr"] for r in metrics.read_csv(tmp_path / "steps.csv")]
    assert lrs == [0.1] * 4 + [0.05] * 4 + [0.025] * 4


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_resume_continues_the_curve(tmp_path):
    x, y = _data()
    straight = _trainer(tmp_path / "a", OneCycle(base_lr=0.1, epochs=3, max_lr=0.5))
    straight.fit(x, y)
    first = _trainer(tmp_path / "b", OneCycle(base_lr=0.1, epochs=3, max_lr=0.5))
    step = first.optimizer.step

    def step_then_stop(model):  # as a Ctrl-C after step 6 (mid-epoch 2): checkpoint, KeyboardInterrupt
        step(model)
        first.stop_flag.requested = first.optimizer.t == 6

    first.optimizer.step = step_then_stop
    with pytest.raises(KeyboardInterrupt):
        first.fit(x, y)
    resumed = _trainer(tmp_path / "b", OneCycle(base_lr=0.1, epochs=3, max_lr=0.5))
    resumed.restore(tmp_path / "b" / "ckpt" / "last.npz")
    resumed.fit(x, y)
    a = metrics.read_csv(tmp_path / "a" / "steps.csv")
    b = metrics.read_csv(tmp_path / "b" / "steps.csv")
    assert [r["lr"] for r in a] == [r["lr"] for r in b]
    assert not any(math.isnan(r["lr"]) for r in b)
