"""Optuna search (TPE): a study that proposes each trial's values from the results of earlier trials.

Used by ``runner.run_sweep`` for ``search: {type: optuna, trials: N}``; needs the optional
``optuna`` package (``pip install 'layernet[optuna]'``). A random search draws every trial
blindly; TPE (the Tree-structured Parzen Estimator) models which values gave good and bad
metrics so far and proposes values from the good region. Optuna's TPE is used rather than one
written here: it would be a second optimiser library to maintain.

Distributions, one per dimension of the space (``space.py``)::

    {choice: [...]} or a list   CategoricalDistribution over the positions 0 .. n-1 of the choices
    {uniform: [low, high]}      FloatDistribution(low, high)
    {loguniform: [low, high]}   FloatDistribution(low, high, log=True)
    {int_uniform: [low, high]}  IntDistribution(low, high), both ends included

A choice is asked by position and handed out as ``choices[position]``, so any YAML value (a list,
a mapping) can be a choice; floats are handed out as Python ``float`` and integers as ``int``:
a trial's values have the types random search gives, and format the same in trials.csv and in
overrides.

Seeding: the sampler is ``TPESampler(seed=...)`` with a seed derived from the sweep's ``seed``
and the number of trials replayed into the study. The same sweep file, batch size and trial
results give the same trials; a resumed study (trials replayed) gets another seed, so it does
not propose its first trials' values again (TPE's first trials are random draws from its seed).

Results: an ``ok`` trial with a finite metric is told its metric; any other trial (failed,
lost, an invalid config, a NaN metric) is told ``FAIL``, which TPE leaves out of its model.
Optuna's INFO logging (a line per trial) is silenced while layernet uses it.
"""

from __future__ import annotations

import math

from . import table
from .space import Space


def _optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def to_distributions(space: Space) -> dict:
    """``{dotted key: optuna distribution}`` for every dimension, as in the module docstring."""
    distributions = _optuna().distributions
    out = {}
    for dim in space.dimensions:
        if dim.kind == "choice":
            out[dim.key] = distributions.CategoricalDistribution(list(range(len(dim.values))))
        elif dim.kind == "int_uniform":
            out[dim.key] = distributions.IntDistribution(*dim.values)
        else:
            out[dim.key] = distributions.FloatDistribution(*dim.values, log=dim.kind == "loguniform")
    return out


def to_values(space: Space, params: dict) -> dict:
    """Optuna's params -> the trial's ``{key: value}`` (a choice's value, a float, an int)."""
    values = {}
    for dim in space.dimensions:
        param = params[dim.key]
        if dim.kind == "choice":
            values[dim.key] = dim.values[param]
        else:
            values[dim.key] = int(param) if dim.kind == "int_uniform" else float(param)
    return values


def to_params(space: Space, values: dict) -> dict:
    """The inverse of ``to_values``; ValueError naming the key for a value outside the space."""
    params = {}
    for dim in space.dimensions:
        value = values[dim.key]
        if dim.kind == "choice":
            texts = [table.format_value(choice) for choice in dim.values]
            if table.format_value(value) not in texts:
                raise ValueError(f"space.{dim.key}: expected one of {', '.join(texts)}, found {table.format_value(value)}")
            params[dim.key] = texts.index(table.format_value(value))
        else:
            low, high = dim.values
            if not (isinstance(value, (int, float)) and low <= value <= high):
                raise ValueError(f"space.{dim.key}: expected a number in [{low}, {high}], found {value!r}")
            params[dim.key] = value
    return params


def metric_to_tell(row: dict, metric: str) -> float | None:
    """The metric an ``ok`` row tells the study, or None (told as FAIL) for anything else."""
    value = table.metric_of(row, metric)
    return value if row.get("status") == "ok" and math.isfinite(value) else None


def sampler_seed(seed: int, replayed: int) -> int:
    """The TPE sampler's seed: from the sweep's seed and the number of trials replayed into the study."""
    import numpy as np

    return int(np.random.SeedSequence([int(seed), int(replayed)]).generate_state(1)[0])


class OptunaSearch:
    """A study over ``space``: ``ask()`` proposes a trial's values, ``tell`` reports its row.

    ``mode``: ``max`` or ``min`` (the study's direction). ``finished``: ``[(values, row), ...]``,
    trials of an earlier run of the sweep (read back from trials.csv) replayed into the study
    before it asks anything.
    """

    def __init__(self, space: Space, seed: int, mode: str, metric: str, finished=()):
        optuna = _optuna()
        self.space, self.metric = space, metric
        self.distributions = to_distributions(space)
        finished = list(finished)
        sampler = optuna.samplers.TPESampler(seed=sampler_seed(seed, len(finished)))
        self.study = optuna.create_study(direction="maximize" if mode == "max" else "minimize", sampler=sampler)
        for values, row in finished:
            self._replay(values, row)

    def _replay(self, values: dict, row: dict) -> None:
        optuna = _optuna()
        value = metric_to_tell(row, self.metric)
        state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.FAIL
        self.study.add_trial(optuna.trial.create_trial(state=state, value=value, params=to_params(self.space, values),
                                                       distributions=self.distributions))

    def ask(self):
        """``(trial, values)``: an optuna trial to ``tell`` later, and the trial's ``{key: value}``."""
        trial = self.study.ask(self.distributions)
        return trial, to_values(self.space, trial.params)

    def tell(self, trial, row: dict) -> None:
        """Report a trial's finished row: its metric if it is ``ok`` and finite, else FAIL."""
        value = metric_to_tell(row, self.metric)
        if value is None:
            self.study.tell(trial, state=_optuna().trial.TrialState.FAIL)
        else:
            self.study.tell(trial, value)
