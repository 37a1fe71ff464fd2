"""File paths written in a config, made absolute: ``data.path`` (the ``npz`` data set's file).

Convention: a relative path written in a config *file* is read from that file's directory, so a
config and its data move together and the command works from any working directory
(``configs/mine.yaml`` with ``path: data/mine.npz`` reads ``configs/data/mine.npz``). A path given on
the command line (an override ``data.path=...``) is read from the working directory, as every
command-line path is; so is one in a config given as a dict (it has no file). ``~`` is expanded.

The resolved config holds the absolute path, so a run's saved ``config.yaml`` finds the same file
whatever directory ``eval`` or ``--resume`` is started from. A missing file is a config problem at
``data.path`` (its line, or its override), reported with every other problem of the config.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import describe

#: The keys holding file paths, and the data sets that read them.
PATH_KEYS = {("data", "path"): ("npz",)}


def resolve_paths(raw: dict, locator, base_dir) -> list[tuple]:
    """Make each path of ``raw`` absolute in place (see the module docstring); return the problems.

    ``base_dir`` is the config file's directory (None for a dict); ``locator`` tells whether the
    value came from an override. Values that are not strings are left to the schema.
    """
    problems = []
    for key, readers in PATH_KEYS.items():
        section = raw.get(key[0])
        if not isinstance(section, dict) or not isinstance(section.get(key[1]), str) or not section[key[1]].strip():
            continue
        if section.get("dataset") not in readers:  # check_data reports a path given to another data set
            continue
        written = section[key[1]]
        from_file = base_dir is not None and not locator.where(key).startswith("override")
        base = Path(base_dir) if from_file else Path.cwd()
        full = Path(os.path.normpath(base / Path(written).expanduser()))
        section[key[1]] = str(full)
        if full.is_file():
            continue
        rule = (f"a relative path in a config file is read from its directory, {base}" if from_file
                else f"a relative path on the command line is read from the working directory, {base}")
        found = "a directory" if full.is_dir() else "no such file"
        problems.append((key, f"expected an existing .npz file ({rule}), found {describe(written)}: {found} at {full}"))
    return problems
