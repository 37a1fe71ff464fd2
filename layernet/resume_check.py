"""Resume safety: which config keys ``run(config, resume=run_dir)`` may change (``RESUME_SAFE``).

``check_resume_config`` compares the resolved config of a resume with the run's own
``config.yaml`` and refuses (one-line ValueError) a change outside ``RESUME_SAFE``, naming the
key, both values and the override or file it came from. Used by ``layernet.runner``.
"""

from __future__ import annotations

from pathlib import Path

from .run_summary import display_path


#: Keys a resume may change: how long to train (``trainer.epochs``, which is also the schedule's
#: length, see ``Schedule.stretch``), what to print, where output goes and where the (checksummed)
#: data files are found. Anything else would make the resumed run another run than its checkpoint's.
RESUME_SAFE = (("trainer", "epochs"), ("trainer", "verbose"), ("output",), ("data", "root"), ("data", "download"))
_SAFE_TEXT = "trainer.epochs, trainer.verbose, output.*, data.root and data.download"


def _config_name(config) -> str:
    return str(config) if isinstance(config, (str, Path)) else "the given config"


def _differences(new, old, path=()):
    """Yield the paths (tuples of keys and list indices) where two resolved configs differ, in ``new``'s order."""
    if isinstance(new, dict) and isinstance(old, dict):
        for key in [*new, *(k for k in old if k not in new)]:
            yield from _differences(new.get(key, _MISSING), old.get(key, _MISSING), (*path, key))
    elif isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        for index, (a, b) in enumerate(zip(new, old)):
            yield from _differences(a, b, (*path, index))
    elif new != old:
        yield path


_MISSING = object()


def _get(node, path):
    for key in path:
        node = node.get(key, _MISSING) if isinstance(node, dict) else node[key]
    return node


def check_resume_config(cfg: dict, stored: dict, overrides, *, config_name: str, run_dir: Path) -> None:
    """Refuse to resume with a config (``config_name`` and ``overrides``, resolved into ``cfg``) that
    differs from the run's own (``stored``) in a key outside ``RESUME_SAFE``: a one-line ValueError
    naming the first such key, both values and where the change came from."""
    from .config.overrides import parse_override

    for path in _differences(cfg, stored):
        if any(path[:len(safe)] == safe for safe in RESUME_SAFE):
            continue
        dotted = "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path).lstrip(".")
        source = next((f"override {text!r}" for text in reversed(list(overrides))
                       if path[:len(key := tuple(int(p) if p.isdigit() else p for p in parse_override(text)[0]))]
                       == key), config_name)
        show = (lambda value: "(absent)" if value is _MISSING else repr(value))
        raise ValueError(
            f"--resume {display_path(run_dir)}: {source} changes {dotted} from {show(_get(stored, path))} to "
            f"{show(_get(cfg, path))}; only {_SAFE_TEXT} may change on resume (without CONFIG the run's own "
            "config.yaml is used)")
