"""The results as markdown tables (printed, pasted into the README) and as JSON.

``markdown(results)`` renders the dict built by ``__main__``; ``write_json(results, path)``
writes it. Ratios are layernet time / PyTorch time (below 1: layernet is faster); for peak RSS
layernet's MiB / PyTorch's. The "targets" table checks the rows of issues 16 and 6.
"""

from __future__ import annotations

import json
from pathlib import Path

#: case -> (must reach, aim), as ratios (start-up rows: seconds). Step and 3x3 rows: the headline
#: method (each library alone in a fresh process); issue 16. The rows after them: issue 6.
TARGETS = {
    "MLP train step": (0.9, 0.75),
    "ThreeLayerConvNet train step": (1.0, 0.8),
    "LeNet-BN train step": (1.0, 0.8),
    "CIFAR net train step": (1.1, 0.8),
    "3x3 conv 32->64 at 16x16, fwd+bwd": (1.2, 0.8),
    "LeNet-BN step, numpy imported first / layernet first": (1.1, 1.02),
    "LeNet-BN step, torch in the same process / alone": (1.3, 1.1),
    "MNIST epoch of LeNet-BN (Trainer) / step x steps": (1.1, 1.03),
    "cold start to first step (s)": (15.0, 8.0),
    "max pool fwd+bwd": (1.0, 0.5),
    "batch norm fwd+bwd": (1.0, 0.5),
    "warm start to first step (s)": (2.0, 1.0),
    "peak RSS, MNIST LeNet-BN epoch (x torch)": (1.5, 1.0),
}
_MODEL_TITLES = {"mlp": "MLP", "three_layer_convnet": "ThreeLayerConvNet", "lenet_bn": "LeNet-BN",
                 "cifar_vgg": "CIFAR net"}
_FIRST = {"numpy": "numpy imported first", "torch": "torch imported and used first, same process"}


def _title(case: str) -> str:
    if case.startswith(("conv3x3_", "conv5x5_")):
        c, f, s = case.split("_")[1:]
        return f"{case[4:7]} conv {c}->{f} at {s}x{s}, fwd+bwd"
    if case.startswith("conv_first_"):
        k, s = case.split("_")[2:]
        return f"{k}x{k} first conv 1->32 at {s}x{s}, fwd+bwd without dx"
    return _MODEL_TITLES.get(case, case)


def _pairs(rows):
    """{(case, first): {lib: row}} of ``bench_alone`` rows."""
    by = {}
    for r in rows:
        by.setdefault((r["case"], r["first"]), {})[r["lib"]] = r
    return by


def _round_ratios(ln, th):
    """(min, max) of the per-round ratios layernet / torch (rounds paired in order)."""
    ratios = [a / b for a, b in zip(ln["round_ms"], th["round_ms"])]
    return min(ratios), max(ratios)


def alone_table(rows) -> str:
    """The headline: one row per case (first=None), layernet and torch alone."""
    body = []
    for (case, first), libs in _pairs(rows).items():
        if first is not None:
            continue
        ln, th = libs.get("layernet"), libs.get("torch")
        rng = _round_ratios(ln, th) if th else None
        best = th and min(ln["round_ms"]) / min(th["round_ms"])
        body.append([_title(case), _f(ln["ms"], "{:.1f}"), _f(th and th["ms"], "{:.1f}"),
                     _f(th and ln["ms"] / th["ms"]), f"{rng[0]:.2f}-{rng[1]:.2f}" if rng else "-", _f(best),
                     f"{min(ln['round_ms']):.1f}-{max(ln['round_ms']):.1f}",
                     f"{min(th['round_ms']):.1f}-{max(th['round_ms']):.1f}" if th else "-"])
    return _table(["each library alone (fresh process per round, batch 128)", "layernet ms", "torch ms", "ratio",
                   "per-round ratios", "best round / best round", "layernet per-round ms", "torch per-round ms"], body)


def import_order_table(rows) -> str:
    by = _pairs(rows)
    base = by.get(("lenet_bn", None), {}).get("layernet")
    body = []
    for (case, first), libs in by.items():
        ln = libs.get("layernet")
        if case != "lenet_bn" or ln is None:
            continue
        t = ln.get("threads") or {}
        blas = ", ".join(f"{b['threads']} threads, timeout {b['timeout']}" for b in t.get("blas", []))
        body.append([_FIRST.get(first, "layernet imported first"), _f(ln["ms"], "{:.1f}"),
                     _f(base and ln["ms"] / base["ms"]), f"{t.get('numba_threading_layer')}, {t.get('numba_threads')} threads",
                     blas or "-"])
    return _table(["LeNet-BN step, layernet", "ms", "x layernet first", "Numba layer", "OpenBLAS"], body)


def _f(value, fmt="{:.2f}"):
    return "-" if value is None else fmt.format(value)


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def layer_table(rows) -> str:
    body = []
    for r in rows:
        gf = [_f(r.get(f"{lib}_gflops"), "{:.0f}") for lib in ("layernet", "torch", "numpy")]
        body.append([r["case"], r["part"], _f(r["layernet_ms"]), _f(r.get("torch_ms")), _f(r.get("numpy_ms")),
                     " / ".join(gf) if r.get("layernet_gflops") else "-", _f(r.get("ratio"))])
    return _table(["layer (batch 128, float32)", "part", "layernet ms", "torch ms", "numpy ms",
                   "GFLOP/s ln / torch / np", "ratio"], body)


def step_table(rows) -> str:
    body = [[_MODEL_TITLES.get(r["model"], r["model"]), _f(r["layernet_ms"], "{:.1f}"), _f(r.get("torch_ms"), "{:.1f}"),
             _f(r["layernet_img_s"], "{:,.0f}"), _f(r.get("torch_img_s"), "{:,.0f}"), _f(r.get("ratio"))] for r in rows]
    return _table(["train step (batch 128)", "layernet ms", "torch ms", "layernet img/s", "torch img/s", "ratio"], body)


def epoch_table(rows) -> str:
    by = {}
    for r in rows:
        by.setdefault(r["model"], {})[r["lib"]] = r
    body = []
    for model, libs in by.items():
        ln, th = libs.get("layernet"), libs.get("torch")
        body.append([_MODEL_TITLES.get(model, model), f"{ln['images']:,}", _f(ln["seconds"], "{:.1f}"),
                     _f(th and th["seconds"], "{:.1f}"), _f(ln["img_s"], "{:,.0f}"), _f(th and th["img_s"], "{:,.0f}"),
                     _f(th and ln["seconds"] / th["seconds"]), _f(ln["peak_rss_mb"], "{:.0f}"),
                     _f(th and th["peak_rss_mb"], "{:.0f}"), _f(th and ln["peak_rss_mb"] / th["peak_rss_mb"])])
    return _table(["epoch (MNIST, batch 128)", "images", "layernet s", "torch s", "layernet img/s", "torch img/s",
                   "ratio", "layernet peak RSS MiB", "torch peak RSS MiB", "RSS ratio"], body)


def breakdown_table(model, rows) -> str:
    body = [[r["layer"], _f(r.get("layernet_fwd_ms")), _f(r.get("layernet_bwd_ms")), _f(r.get("layernet_fwd_bwd_ms")),
             _f(r.get("torch_fwd_ms")), _f(r.get("torch_bwd_ms")), _f(r.get("torch_fwd_bwd_ms")), _f(r.get("ratio"))]
            for r in rows]
    total = [sum(r.get(k, 0.0) or 0.0 for r in rows) for k in ("layernet_fwd_bwd_ms", "torch_fwd_bwd_ms")]
    body.append(["**sum**", "", "", _f(total[0]), "", "", _f(total[1]) if total[1] else "-",
                 _f(total[0] / total[1]) if total[1] else "-"])
    return f"Per-layer breakdown, {_MODEL_TITLES.get(model, model)} step (ms)\n\n" + _table(
        ["layer", "ln fwd", "ln bwd", "ln total", "torch fwd", "torch bwd", "torch total", "ratio"], body)


def target_rows(results) -> list:
    """(case, figure, must, aim, verdict) for every target row that was measured."""
    found = {}
    alone = _pairs(results.get("alone", []) + results.get("alone_layers", []))
    for (case, first), libs in alone.items():
        ln, th = libs.get("layernet"), libs.get("torch")
        if first is None and th is not None:
            title = _title(case)
            found[title if "conv" in title else f"{title} train step"] = ln["ms"] / th["ms"]
    base = alone.get(("lenet_bn", None), {}).get("layernet")
    for first, case in (("numpy", "LeNet-BN step, numpy imported first / layernet first"),
                        ("torch", "LeNet-BN step, torch in the same process / alone")):
        other = alone.get(("lenet_bn", first), {}).get("layernet")
        if base and other:
            found[case] = other["ms"] / base["ms"]
    if results.get("trainer_epoch"):
        found["MNIST epoch of LeNet-BN (Trainer) / step x steps"] = results["trainer_epoch"]["ratio"]
    for r in results.get("steps", []) if not alone else []:  # side by side only when nothing better
        if r.get("ratio") is not None:
            found[f"{_MODEL_TITLES[r['model']]} train step"] = r["ratio"]
    for r in results.get("layers", []):
        if r["part"] == "fwd+bwd" and r.get("ratio") is not None and r["case"] in ("max pool 2x2", "batch norm"):
            found[("max pool" if "pool" in r["case"] else "batch norm") + " fwd+bwd"] = r["ratio"]
    start = results.get("startup")
    if start:
        found["warm start to first step (s)"] = start["warm_s"]
        found["cold start to first step (s)"] = start["cold_s"]
    rss = {r["lib"]: r["peak_rss_mb"] for r in results.get("epochs", []) if r["model"] == "lenet_bn"}
    if len(rss) == 2:
        found["peak RSS, MNIST LeNet-BN epoch (x torch)"] = rss["layernet"] / rss["torch"]
    rows = []
    for case, (must, aim) in TARGETS.items():
        if case in found:
            v = found[case]
            verdict = "aim" if v <= aim else "must" if v <= must else "MISSED"
            rows.append((case, v, must, aim, verdict))
    return rows


def markdown(results) -> str:
    m = results["machine"]
    head = (f"{m['cpu']} ({m.get('simd', '')}), {m['cores']} cores; Python {m['python']}, numpy {m['numpy']}, "
            f"numba {m['numba']} ({m.get('numba_threading_layer')}), "
            f"torch {results.get('torch') or 'not installed (PyTorch columns empty)'}; "
            f"{results['threads']} threads; {results['mode']} run, {results.get('rounds')} rounds of fresh processes "
            f"per headline median, {results['repeats']} interleaved rounds per in-process median; "
            f"data: {results.get('data')}; environment {m.get('env')}; "
            f"load average (1, 5, 15 min) at the start {results.get('load_before')}, at the end {m.get('load_average')}")
    parts = [f"`{results['command']}`\n\n{head}"]
    if results.get("alone"):
        parts.append("**Headline** (each library alone in a fresh process, one at a time, rounds alternating):\n\n"
                     + alone_table(results["alone"] + results.get("alone_layers", [])))
        parts.append("Import order (the same layernet step after another library was imported first):\n\n"
                     + import_order_table(results["alone"]))
    if results.get("layers"):
        parts.append(layer_table(results["layers"]))
    if results.get("steps"):
        parts.append("Second opinion (both libraries' step processes alive side by side, blocks alternating):\n\n"
                     + step_table(results["steps"]))
    if results.get("epochs"):
        parts.append(epoch_table(results["epochs"]))
    if results.get("trainer_epoch"):
        t = results["trainer_epoch"]
        parts.append(_table(["LeNet-BN, layernet Trainer epoch", "images", "steps", "epoch s", "median step ms",
                             "epoch / (step x steps)"],
                            [[f"{t['data']}", f"{t['images']:,}", t["steps"], _f(t["epoch_s"], "{:.1f}"),
                              _f(t["step_ms"], "{:.1f}"), _f(t["ratio"])]]))
    if results.get("startup"):
        s = results["startup"]
        parts.append(_table([f"start-up (fresh process, {_MODEL_TITLES.get(s['model'], s['model'])} step)", "seconds"],
                            [["import layernet -> end of first step, warm cache", _f(s["warm_s"])],
                             ["  of which import", _f(s["warm_import_s"])],
                             ["import layernet -> end of first step, cold cache (compiles)", _f(s["cold_s"], "{:.1f}")]]))
    for model, rows in results.get("breakdown", {}).items():
        parts.append(breakdown_table(model, rows))
    targets = target_rows(results)
    if targets:
        parts.append(_table(["target (issues 16, 6)", "figure", "must reach", "aim", "holds"],
                            [(c, _f(v), f"<= {must:g}", f"<= {aim:g}", verdict) for c, v, must, aim, verdict in targets]))
    return "\n\n".join(parts)


def write_json(results, path) -> None:
    Path(path).write_text(json.dumps(results, indent=1) + "\n")
