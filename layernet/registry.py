"""Name -> class registries used by configs, ``from_config`` and the CLI.

One mechanism for every kind of named thing (layers, losses, optimizers, schedules, data sets):

    @LAYERS.register("relu")
    class ReLU(Layer): ...

    LAYERS.get("relu")      # -> ReLU; a typo raises ValueError with "did you mean ..."
"""

from __future__ import annotations

import difflib
import importlib


def did_you_mean(name: str, choices) -> str:
    """A ' (did you mean 'x'?)' suffix for the closest of ``choices``, or '' if none is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class Registry:
    """A named collection of classes or factories.

    ``kind`` words the error messages ("layer type", "loss"); ``module`` is imported on first
    lookup so that registration happens without importing everything at ``import layernet``.
    """

    def __init__(self, kind: str, module: str | None = None):
        self.kind = kind
        self.module = module
        self._entries: dict[str, object] = {}

    def register(self, name: str):
        """Class decorator: record ``cls`` under ``name`` and set ``cls.type_name = name``."""

        def decorator(obj):
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = obj
            try:
                obj.type_name = name
            except (AttributeError, TypeError):
                pass
            return obj

        return decorator

    def _load(self):
        if self.module is not None:
            importlib.import_module(self.module)

    def get(self, name: str):
        """Return the entry registered under ``name``; ValueError naming the choices otherwise."""
        self._load()
        if name not in self._entries:
            raise ValueError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._entries)}; "
                f"expected one of: {', '.join(sorted(self._entries))}"
            )
        return self._entries[name]

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def __contains__(self, name) -> bool:
        self._load()
        return name in self._entries


LAYERS = Registry("layer type", "layernet.layers")
LOSSES = Registry("loss", "layernet.losses")
OPTIMIZERS = Registry("optimizer", "layernet.optim")
SCHEDULES = Registry("lr schedule", "layernet.schedules")
DATASETS = Registry("dataset", "layernet.data")
