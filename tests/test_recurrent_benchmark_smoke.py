"""``python -m benchmarks.recurrent --smoke``: every code path (fresh processes, both libraries, the
epoch with copied weights, the report) on tiny sizes. No timing is asserted."""

import json

import pytest
from conftest import require_torch

from benchmarks.recurrent import main


def test_recurrent_benchmark_smoke(tmp_path, capsys):
    require_torch()
    out = tmp_path / "recurrent.json"
    results = main(["--smoke", "--rounds", "1", "--reps", "1", "--only", "lstm", "epoch", "--examples", "64",
                    "--out", str(out)])
    text = capsys.readouterr().out
    assert "| LSTM(3 -> 6), T=5, N=4, fwd+bwd |" in text and "| mnist_lstm epoch" in text
    assert "load average before" in text and "load average after" in text
    assert [row["case"] for row in results["rows"]] == ["lstm", "epoch"]
    assert all(row["ratio"] > 0 and row["torch_median_s"] > 0 for row in results["rows"])
    assert json.loads(out.read_text())["rows"][1]["case"] == "epoch"
