"""Legend labels for several runs: the config's ``name`` plus the settings that tell the runs apart.

Two runs of ``quickstart.yaml`` with ``optimizer.lr=0.01`` and ``optimizer.lr=0.001`` are labelled
``quickstart (lr=0.01)`` and ``quickstart (lr=0.001)``. Settings are compared as dotted paths of the
flattened configs (``model.layers.0.out_channels``); a path is shortened to its shortest suffix that
is still unambiguous. Paths that differ for every run without meaning anything (``output.*``,
``data.root``) are ignored. Runs that still share a label get their directory name appended.
"""

from __future__ import annotations

IGNORED_PREFIXES = ("name", "version", "output.", "data.root", "trainer.verbose")
MAX_SETTINGS = 3


def _flatten(obj, prefix: str = ""):
    """Yield ``(dotted_path, value)`` for every leaf of nested dicts and lists."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _flatten(value, f"{prefix}{key}.")
    elif isinstance(obj, (list, tuple)):
        for index, value in enumerate(obj):
            yield from _flatten(value, f"{prefix}{index}.")
    elif prefix:
        yield prefix[:-1], obj


def _format(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _short_names(paths: list[str]) -> dict[str, str]:
    """Each path's shortest dotted suffix that no other path shares, skipping bare list indices."""
    names = {}
    for path in paths:
        parts = path.split(".")
        for size in range(1, len(parts) + 1):
            suffix = ".".join(parts[-size:])
            clash = any(other != path and (other == suffix or other.endswith("." + suffix)) for other in paths)
            if not clash and not parts[-size].isdigit():
                names[path] = suffix
                break
        else:
            names[path] = path
    return names


def differing_settings(configs: list[dict]) -> list[str]:
    """Dotted config paths whose values are not the same in every config (in first-seen order)."""
    flat = [dict(_flatten(config)) for config in configs]
    paths = list(dict.fromkeys(path for config in flat for path in config))
    missing = object()
    return [
        path
        for path in paths
        if not path.startswith(IGNORED_PREFIXES)
        and len({repr(config.get(path, missing)) for config in flat}) > 1
    ]


def run_labels(histories) -> list[str]:
    """One legend label per ``RunCurves`` (see the module docstring)."""
    configs = [history.config for history in histories]
    paths = differing_settings(configs) if len(histories) > 1 else []
    short = _short_names(paths)
    labels = []
    for history, config in zip(histories, configs):
        flat = dict(_flatten(config))
        settings = [f"{short[p]}={_format(flat[p])}" for p in paths if p in flat][:MAX_SETTINGS]
        labels.append(history.name + (f" ({', '.join(settings)})" if settings else ""))
    shared = {label for label in labels if labels.count(label) > 1}
    for index, history in enumerate(histories):
        if labels[index] in shared:
            tag = history.source.name if history.source is not None else str(index + 1)
            labels[index] = f"{labels[index]} [{tag}]"
    return labels
