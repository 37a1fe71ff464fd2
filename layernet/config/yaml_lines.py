"""Reading YAML with numbers as numbers, and a map from every key to the line it is on.

Two departures from ``yaml.safe_load``:

- Numbers. PyYAML follows YAML 1.1, where a float needs a dot and a signed exponent, so ``1e-3``
  and ``3E5`` load as *strings*. ``NumberLoader`` adds the YAML 1.2 rule: ``1e-3``, ``1E-3``,
  ``-2e+5``, ``3e5`` and ``1.5e3`` are floats. Plain integers (``10``) stay ints; everything
  else resolves as in ``SafeLoader``.
- Lines. ``load_with_lines`` composes the node tree first and walks it, so every dotted path
  (``("model", "layers", 2, "out_features")``) maps to the 1-based line of its key (or, for a list
  item, of the item). Error messages use it to say ``run.yaml:14: model.layers[2].out_features``.
  Duplicate keys, which ``safe_load`` silently resolves to the last one, are reported.
"""

from __future__ import annotations

import re

import yaml

FLOAT_TAG = "tag:yaml.org,2002:float"

# YAML 1.1's float forms, plus an exponent without a dot and with an optional sign (YAML 1.2).
# The int resolver runs after this one, so the pattern must not match plain integers: a float
# needs a dot, an exponent, or is one of the special values.
_FLOAT = re.compile(
    r"""^(?:
        [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?     # 1.5  1.  1.5e-3
      | [-+]?(?:[0-9][0-9_]*)[eE][-+]?[0-9]+                    # 1e-3  3E5  -2e+5
      | [-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?                      # .5  .5e3
      | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*             # 1:30.5 (YAML 1.1 base 60)
      | [-+]?\.(?:inf|Inf|INF)
      | \.(?:nan|NaN|NAN)
    )$""",
    re.X,
)


class NumberLoader(yaml.SafeLoader):
    """``SafeLoader`` whose implicit float resolver also accepts ``1e-3``, ``1E-3`` and ``-2e+5``."""


def _install_float_resolver(loader_cls) -> None:
    # add_implicit_resolver copies the class dict but not its lists, so build fresh lists here
    # (otherwise yaml.SafeLoader itself would be changed), replacing the float resolver in place
    # so that it keeps its position before the int resolver.
    resolvers = {}
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items():
        resolvers[first] = [(tag, regexp) for tag, regexp in entries if tag != FLOAT_TAG]
    for first in "-+0123456789.":
        resolvers.setdefault(first, []).insert(0, (FLOAT_TAG, _FLOAT))
    loader_cls.yaml_implicit_resolvers = resolvers


_install_float_resolver(NumberLoader)


def load_yaml(text: str):
    """Parse one YAML document with ``NumberLoader`` (used for command-line override values)."""
    return yaml.load(text, Loader=NumberLoader)  # noqa: S506 - NumberLoader is a SafeLoader


class YamlProblem(ValueError):
    """The text is not YAML; ``line`` is 1-based (or None)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def load_with_lines(text: str):
    """Parse ``text``; return ``(data, lines, duplicates)``.

    ``data`` is the document (None for an empty one); ``lines`` maps path tuples to 1-based line
    numbers (``()`` -> the document's first line); ``duplicates`` is a list of ``(path, line,
    first_line)`` for keys that appear twice in one mapping. Raises ``YamlProblem`` for text
    that is not YAML (with the line of the problem).
    """
    loader = None
    try:
        loader = NumberLoader(text)  # the reader refuses control characters here, with their position
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1 if isinstance(err.position, int) else None
        raise YamlProblem(f"unacceptable character #x{err.character:04x}: control characters are not allowed in YAML", line) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(str(part) for part in (err.context, err.problem) if part)
        raise YamlProblem(problem or str(err).splitlines()[0], None if mark is None else mark.line + 1) from None
    except yaml.YAMLError as err:
        raise YamlProblem(str(err).splitlines()[0], None) from None
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[tuple, int] = {}
    duplicates: list[tuple] = []
    if node is not None:
        _walk(node, (), lines, duplicates)
    return data, lines, duplicates


def _walk(node, path: tuple, lines: dict, duplicates: list, depth: int = 0) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if depth > 100:  # aliases can build deep structures; configs never are
        return
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append((path + (key,), line, seen[key]))
                continue
            seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, duplicates, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _walk(item, path + (index,), lines, duplicates, depth + 1)
