"""First-layer convolution filters as a grid of small images (cs231n's ``visualize_grid``).

Filters are ``W`` of shape (F, C, KH, KW) as in ``Conv2d``. Each filter is scaled on its own to
[0, 1] (``(w - min) / (max - min)``; a constant filter becomes 0.5), so the picture shows the
pattern a filter responds to, not its magnitude. C = 1 is drawn in grayscale, C = 3 as RGB.
"""

from __future__ import annotations

import numpy as np


def _filters_of(obj) -> np.ndarray:
    """``W`` of a Conv2d layer, of the first 4-D weight of a model, or the array itself."""
    if hasattr(obj, "layers"):  # a Sequential: its first convolution
        for layer in obj.layers:
            weight = getattr(layer, "params", {}).get("W")
            if weight is not None and np.ndim(weight) == 4:
                return np.asarray(weight)
        raise ValueError("plot_filters: the model has no layer with 4-D weights W (F, C, KH, KW)")
    if hasattr(obj, "params"):
        if "W" not in obj.params:
            raise ValueError(f"plot_filters: {obj!r} has no parameter W")
        return np.asarray(obj.params["W"])
    return np.asarray(obj)


def filter_grid(W, padding: int = 1, background: float = 1.0) -> np.ndarray:
    """Tile filters (F, C, KH, KW) into one image in [0, 1].

    Returns (rows*(KH+p)-p, cols*(KW+p)-p) for C = 1 or the same with a trailing axis of 3 for
    C = 3, with ``cols = ceil(sqrt(F))`` and ``p = padding`` cells of ``background`` between filters.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 4 or W.shape[1] not in (1, 3) or W.shape[0] == 0:
        raise ValueError(
            f"plot_filters: expected filters of shape (F, C, KH, KW) with C = 1 (grayscale) or 3 (RGB), found {W.shape}"
        )
    if not np.isfinite(W).all():
        raise ValueError("plot_filters: the filters contain NaN or infinite values")
    F, C, KH, KW = W.shape
    low = W.min(axis=(1, 2, 3), keepdims=True)
    span = W.max(axis=(1, 2, 3), keepdims=True) - low
    scaled = np.where(span > 0, (W - low) / np.where(span > 0, span, 1.0), 0.5)
    cols = int(np.ceil(np.sqrt(F)))
    rows = int(np.ceil(F / cols))
    grid = np.full((rows * (KH + padding) - padding, cols * (KW + padding) - padding, C), float(background))
    for f in range(F):
        r, c = divmod(f, cols)
        top, left = r * (KH + padding), c * (KW + padding)
        grid[top : top + KH, left : left + KW] = scaled[f].transpose(1, 2, 0)
    return grid[:, :, 0] if C == 1 else grid


def plot_filters(conv_layer_or_W, ax=None, padding: int = 1, title: str | None = None):
    """Draw the filters of a Conv2d layer (or a model's first convolution, or an array W).

    See ``filter_grid`` for the layout and scaling. Returns the Figure.
    """
    W = _filters_of(conv_layer_or_W)
    grid = filter_grid(W, padding=padding)
    if ax is None:
        import matplotlib.pyplot as plt

        cols = int(np.ceil(np.sqrt(W.shape[0])))
        size = min(8.0, max(4.0, 0.6 * cols))
        fig, ax = plt.subplots(figsize=(size, size * grid.shape[0] / grid.shape[1] + 0.4), layout="constrained")
    kwargs = {"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if grid.ndim == 2 else {}
    ax.imshow(grid, interpolation="nearest", **kwargs)
    ax.set_axis_off()
    F, C, KH, KW = W.shape
    ax.set_title(title or f"first-layer filters: {F} of {C}x{KH}x{KW}\n(each scaled to [0, 1])", fontsize="medium")
    return ax.figure
