"""``python -m benchmarks.modern`` on tiny sizes: every row is produced; no timing is asserted."""

import pytest

from conftest import require_torch

from benchmarks.modern import CASES, main


@pytest.mark.parametrize("no_torch", [True, False], ids=["layernet-only", "with-torch"])
def test_smoke(capsys, no_torch):
    if not no_torch:
        require_torch()
    result = main(["--smoke", "--rounds", "1", "--reps", "1"] + (["--no-torch"] if no_torch else []))
    text = capsys.readouterr().out
    assert [row["case"] for row in result["rows"]] == list(CASES)
    assert all(row["layernet_ms"] > 0 for row in result["rows"])
    assert all(("ratio" in row) == (not no_torch and row["case"] != "augment") for row in result["rows"])
    assert "load average before" in text and "augment / block step" in text
