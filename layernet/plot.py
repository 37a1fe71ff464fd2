"""``layernet.plot``: the plotting API under the name the docs use; see ``layernet.plotting``."""

from .plotting import *  # noqa: F401,F403
from .plotting import __all__  # noqa: F401
