"""layernet's benchmark suite: ``python -m benchmarks [--quick] [--out results.json]``.

``layernet`` is imported first, before numpy loads: its ``configure_threads()`` (see
``layernet/_threads.py``) must see OpenBLAS load, so every ``python -m benchmarks...`` measures
the library as users get it.
"""

import layernet  # noqa: F401
