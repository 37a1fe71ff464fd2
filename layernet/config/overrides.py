"""Command-line overrides: ``trainer.epochs=3 optimizer.lr=3e-4 model.layers.0.out_channels=16``.

``KEY=VALUE``: ``KEY`` is a dotted path whose integer parts index lists (``model.layers.0``);
``VALUE`` is parsed as YAML with the config's number rules (``3e-4`` is a float, ``[3, 3]`` a
list, ``{type: relu}`` a mapping, ``null`` or nothing None). Overrides apply in order, so a later
one wins. A key must already exist, or be one the schema allows at that place (an optional
section key such as ``trainer.verbose``, a layer's optional argument, an optimizer's own key);
anything else is an error naming the override, with "did you mean".
"""

from __future__ import annotations

import yaml

from ..registry import did_you_mean
from .checks import open_section_keys
from .errors import describe, format_path, unknown_key
from .schema import SECTIONS, section_name
from .yaml_lines import load_yaml


class OverrideError(ValueError):
    """One override is malformed or names no key; the message is one line naming it."""


def parse_override(text: str) -> tuple[list[str], object]:
    """``"optimizer.lr=3e-4"`` -> ``(["optimizer", "lr"], 0.0003)``; OverrideError if malformed."""
    if not isinstance(text, str) or "=" not in text:
        raise OverrideError(f"override {text!r}: expected KEY=VALUE such as trainer.epochs=3, found no '='")
    key, _, value_text = text.partition("=")
    parts = key.strip().split(".")
    if not key.strip() or any(part.strip() == "" or part != part.strip() for part in parts):
        raise OverrideError(f"override {text!r}: expected a dotted key such as trainer.epochs before '=', found {key!r}")
    try:
        value = load_yaml(value_text)
    except yaml.YAMLError as err:
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise OverrideError(f"override {text!r}: expected a YAML value after '=', found {value_text!r} ({problem})") from None
    return parts, value


def allowed_keys(path: tuple, raw: dict) -> set[str] | None:
    """Keys the schema allows in the mapping at ``path`` (None: no fixed set is known)."""
    if path in SECTIONS and path not in (("optimizer",), ("lr_schedule",)):
        return set(SECTIONS[path].model_fields)
    return open_section_keys(path, raw)


def apply_override(raw: dict, text: str) -> tuple:
    """Apply one override to the raw config mapping in place; return the path it set."""
    parts, value = parse_override(text)
    node, path = raw, ()
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit():
                raise OverrideError(
                    f"override {text!r}: {format_path(path)} is a list: expected an index 0..{len(node) - 1}, found {part!r}"
                )
            key = int(part)
            if key >= len(node):
                raise OverrideError(
                    f"override {text!r}: {format_path(path)} has {len(node)} items: expected an index 0..{len(node) - 1}, found {key}"
                )
        elif isinstance(node, dict):
            key = part
            if key not in node:
                allowed = allowed_keys(path, raw)
                if allowed is None or key not in allowed:
                    if allowed is None:
                        hint = did_you_mean(key, [str(k) for k in node])
                        raise OverrideError(f"override {text!r}: {format_path(path + (key,))}: no such key{hint}")
                    raise OverrideError(
                        f"override {text!r}: {format_path(path + (key,))}: {unknown_key(key, section_name(path), allowed)}"
                    )
        else:
            raise OverrideError(
                f"override {text!r}: expected {format_path(path)} to be a mapping or a list, found {describe(node)}"
            )
        path += (key,)
        if last:
            node[key] = value
        else:
            if isinstance(node, dict) and node.get(key) is None and not _is_list_index(parts[depth + 1]):
                node[key] = {}  # e.g. trainer.early_stopping.patience=3 with early_stopping absent or null
            node = node[key]
    return path


def _is_list_index(part: str) -> bool:
    return part.isdigit()


def apply_overrides(raw: dict, overrides, locator=None) -> list[str]:
    """Apply every override in order; return the error lines of those that failed (others apply).

    With a ``Locator``, each applied override is recorded so later errors in its value name it.
    """
    errors = []
    for text in overrides:
        try:
            path = apply_override(raw, text)
        except OverrideError as err:
            errors.append(str(err))
            continue
        if locator is not None:
            locator.overrides[path] = text
    return errors
