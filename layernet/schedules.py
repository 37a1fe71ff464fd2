"""Learning-rate schedules, stepped once per epoch.

    schedule = SCHEDULES.get("step")(base_lr=1e-3, epochs=10, step_size=5, gamma=0.5)
    for epoch in range(epochs):
        optimizer.lr = schedule.lr            # the lr for this epoch (epoch 0 -> base_lr)
        ...train one epoch...
        schedule.step({"val_loss": 0.31, "val_acc": 0.92})   # returns the next epoch's lr

With ``e`` the 0-based epoch, ``E`` = ``epochs`` and ``W`` = ``warmup_epochs``:

| type | lr at epoch e |
|---|---|
| ``constant`` | ``base_lr`` |
| ``step`` | ``base_lr * gamma ** (e // step_size)`` |
| ``exponential`` | ``base_lr * gamma ** e`` |
| ``cosine`` | warmup ``e < W``: ``base_lr * (e + 1) / (W + 1)`` (linear, never 0); then |
|            | ``min_lr + (base_lr - min_lr) * (1 + cos(pi * (e - W) / (E - W))) / 2`` (SGDR without restarts) |
| ``reduce_on_plateau`` | ``lr * factor`` (not below ``min_lr``) once the monitored metric has not improved for ``patience`` epochs |

``reduce_on_plateau`` follows Keras' ``ReduceLROnPlateau``: an epoch is an improvement when the
metric beats the best so far by the *relative* ``threshold`` (PyTorch's default ``threshold_mode="rel"``:
``m < best * (1 - threshold)`` in mode min, ``m > best * (1 + threshold)`` in mode max); after
``patience`` epochs in a row without one, the lr is multiplied by ``factor`` and the count restarts;
``cooldown`` epochs after a reduction are not counted. ``mode="auto"`` means max for a monitor
ending in ``acc``, min otherwise. A NaN metric is never an improvement.

Extending or shortening a run (``--resume RUN trainer.epochs=25`` after 20 epochs): ``Trainer.restore``
calls ``schedule.stretch(epochs, anchor)`` with the new total and the last epoch already trained
(0-based). Schedules that do not depend on ``epochs`` (constant, step, exponential,
reduce_on_plateau) go on unchanged. The cosine continues from where it was: the phase of epoch
``anchor`` is kept and the rest of the half cosine, down to ``min_lr`` at epoch ``epochs``, is
spread over the new remaining epochs, ``phase(e) = p_a + (1 - p_a) * (e - a) / (E - a)`` for
``e >= a`` (``a`` the anchor, ``p_a`` its phase). So a finished 20-epoch cosine resumed to 25
trains epochs 21-25 at small, still decreasing lrs below epoch 20's, never at ``min_lr`` followed
by a jump; a run resumed mid-way bends smoothly into the longer (or shorter) tail. Warmup epochs
are never stretched.

``state_dict()`` is flat and numeric (``{"epoch", "lr", ...}``) for an .npz checkpoint.
``get_config()`` gives ``{"type", options...}`` without ``base_lr`` and ``epochs``, which come from
the optimizer and the trainer.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_fraction, check_int, check_positive, invalid_argument
from .registry import SCHEDULES


class Schedule:
    """Base class for schedules whose lr is a function of the epoch alone (``lr_at``)."""

    _options: tuple[str, ...] = ()  # constructor options, for get_config and repr
    _optional_state: tuple[str, ...] = ()  # state keys older checkpoints may lack (then the constructor's value)

    def __init__(self, base_lr: float, epochs: int | None = None):
        self._name = type(self).__name__
        self.base_lr = check_positive(self._name, "base_lr", base_lr)
        self.epochs = None if epochs is None else check_int(self._name, "epochs", epochs)
        self.epoch = 0

    def _start(self) -> None:
        """Called at the end of a subclass's ``__init__``, once its options are set."""
        self.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self, metrics: dict | None = None) -> float:
        """End of an epoch: advance and return the lr for the next epoch."""
        self.epoch += 1
        self.lr = self.lr_at(self.epoch)
        return self.lr

    def stretch(self, epochs: int, anchor: int) -> None:
        """The run now has ``epochs`` epochs in total; epoch ``anchor`` (0-based) is the last one
        trained at this schedule's lr. Here only ``epochs`` changes (the lr does not depend on it)."""
        self.epochs = check_int(self._name, "epochs", epochs)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"epoch": np.array(self.epoch, dtype=np.int64), "lr": np.array(self.lr, dtype=np.float64)}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``'s arrays; ValueError naming a missing or unexpected key."""
        expected = set(self.state_dict())
        for key in sorted(expected.symmetric_difference(state) - set(self._optional_state)):
            what = "missing" if key in expected else "unexpected"
            raise ValueError(
                f"{self._name}.load_state_dict: {what} array '{key}' "
                f"(expected {', '.join(sorted(expected))}); state from another schedule?"
            )
        self.epoch = int(state["epoch"])
        self.lr = float(state["lr"])
        self._load_extra(state)

    def _load_extra(self, state: dict) -> None:
        pass

    def get_config(self) -> dict:
        return {"type": self.type_name, **{key: getattr(self, key) for key in self._options}}

    def __repr__(self) -> str:
        args = [f"base_lr={self.base_lr!r}", f"epochs={self.epochs!r}"]
        args += [f"{key}={getattr(self, key)!r}" for key in self._options]
        return f"{self._name}({', '.join(args)})"


@SCHEDULES.register("constant")
class Constant(Schedule):
    """The same lr every epoch."""

    def __init__(self, base_lr: float, epochs: int | None = None):
        super().__init__(base_lr, epochs)
        self._start()

    def lr_at(self, epoch):
        return self.base_lr


@SCHEDULES.register("step")
class StepDecay(Schedule):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs (PyTorch's ``StepLR``)."""

    _options = ("step_size", "gamma")

    def __init__(self, base_lr: float, epochs: int | None = None, step_size: int = 10, gamma: float = 0.1):
        super().__init__(base_lr, epochs)
        self.step_size = check_int(self._name, "step_size", step_size)
        self.gamma = check_fraction(self._name, "gamma", gamma, closed_low=False, closed_high=True)
        self._start()

    def lr_at(self, epoch):
        return self.base_lr * self.gamma ** (epoch // self.step_size)


@SCHEDULES.register("exponential")
class ExponentialDecay(Schedule):
    """Multiply the lr by ``gamma`` every epoch (PyTorch's ``ExponentialLR``)."""

    _options = ("gamma",)

    def __init__(self, base_lr: float, epochs: int | None = None, gamma: float = 0.95):
        super().__init__(base_lr, epochs)
        self.gamma = check_fraction(self._name, "gamma", gamma, closed_low=False, closed_high=True)
        self._start()

    def lr_at(self, epoch):
        return self.base_lr * self.gamma**epoch


@SCHEDULES.register("cosine")
class CosineDecay(Schedule):
    """Linear warmup over ``warmup_epochs``, then half a cosine from ``base_lr`` towards ``min_lr``
    at epoch ``epochs`` (the last epoch, ``epochs - 1``, is one step short of ``min_lr``).

    The cosine's phase runs from 0 at epoch ``anchor`` (``warmup_epochs`` until a resume stretches
    the schedule, see the module docstring) to 1 at epoch ``epochs``; ``anchor``, its phase and
    ``epochs`` are part of the state, so a stretched run resumes bit for bit."""

    _options = ("min_lr", "warmup_epochs")
    _optional_state = ("epochs", "anchor", "anchor_phase")

    def __init__(self, base_lr: float, epochs: int | None = None, min_lr: float = 0.0, warmup_epochs: int = 0):
        super().__init__(base_lr, epochs)
        if self.epochs is None:
            raise invalid_argument(self._name, "epochs", "the total number of epochs (a positive int)", epochs)
        self.min_lr = check_positive(self._name, "min_lr", min_lr, allow_zero=True)
        if self.min_lr >= self.base_lr:
            raise invalid_argument(self._name, "min_lr", f"a number below base_lr={self.base_lr!r}", min_lr)
        self.warmup_epochs = check_int(self._name, "warmup_epochs", warmup_epochs, minimum=0)
        if self.warmup_epochs >= self.epochs:
            raise invalid_argument(
                self._name, "warmup_epochs", f"fewer than epochs={self.epochs} warmup epochs", warmup_epochs
            )
        self.anchor, self.anchor_phase = self.warmup_epochs, 0.0
        self._start()

    def phase(self, epoch: int) -> float:
        """How far along the half cosine epoch ``epoch`` is: 0 at ``anchor``, 1 (``min_lr``) at ``epochs``."""
        a, p = self.anchor, self.anchor_phase
        return min(1.0, p + (1.0 - p) * (epoch - a) / (self.epochs - a))

    def lr_at(self, epoch):
        warmup = self.warmup_epochs
        if epoch < warmup:
            return self.base_lr * (epoch + 1) / (warmup + 1)
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * self.phase(epoch))) / 2

    def stretch(self, epochs, anchor):
        """Keep the phase of epoch ``anchor`` and spread the rest of the cosine over ``epochs``."""
        epochs = check_int(self._name, "epochs", epochs)
        if epochs <= max(anchor, self.warmup_epochs):
            raise invalid_argument(self._name, "epochs", f"more than {max(anchor, self.warmup_epochs)} "
                                   "(the epochs already trained and the warmup)", epochs)
        if anchor >= self.warmup_epochs:
            self.anchor, self.anchor_phase = int(anchor), self.phase(anchor)
        self.epochs = epochs
        self.lr = self.lr_at(self.epoch)

    def state_dict(self):
        state = super().state_dict()
        state["epochs"] = np.array(self.epochs, dtype=np.int64)
        state["anchor"] = np.array(self.anchor, dtype=np.int64)
        state["anchor_phase"] = np.array(self.anchor_phase, dtype=np.float64)
        return state

    def _load_extra(self, state):
        if "epochs" in state:
            self.epochs = int(state["epochs"])
            self.anchor, self.anchor_phase = int(state["anchor"]), float(state["anchor_phase"])


@SCHEDULES.register("reduce_on_plateau")
class ReduceOnPlateau(Schedule):
    """Cut the lr by ``factor`` when ``monitor`` stops improving (see the module docstring)."""

    _options = ("monitor", "mode", "factor", "patience", "min_lr", "threshold", "cooldown")

    def __init__(self, base_lr: float, epochs: int | None = None, monitor: str = "val_loss", mode: str = "auto",
                 factor: float = 0.1, patience: int = 10, min_lr: float = 0.0, threshold: float = 1e-4,
                 cooldown: int = 0):
        super().__init__(base_lr, epochs)
        if not isinstance(monitor, str) or not monitor:
            raise invalid_argument(self._name, "monitor", "a metric name such as 'val_loss'", monitor)
        if mode not in ("auto", "min", "max"):
            raise invalid_argument(self._name, "mode", "one of 'auto', 'min', 'max'", mode)
        self.monitor, self.mode = monitor, mode
        self.factor = check_fraction(self._name, "factor", factor, closed_low=False)
        self.patience = check_int(self._name, "patience", patience, minimum=0)
        self.min_lr = check_positive(self._name, "min_lr", min_lr, allow_zero=True)
        self.threshold = check_positive(self._name, "threshold", threshold, allow_zero=True)
        self.cooldown = check_int(self._name, "cooldown", cooldown, minimum=0)
        self.maximize = mode == "max" or (mode == "auto" and monitor.endswith("acc"))
        self.best = -math.inf if self.maximize else math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.lr = self.base_lr

    def _improved(self, value: float) -> bool:
        if self.maximize:
            return value > self.best * (1 + self.threshold) if self.best >= 0 else value > self.best * (1 - self.threshold)
        return value < self.best * (1 - self.threshold) if self.best >= 0 else value < self.best * (1 + self.threshold)

    def step(self, metrics: dict | None = None) -> float:
        if not metrics or self.monitor not in metrics:
            have = ", ".join(sorted(metrics or {})) or "none"
            raise ValueError(
                f"reduce_on_plateau monitors '{self.monitor}', which this epoch's metrics do not have "
                f"(found: {have}); a val_ metric needs validation data (data.val_size > 0)"
            )
        value = float(metrics[self.monitor])
        self.epoch += 1
        in_cooldown = self.cooldown_counter > 0   # this epoch is not counted against patience
        if in_cooldown:
            self.cooldown_counter -= 1
        if self._improved(value):
            self.best = value
            self.num_bad_epochs = 0
        elif not in_cooldown:
            self.num_bad_epochs += 1
            if self.num_bad_epochs >= self.patience:
                self.lr = max(self.lr * self.factor, self.min_lr)
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0
        return self.lr

    def state_dict(self):
        state = super().state_dict()
        state["best"] = np.array(self.best, dtype=np.float64)
        state["num_bad_epochs"] = np.array(self.num_bad_epochs, dtype=np.int64)
        state["cooldown_counter"] = np.array(self.cooldown_counter, dtype=np.int64)
        return state

    def _load_extra(self, state):
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])


@SCHEDULES.register("onecycle")
class OneCycle(Schedule):
    """The one-cycle policy (Smith & Topin 2018), PyTorch's ``OneCycleLR(cycle_momentum=False)``.

    Updated every training step (``per_step``): with T = ``total_steps`` (epochs * batches per
    epoch, supplied by the trainer), s the 0-based step, lr0 = max_lr / div_factor and
    lr_min = lr0 / final_div_factor, the lr rises from lr0 to ``max_lr`` over the first
    ``pct_start`` of the run and falls to lr_min by the last step, both halves cosine::

        phase 1: s <= E1 = pct_start * T - 1:   lr = cos_anneal(lr0, max_lr, s / E1)
        phase 2: otherwise, E2 = T - 1:         lr = cos_anneal(max_lr, lr_min, (s - E1) / (E2 - E1))
        cos_anneal(a, b, p) = b + (a - b) * (1 + cos(pi * p)) / 2

    ``max_lr`` defaults to the optimizer's lr (``base_lr``); the optimizer's own lr is overridden
    from the first step on. The lr is a function of the step alone, so a resumed run continues the
    same curve. Between epochs ``lr`` holds lr0 (the per-epoch protocol is not used).
    """

    per_step = True
    _options = ("max_lr", "pct_start", "div_factor", "final_div_factor")

    def __init__(self, base_lr: float, epochs: int | None = None, max_lr: float | None = None, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4):
        super().__init__(base_lr, epochs)
        self.max_lr = self.base_lr if max_lr is None else check_positive(self._name, "max_lr", max_lr)
        self.pct_start = check_fraction(self._name, "pct_start", pct_start, closed_low=False)
        self.div_factor = check_positive(self._name, "div_factor", div_factor)
        self.final_div_factor = check_positive(self._name, "final_div_factor", final_div_factor)
        self._start()

    def lr_at(self, epoch):
        return self.max_lr / self.div_factor

    def lr_at_step(self, step: int, total_steps: int) -> float:
        """The lr of 0-based step ``step`` of a run of ``total_steps`` steps (PyTorch's formula)."""
        if not 0 <= step < total_steps:
            raise ValueError(f"OneCycle: step {step} is outside the run's {total_steps} steps "
                             "(the schedule was set up for fewer epochs or batches)")
        initial = self.max_lr / self.div_factor
        phases = ((float(self.pct_start * total_steps) - 1, initial, self.max_lr),
                  (float(total_steps - 1), self.max_lr, initial / self.final_div_factor))
        start_step = 0.0
        for index, (end_step, start_lr, end_lr) in enumerate(phases):
            if step <= end_step or index == len(phases) - 1:
                span = end_step - start_step
                pct = (step - start_step) / span if span != 0 else 1.0
                return end_lr + (start_lr - end_lr) / 2.0 * (math.cos(math.pi * pct) + 1)
            start_step = end_step
        raise AssertionError("unreachable")
