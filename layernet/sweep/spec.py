"""The sweep file: its schema (pydantic v2, imported only here), loading and validation.

    version: 1
    base: quickstart.yaml              # a training config, relative to this file
    name: lr-wd                        # default: the sweep file's stem
    seed: 0                            # fixes the trials of a random search
    metric: {name: val_acc, mode: max} # val_acc | val_loss | train_acc | train_loss | test_acc | test_loss
    space:                             # dotted keys, as in command-line overrides
      optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}
      optimizer.weight_decay: {choice: [0.0, 1.0e-4]}
    search: {type: random, trials: 24} # grid (every combination) | random | optuna (TPE, optuna installed)
    executor: {type: local, workers: 2}  # or {type: dask, address: tcp://host:8786 | local}
    overrides: [trainer.epochs=3]      # applied to the base config in every trial
    output: {dir: "sweeps/{name}/{timestamp}", plots: true}

Defaults: ``name`` the file's stem, ``seed`` 0, ``metric`` ``val_acc``; ``mode`` ``auto`` means
``min`` for a ``*_loss`` metric and ``max`` otherwise; ``search`` random with 10 trials (grid
takes no ``trials``: it runs every combination; optuna, like random, runs ``trials`` trials,
chosen by the study as the sweep runs, see ``optuna_search.py``); ``executor`` local with 1 worker (``workers: 0``
runs the trials in this process, one after the other); dask ``workers`` is the number of worker
processes of ``address: local`` (default: one per core); ``connect_timeout`` (seconds, default
5) bounds the wait for a scheduler. A trial's metric is the best value over its epochs (the
history's column), or the summary's ``test_acc``/``test_loss`` for the test metrics.

Errors name ``file:line``, the dotted path and a "did you mean" (the wording of
``layernet.config``); every problem in the file is reported at once in one ``ConfigError``.
Command-line overrides for the sweep file itself are ``sweep.<path>=<value>``
(``sweep.search.trials=4``); any other override goes to the base training config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from ..config.errors import ConfigError, Locator, describe, unknown_key
from ..config.yaml_lines import YamlProblem, load_with_lines
from .space import Space, parse_dimension

METRICS = ("val_acc", "val_loss", "train_acc", "train_loss", "test_acc", "test_loss")
DEFAULT_TRIALS = 10


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class MetricSpec(_Section):
    name: Literal["val_acc", "val_loss", "train_acc", "train_loss", "test_acc", "test_loss"] = "val_acc"
    mode: Literal["auto", "max", "min"] = "auto"


class SearchSpec(_Section):
    type: Literal["grid", "random", "optuna"] = "random"
    trials: Optional[StrictInt] = Field(default=None, gt=0)


class ExecutorSpec(_Section):
    type: Literal["local", "dask"] = "local"
    workers: Optional[StrictInt] = Field(default=None, ge=0)
    address: Optional[StrictStr] = None
    connect_timeout: float = Field(default=5.0, gt=0)


class OutputSpec(_Section):
    dir: StrictStr = "sweeps/{name}/{timestamp}"
    plots: bool = True


class SweepSpec(_Section):
    """A validated sweep file; ``base`` is absolute after ``load_sweep``."""

    version: Literal[1] = 1
    base: StrictStr
    name: StrictStr
    seed: StrictInt = Field(default=0, ge=0)
    metric: MetricSpec = Field(default_factory=MetricSpec)
    space: dict[StrictStr, Any]
    search: SearchSpec = Field(default_factory=SearchSpec)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    overrides: list[StrictStr] = Field(default_factory=list)
    output: OutputSpec = Field(default_factory=OutputSpec)

    @property
    def mode(self) -> str:
        """``max`` or ``min``: the direction in which the metric improves."""
        if self.metric.mode != "auto":
            return self.metric.mode
        return "min" if self.metric.name.endswith("_loss") else "max"

    def build_space(self) -> Space:
        return Space.from_dict(self.space)

    def trial_values(self, start: int = 0) -> list[dict]:
        """The swept values of every trial (grid or seeded random); ``{}`` for each optuna trial
        (its values come from the study while the sweep runs)."""
        space = self.build_space()
        if self.search.type == "optuna":
            return [{} for _ in range(start, self.num_trials())]
        if self.search.type == "grid":
            return space.grid_trials()[start:]
        return space.random_trials(self.seed, self.num_trials(), start)

    def num_trials(self) -> int:
        if self.search.type == "grid":
            return self.build_space().grid_size()
        return self.search.trials or DEFAULT_TRIALS


_SECTIONS = {(): SweepSpec, ("metric",): MetricSpec, ("search",): SearchSpec,
             ("executor",): ExecutorSpec, ("output",): OutputSpec}


def _pydantic_problems(err: ValidationError) -> list[tuple]:
    problems = []
    for item in err.errors():
        path = tuple(item["loc"])
        if item["type"] == "extra_forbidden":
            owner = _SECTIONS.get(path[:-1])
            keys = owner.model_fields if owner else ()
            problems.append((path, unknown_key(path[-1], ".".join(map(str, path[:-1])) or "the sweep file", keys)))
        elif item["type"] == "missing":
            problems.append((path, "expected a value, found nothing (this key is required)"))
        else:
            message = item["msg"].replace("Input should be", "expected")
            problems.append((path, f"{message}, found {describe(item.get('input'))}"))
    return problems


def _semantic_problems(spec: SweepSpec) -> list[tuple]:
    """Checks pydantic cannot express: the space's entries, grid vs trials, executor fields."""
    problems = []
    for key, entry in spec.space.items():
        try:
            parse_dimension(key, entry)
        except ValueError as err:
            problems.append((("space", key), str(err)))
    if not spec.space:
        problems.append((("space",), "expected at least one dotted key to sweep, found none"))
    if spec.search.type == "grid" and not problems:
        try:
            size = spec.build_space().grid_size()
        except ValueError as err:
            key = str(err).split(":", 1)[0].removeprefix("space.")
            problems.append((("space", key), str(err).split(": ", 1)[1]))
        else:
            if spec.search.trials not in (None, size):
                problems.append((("search", "trials"), f"expected no trials for a grid search (it runs every "
                                 f"combination, {size} here), found {spec.search.trials}"))
    if spec.search.type == "optuna":
        import importlib.util

        if importlib.util.find_spec("optuna") is None:
            problems.append((("search", "type"), "expected the optuna package for an optuna (TPE) search, found it "
                             "not installed: pip install 'layernet[optuna]' (or optuna), or use random or grid"))
    executor = spec.executor
    if executor.type == "dask" and not executor.address:
        problems.append((("executor", "address"), "expected the scheduler's address (tcp://host:8786) "
                         "or 'local', found nothing"))
    if executor.type == "local" and executor.address is not None:
        problems.append((("executor", "address"), "expected no address for the local executor "
                         "(did you mean type: dask?)"))
    return problems


def _apply_sweep_override(data: dict, text: str, locator: Locator) -> None:
    """``sweep.search.trials=4`` -> ``data["search"]["trials"] = 4`` (``sweep.space.<dotted key>`` too)."""
    from ..config.overrides import OverrideError, parse_override

    try:
        parts, value = parse_override(text)
    except OverrideError as err:
        raise ConfigError([str(err)]) from None
    path = parts[1:]
    if not path:
        raise ConfigError([f"override {text!r}: expected sweep.<key>=<value>, e.g. sweep.search.trials=4"])
    if path[0] == "space" and len(path) > 1:  # a space key is dotted itself
        path = ["space", ".".join(path[1:])]
    node = data
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[path[-1]] = value
    locator.overrides[tuple(path)] = text


def load_sweep(path, overrides=()) -> tuple[SweepSpec, list[str], Locator]:
    """Read and validate the sweep file at ``path``.

    ``overrides``: command-line ``key=value`` strings; ``sweep.*`` ones change the sweep file,
    the others are returned (after the file's own ``overrides``) for the base config.
    Returns ``(spec, base_overrides, locator)``: ``spec.base`` is an absolute path, ``locator``
    names the file's lines for later messages. Raises ConfigError (every problem at once).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"{path}: sweep file not found"])
    try:
        data, lines, duplicates = load_with_lines(path.read_text(encoding="utf-8"))
    except YamlProblem as err:
        raise ConfigError([f"{path}:{err.line or 1}: not valid YAML: {err}"]) from None
    locator = Locator(str(path), lines)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: expected a mapping (version, base, space, ...), found {describe(data)}"])
    problems = [(p, f"duplicate key (first on line {first})") for p, _, first in duplicates]
    data.setdefault("name", path.stem)
    base_overrides = []
    for text in overrides:
        if text.startswith("sweep."):
            _apply_sweep_override(data, text, locator)
        else:
            base_overrides.append(text)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        problems += _pydantic_problems(err)
        raise ConfigError(locator.message(problems)) from None
    problems += _semantic_problems(spec)
    base = (path.parent / spec.base).resolve()
    if not base.is_file():
        problems.append((("base",), f"expected a training config file, found no file {base}"))
    if problems:
        raise ConfigError(locator.message(problems))
    spec = spec.model_copy(update={"base": str(base)})
    return spec, [*spec.overrides, *base_overrides], locator


def space_line(locator: Locator, key: str) -> str:
    """``sweep.yaml:12`` for the space entry ``key`` (used when a trial config is invalid)."""
    return locator.where(("space", key))
