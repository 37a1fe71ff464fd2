"""``keep_freed_memory``: after ``import layernet`` a freed large array's pages are reused by the
next allocation (no page faults), as a training step needs; a user's own glibc setting wins."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layernet._memory import USER_VARIABLES, _glibc_mallopt, keep_freed_memory

ROOT = Path(__file__).resolve().parent.parent

#: Allocates a 40 MB array (above glibc's largest adaptive mmap threshold, 32 MiB), frees it, and
#: prints the page faults of allocating and filling the same size again.
FAULTS = """
import resource
{preamble}
import numpy as np
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(10 << 20, np.float32)
del a
before = faults()
a = np.ones(10 << 20, np.float32)
print(faults() - before)
"""

needs_glibc = pytest.mark.skipif(_glibc_mallopt() is None, reason="glibc's mallopt only (layernet leaves other C libraries alone)")


def refill_faults(preamble: str, **env) -> int:
    environ = {k: v for k, v in os.environ.items() if k not in USER_VARIABLES}
    proc = subprocess.run([sys.executable, "-c", FAULTS.format(preamble=preamble)], cwd=ROOT,
                          env={**environ, **env}, capture_output=True, text=True, check=True)
    return int(proc.stdout)


@needs_glibc
def test_import_layernet_reuses_freed_pages():
    kept = refill_faults("import layernet")
    default = refill_faults("")
    assert kept <= 10, f"{kept} page faults refilling a freed 40 MB array after import layernet"
    assert default > kept, "glibc's defaults should map the array afresh (the test would prove nothing)"


@needs_glibc
def test_a_users_glibc_setting_wins():
    assert keep_freed_memory({"MALLOC_TRIM_THRESHOLD_": "131072"}) is False
    assert refill_faults("import layernet", MALLOC_MMAP_THRESHOLD_="131072") > 10


@needs_glibc
def test_reports_that_it_set_the_thresholds():
    assert keep_freed_memory({}) is True


def test_other_c_libraries_are_left_alone(monkeypatch):
    import layernet._memory as memory

    monkeypatch.setattr(memory, "_glibc_mallopt", lambda: None)
    assert keep_freed_memory({}) is False
