"""``ConfigError`` and the wording shared by every config message.

A problem is ``(path, text)``: ``path`` a tuple such as ``("model", "layers", 2, "out_features")``
and ``text`` of the form "expected ..., found ...". A ``Problem`` is such a pair that also records
``derived_from``: the paths of other fields whose values it was computed from (the schedule's
``epochs`` is ``trainer.epochs``). When one of those fields has a problem of its own, the derived
one is only its echo and ``Locator.message`` drops it: each mistake is reported once, at its root.
``Locator`` turns the path into where the
value came from: ``run.yaml:14`` for a file (the line of the key, or of the nearest enclosing
key for a missing one), ``override 'trainer.epochs=-3'`` for a command-line override.
"""

from __future__ import annotations

from ..registry import did_you_mean


class ConfigError(ValueError):
    """A config (file, dict or override) is invalid; one message line per problem.

    ``problems`` holds the lines. The first line makes sense on its own: the CLI may print only
    it when space is short, but prints them all by default.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Problem(tuple):
    """``(path, text)`` (it unpacks as a pair) plus ``derived_from``, a tuple of source paths."""

    def __new__(cls, path, text: str, derived_from=()):
        problem = super().__new__(cls, (tuple(path), text))
        problem.derived_from = tuple(tuple(source) for source in derived_from)
        return problem


def drop_derived(problems) -> list:
    """The problems without those derived from a field that has a problem itself.

    Fields are compared as paths: a problem at ``trainer`` (not a mapping) or at
    ``trainer.epochs`` is a root cause for anything derived from ``trainer.epochs``.
    """

    def overlap(a, b) -> bool:
        cut = min(len(a), len(b))
        return tuple(a[:cut]) == tuple(b[:cut])

    problems = list(problems)
    failed = [tuple(path) for path, _ in problems]
    return [
        problem for problem in problems
        if not any(overlap(source, path) for source in getattr(problem, "derived_from", ())
                   for path in failed if path != tuple(problem[0]))
    ]


def format_path(path) -> str:
    """``("model", "layers", 2, "out_features")`` -> ``"model.layers[2].out_features"``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def describe(value, limit: int = 60) -> str:
    """A value as the user wrote it in YAML: ``null``, ``true``, ``'10' (a string)``, ``a list [...]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value) if len(value) <= limit else repr(value[:limit]) + "..."
        return f"{text} (a string)" if _looks_typed(value) else text
    if isinstance(value, dict):
        return "a mapping " + _short(value, limit)
    if isinstance(value, (list, tuple)):
        return "a list " + _short(list(value), limit)
    return _short(value, limit)


def _looks_typed(text: str) -> bool:
    """A string the user may have meant as a number or a boolean."""
    return text.strip().lower() in ("true", "false", "yes", "no", "null") or _is_number_text(text)


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short(value, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unknown_key(key, owner: str, choices) -> str:
    """The message for a key ``owner`` does not take, with the closest valid one."""
    choices = sorted(str(c) for c in choices)
    listed = ", ".join(choices) if choices else "nothing"
    return (
        f"expected a key of {owner}{did_you_mean(key, choices)}, found unknown key {str(key)!r}; "
        f"{owner} takes: {listed}"
    )


def unknown_name(kind: str, name, choices) -> str:
    """The message for a name missing from a registry: ``expected a layer type, found 'conv' (did you mean ...)``."""
    choices = sorted(choices)
    hint = did_you_mean(name, choices) if isinstance(name, str) else ""
    return f"expected {kind}, found {describe(name)}{hint}; known: {', '.join(choices)}"


class Locator:
    """Where each path of a config came from: a file's lines, or command-line overrides.

    ``source`` names the file (or ``<config>`` for a dict); ``lines`` maps path tuples to
    1-based lines; ``overrides`` maps a path to the override text that set it (it wins over the
    file for that path and everything below it).
    """

    def __init__(self, source: str, lines: dict | None = None):
        self.source = source
        self.lines = dict(lines or {})
        self.overrides: dict[tuple, str] = {}

    def where(self, path) -> str:
        path = tuple(path)
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.overrides:
                return f"override '{self.overrides[path[:cut]]}'"
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                return f"{self.source}:{self.lines[path[:cut]]}"
        return self.source

    def line(self, path) -> int:
        """The line used for sorting problems (overrides after the file's lines)."""
        where = self.where(path)
        if where.startswith("override"):
            return 10**9 + list(self.overrides.values()).index(where[len("override '"):-1])
        tail = where.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    def message(self, problems) -> list[str]:
        """``[(path, text), ...]`` -> sorted lines ``"run.yaml:14: model.layers[2]: expected ..."``.

        Problems derived from a field that failed itself are dropped (see ``drop_derived``).
        """
        ordered = sorted(drop_derived(problems), key=lambda p: self.line(p[0]))
        out = []
        for path, text in ordered:
            dotted = format_path(path)
            out.append(f"{self.where(path)}: {dotted}: {text}" if dotted else f"{self.where(path)}: {text}")
        # the same problem can be found twice (pydantic and a registry check); report it once
        return list(dict.fromkeys(out))
