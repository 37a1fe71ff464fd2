"""The benchmark suite's code paths on tiny sizes (``--quick --smoke``): no timing is asserted.

The numbers of a smoke run mean nothing; what is checked is that every section runs, with and
without PyTorch, and that the report and the JSON carry every row the README table needs.
"""

import json

import numpy as np

from benchmarks import numpy_ref, report
from benchmarks.__main__ import main
from benchmarks.layers import CASES
from conftest import require_torch


def test_smoke_without_torch(tmp_path, capsys):
    out = tmp_path / "results.json"
    results = main(["--quick", "--smoke", "--no-torch", "--out", str(out)])
    text = capsys.readouterr().out
    assert "PyTorch columns empty" in text
    saved = json.loads(out.read_text())
    assert saved["torch"] is None
    assert {r["case"] for r in saved["layers"]} == {name for name, *_ in CASES}
    assert all("ratio" not in r and r["layernet_ms"] > 0 for r in saved["layers"])
    assert [r["model"] for r in saved["steps"]] == ["mlp", "three_layer_convnet", "lenet_bn"]
    # the headline: fresh processes, layernet only here; the import-order row reports its threads
    assert [(r["lib"], r["case"], r["first"]) for r in saved["alone"]] == [
        ("layernet", "mlp", None), ("layernet", "lenet_bn", None), ("layernet", "lenet_bn", "numpy")]
    assert all(r["ms"] > 0 and r["threads"]["numba_threading_layer"] == "workqueue" for r in saved["alone"])
    assert saved["alone"][2]["threads"] == saved["alone"][1]["threads"]
    assert [r["case"] for r in saved["alone_layers"]] == ["conv3x3_32_64_16"]
    assert saved["trainer_epoch"]["ratio"] > 0
    assert [(r["model"], r["lib"]) for r in saved["epochs"]] == [("lenet_bn", "layernet")]
    assert saved["epochs"][0]["peak_rss_mb"] > 0
    assert saved["startup"]["cold_s"] > 0 and saved["startup"]["warm_s"] > 0
    rows = results["breakdown"]["lenet_bn"]  # smoke runs include the breakdown to exercise it
    assert rows[0]["layer"].startswith("0 Conv2d") and rows[-1]["layer"] == "SGD-momentum update"
    assert "Per-layer breakdown, LeNet-BN" in text


def test_smoke_with_torch(capsys):
    require_torch()
    results = main(["--quick", "--smoke", "--only", "layers", "steps", "breakdown"])
    assert all("ratio" in r for r in results["layers"])
    assert {(r["lib"], r["case"], r["first"]) for r in results["alone"]} >= {
        ("torch", "lenet_bn", None), ("layernet", "lenet_bn", "torch")}
    text = capsys.readouterr().out
    assert "| LeNet-BN | " in text and "| torch imported and used first, same process |" in text
    assert [row[0] for row in report.target_rows(results)][:5] == [
        "MLP train step", "LeNet-BN train step", "3x3 conv 32->64 at 16x16, fwd+bwd",
        "LeNet-BN step, numpy imported first / layernet first", "LeNet-BN step, torch in the same process / alone"]
    assert "Per-layer breakdown, CIFAR net" in text


def test_numpy_references_agree_with_layernet(rng):
    """The numpy column computes the same thing (so its timing is a fair baseline)."""
    from layernet.layers import Conv2d

    x = rng.standard_normal((2, 3, 6, 6))
    layer = Conv2d(3, 4, 3, padding=1, rng=0).astype(np.float64)
    out, cache = numpy_ref.conv_forward(x, layer.params["W"], layer.params["b"], 1)
    np.testing.assert_allclose(out, layer.forward(x, training=True), rtol=1e-10, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx, dw, _ = numpy_ref.conv_backward(dout, cache)
    np.testing.assert_allclose(dx, layer.backward(dout), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dw, layer.grads["W"], rtol=1e-10, atol=1e-12)
