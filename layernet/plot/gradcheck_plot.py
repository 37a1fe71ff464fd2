"""Gradient-check reports as a picture: one row per gradient, relative error on a log axis.

A report is what ``layernet.gradcheck`` returns, either flat ``{"x": 3e-10, "0.W": 2e-9, ...}`` or
nested per layer ``{"conv2d (0)": {"x": ..., "W": ..., "b": ...}, "model": {...}}``; both are drawn
(nested names become ``"layer: param"``). The background bands are gradcheck's thresholds: below
``GOOD`` = 1e-7 the gradient is right, between it and ``BAD`` = 1e-5 look closer, above is a bug.
An error of exactly 0 is drawn at ``FLOOR``; NaN or infinite errors at the right edge, in red.
"""

from __future__ import annotations

import math

import numpy as np

from ..gradcheck import BAD, GOOD, verdict

FLOOR = 1e-16
#: One colour per ``layernet.gradcheck.verdict``.
COLORS = {"ok": "#2ca02c", "check": "#ff7f0e", "FAIL": "#d62728"}


def flatten_report(report) -> list[tuple[str, float]]:
    """``[(name, error), ...]`` in the report's order; nested dicts give ``"layer: param"``."""
    if not isinstance(report, dict) or not report:
        raise ValueError("plot_gradcheck: expected a non-empty dict name -> relative error (or layer -> dict)")
    rows = []
    for name, value in report.items():
        if isinstance(value, dict):
            if not value:
                raise ValueError(f"plot_gradcheck: layer '{name}' has no errors")
            rows.extend((f"{name}: {param}", error) for param, error in flatten_report(value))
        else:
            try:
                rows.append((str(name), float(value)))
            except (TypeError, ValueError):
                raise ValueError(f"plot_gradcheck: error of '{name}' is not a number: {value!r}") from None
    return rows


def plot_gradcheck(report, ax=None, title: str | None = None):
    """Relative error per layer and parameter, log scale, with the 1e-7 / 1e-5 bands; returns the Figure."""
    rows = flatten_report(report)
    names = [name for name, _ in rows]
    errors = np.array([error for _, error in rows], dtype=np.float64)
    finite = errors[np.isfinite(errors)]
    right = max(1.0, 10 * finite.max()) if finite.size else 1.0
    left = min(FLOOR, finite[finite > 0].min() / 10) if (finite > 0).any() else FLOOR
    shown = np.where(np.isfinite(errors), np.maximum(errors, FLOOR), right)
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.0, 2.0 + 0.32 * len(rows)), layout="constrained")
    y = np.arange(len(rows))
    ax.axvspan(left, GOOD, color=COLORS["ok"], alpha=0.10, label=f"right (< {GOOD:g})")
    ax.axvspan(GOOD, BAD, color=COLORS["check"], alpha=0.15, label="look closer")
    ax.axvspan(BAD, right, color=COLORS["FAIL"], alpha=0.10, label=f"bug (> {BAD:g})")
    ax.hlines(y, left, shown, color="0.75", linewidth=1.0)
    ax.scatter(shown, y, c=[COLORS[verdict(e)] for e in errors], zorder=3, s=30)
    for row, (value, error) in enumerate(zip(shown, errors)):
        text = ("0" if error == 0 else f"{error:.1e}") if math.isfinite(error) else str(error)
        near_edge = value > right / 1e3  # no room on the right: write it on the left of the point
        ax.annotate(text, (value, row), xytext=(-6 if near_edge else 6, 0), textcoords="offset points",
                    ha="right" if near_edge else "left", va="center", fontsize="x-small")
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ax.set_yticks(y, names)
    ax.set_ylim(len(rows) - 0.5, -0.5)  # first entry at the top
    ax.set_xlabel("relative error (analytic vs. numerical gradient)")
    failed = sum(verdict(e) == "FAIL" for e in errors)
    worst = f"worst {np.nanmax(errors):.1e}" if finite.size == len(errors) else "non-finite errors"
    ax.set_title(title or f"gradient check: {len(rows)} gradients, {worst}, {failed} above {BAD:g}", fontsize="medium")
    from matplotlib.transforms import ScaledTranslation

    below_label = ax.transAxes + ScaledTranslation(0, -0.5, ax.figure.dpi_scale_trans)  # 0.5 inch under the axes
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below_label, ncols=3,
              fontsize="small", frameon=False)
    return ax.figure
