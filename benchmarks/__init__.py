"""layernet's benchmark suite: ``python -m benchmarks [--quick] [--out results.json]``.

Importing this package applies layernet's thread defaults (``layernet/_threads.py``) before
numpy loads, so every ``python -m benchmarks...`` measures the library as users get it.
"""

from layernet._threads import configure_threads

configure_threads()
