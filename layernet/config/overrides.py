"""Command-line overrides: ``trainer.epochs=3 optimizer.lr=3e-4 model.layers.0.out_channels=16``.

``KEY=VALUE``: ``KEY`` is a dotted path whose integer parts index lists (``model.layers.0``);
``VALUE`` is parsed as YAML with the config's number rules (``3e-4`` is a float, ``[3, 3]`` a
list, ``{type: relu}`` a mapping, ``null`` or nothing None). Overrides apply in order, so a later
one wins. A key must already exist, or be one the schema allows at that place (an optional
section key such as ``trainer.verbose``, a layer's optional argument, an optimizer's own key);
anything else is an error naming the override, with "did you mean".
"""

from __future__ import annotations

import difflib

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


# ------------------------------------------------------------------ "--epochs 3" -> "trainer.epochs=3"
def override_keys(raw) -> list[str]:
    """Every dotted key an override may set in the raw config mapping ``raw``, in override syntax.

    The keys written in the file, and those the schema allows where they are absent (a section's
    defaults such as ``trainer.epochs``, the optimizer's and schedule's own arguments, each layer's
    optional arguments): ``["version", "name", ..., "model.layers.0.out_channels", ...]``.
    """
    raw = raw if isinstance(raw, dict) else {}
    keys: list[tuple] = []

    def walk(node, path: tuple) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, path + (index,))
            return
        if not isinstance(node, dict):
            return
        names = [k for k in node if isinstance(k, str)]
        names += sorted((allowed_keys(path, raw) or set()) - set(names))
        for name in names:
            keys.append(path + (name,))
            if name in node:
                walk(node[name], path + (name,))
            elif path + (name,) in SECTIONS:
                walk({}, path + (name,))

    walk(raw, ())
    return [".".join(str(part) for part in key) for key in keys]


def suggest_override(option: str, value: str | None, raw) -> str | None:
    """The override a command-line option such as ``--epochs 3`` was meant to be, or None.

    ``option`` is the option without its dashes (``epochs``, ``batch-size``, ``trainer.epochs``);
    dashes count as underscores. It matches each config key (see ``override_keys``) whose last
    dotted parts are the option's parts, so ``--lr`` is ``optimizer.lr`` and ``--trainer.epochs``
    is ``trainer.epochs``; failing that, a near miss of a key's last part (``--epoch``) counts.
    One match -> ``"trainer.epochs=3"``; several -> ``"one of a=3, b=3"``;
    none -> None. ``value`` None (nothing followed the option) is shown as ``VALUE``.
    """
    parts = option.replace("-", "_").split(".")
    if not all(parts):
        return None
    keys = override_keys(raw)
    matches = [key for key in keys if key.split(".")[-len(parts):] == parts]
    if not matches and len(parts) == 1:  # a near miss of a key's last part: --epoch, --batchsize
        close = difflib.get_close_matches(parts[0], sorted({key.split(".")[-1] for key in keys}), n=1, cutoff=0.8)
        matches = [key for key in keys if close and key.split(".")[-1] == close[0]]
    shown = "VALUE" if value is None else value
    if not matches:
        return None
    if len(matches) == 1:
        return f"{matches[0]}={shown}"
    listed = ", ".join(f"{key}={shown}" for key in matches[:4]) + (", ..." if len(matches) > 4 else "")
    return f"one of {listed}"


def options_as_overrides(extras: list[str], raw) -> list[str]:
    """For unrecognised command-line words such as ``["--epochs", "3"]``: the overrides they were meant
    to be (``["trainer.epochs=3"]``); empty when none names a config key."""
    hints = []
    for index, word in enumerate(extras):
        if not word.startswith("-") or word.lstrip("-") == "" or _is_number(word):
            continue
        option, equals, value = word.lstrip("-").partition("=")
        if not equals:
            following = extras[index + 1] if index + 1 < len(extras) else None
            value = following if following is not None and (not following.startswith("-") or _is_number(following)) else None
        hint = suggest_override(option, value, raw)
        if hint is not None:
            hints.append(hint)
    return hints


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
