"""layernet: a readable layer-based neural network toolkit.

``import layernet`` is light: heavy pieces (layers and their Numba kernels, the trainer, the
config machinery) load on first use through ``__getattr__``.
"""

from __future__ import annotations

from ._memory import keep_freed_memory
from ._threads import configure_threads

configure_threads()  # before any kernel or BLAS call: keep OpenBLAS and Numba from fighting over cores
keep_freed_memory()  # each training step reuses the pages the previous step freed

import importlib  # noqa: E402

__version__ = "0.1.0"

_LAZY = {
    "Sequential": "layernet.model",
    "Trainer": "layernet.trainer",
    "run": "layernet.runner",
}

__all__ = ["Sequential", "Trainer", "run", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'layernet' has no attribute {name!r}")
