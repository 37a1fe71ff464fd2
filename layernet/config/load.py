"""``load_config`` and ``resolve``: YAML text or a dict -> a validated ``RunConfig``.

Order of work: parse the YAML (numbers as numbers, a line for every key), apply the overrides,
make ``data.path`` absolute and check that its file exists (``paths.py``), validate the shape with the pydantic schema and the names and arguments with the registries,
collect *every* problem, and raise one ``ConfigError`` listing them in file order. Only then are
the optimizer's and schedule's default arguments written in, so ``resolve`` returns a complete,
self-describing dict (the one saved as a run's ``config.yaml``).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from pydantic import ValidationError

from .checks import check_registered, fill_component_defaults
from .errors import ConfigError, Locator, describe, format_path, unknown_key
from .overrides import apply_overrides
from .paths import resolve_paths
from .schema import SECTIONS, RunConfig, section_name
from .yaml_lines import YamlProblem, load_with_lines

_TOP = "a mapping of sections (version, name, data, model, optimizer, trainer, ...)"

# pydantic error type -> what was expected, in words
_EXPECTED = {
    "int_type": "an int",
    "int_parsing": "an int",
    "int_from_float": "an int",
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def load_config(path, overrides=()) -> RunConfig:
    """Read, override and validate the YAML run config at ``path``.

    Raises ``ConfigError`` (a ValueError; one line per problem, each ``file:line: dotted.path:
    expected ..., found ...``) or ``OSError`` when the file cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "expected a YAML config file, found a directory", str(path))
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError([f"{path}: expected a UTF-8 YAML text file, found bytes that are not UTF-8 (at byte {err.start})"]) from None
    return validate_text(text, str(path), overrides, base_dir=path.absolute().parent)


def validate_text(text: str, source: str, overrides=(), base_dir=None) -> RunConfig:
    """Validate YAML ``text``; ``source`` names it in messages (a file name).

    ``base_dir`` is the directory relative paths in the text are read from (``data.path``; see
    ``paths.py``); None: the working directory.
    """
    try:
        raw, lines, duplicates = load_with_lines(text)
    except YamlProblem as err:
        where = f"{source}:{err.line}" if err.line else source
        raise ConfigError([f"{where}: expected YAML, found text that is not: {err}"]) from None
    if raw is None:
        raise ConfigError([f"{source}:1: expected {_TOP}, found an empty file"])
    locator = Locator(source, lines)
    early = [
        f"{source}:{line}: {format_path(path)}: expected each key once, found {path[-1]!r} again (first on line {first})"
        for path, line, first in duplicates
    ]
    return _validate(raw, locator, overrides, early, base_dir)


def resolve(config, overrides=()) -> dict:
    """The resolved config dict (every default filled in) of a path, a dict or a ``RunConfig``.

    A dict is validated like a file (messages name ``<config>`` instead of ``file:line``); it is
    not modified.
    """
    return to_run_config(config, overrides).model_dump()


def to_run_config(config, overrides=()) -> RunConfig:
    """A ``RunConfig`` from a path, a dict or a ``RunConfig`` (re-validated when overridden)."""
    if isinstance(config, (str, os.PathLike)):
        return load_config(config, overrides)
    if isinstance(config, RunConfig):
        if not overrides:
            return config
        locator = config._locator or Locator("<config>")
        return _validate(config.model_dump(), locator, overrides, [])
    if isinstance(config, dict):
        return _validate(copy.deepcopy(config), Locator("<config>"), overrides, [])
    raise ConfigError([f"<config>: expected {_TOP}, a path or a RunConfig, found {type(config).__name__}"])


def _validate(raw, locator: Locator, overrides, early: list[str], base_dir=None) -> RunConfig:
    if not isinstance(raw, dict):
        found = "a list" if isinstance(raw, list) else describe(raw)
        raise ConfigError([f"{locator.where(())}: expected {_TOP} at the top level, found {found}"])
    override_errors = apply_overrides(raw, overrides, locator)
    problems = resolve_paths(raw, locator, base_dir)
    try:
        RunConfig.model_validate(raw)
    except ValidationError as err:
        problems += [_translate(e) for e in err.errors()]
    problems += check_registered(raw)
    lines = early + locator.message(problems) + override_errors
    if lines:
        raise ConfigError(lines)
    fill_component_defaults(raw)
    config = RunConfig.model_validate(raw)
    config._locator = locator
    return config


def _translate(error: dict) -> tuple:
    """A pydantic error -> ``(path, "expected ..., found ...")``."""
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return loc, "expected a value, found nothing (this key is required)"
    if kind == "extra_forbidden":
        parent = loc[:-1]
        model = SECTIONS.get(parent)
        choices = list(model.model_fields) if model is not None else []
        return loc, unknown_key(loc[-1], section_name(parent), choices)
    found = describe(error.get("input"))
    if kind == "literal_error":
        choices = error["ctx"]["expected"]
        return loc, f"expected {'one of ' if ' or ' in choices else ''}{choices}, found {found}"
    if kind == "expected":  # our own validators word the expectation themselves
        return loc, f"expected {error['msg']}, found {found}"
    expected = _EXPECTED.get(kind)
    if expected is None:
        expected = error["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
    return loc, f"expected {expected}, found {found}"

