"""The graph that produced an autograd Tensor, drawn with matplotlib alone (no Graphviz needed).

One box per tensor, as micrograd's ``draw_dot``: its name (or the op that made it, or "input"),
its shape and, for a size-1 tensor, its value and gradient (``layernet.autograd.graph.label``).
Arrows run from inputs to outputs, left to right: a tensor's column is the length of the
longest path from an input to it, so every arrow points rightwards. ``Tensor.to_dot()`` gives
the same graph as Graphviz DOT text.
"""

from __future__ import annotations

from .files import save_figure

#: Box colours: inputs (leaves), tensors made by an op, and the tensor the graph is drawn for.
COLORS = {"input": "#dbe9f6", "op": "#f2f2f2", "root": "#fde2c8"}


def graph_layout(tensors, edges) -> list[tuple[int, int]]:
    """``(column, row)`` per tensor: column = longest path from an input, rows fill each column."""
    column = [0] * len(tensors)
    for i, j in sorted(edges, key=lambda e: e[1]):  # tensors come inputs-first, so j's inputs are final
        column[j] = max(column[j], column[i] + 1)
    rows, filled = [], {}
    for c in column:
        rows.append(filled.get(c, 0))
        filled[c] = rows[-1] + 1
    return list(zip(column, rows))


def plot_graph(t, path=None, ax=None, max_nodes: int = 200):
    """Draw the graph that produced Tensor ``t``; returns the Figure (saved to ``path`` if given).

    Graphs of more than ``max_nodes`` tensors raise a ValueError (a picture of them is unreadable;
    ``t.to_dot()`` has no limit).
    """
    from ..autograd.graph import label, walk

    tensors, edges = walk(t)
    if len(tensors) > max_nodes:
        raise ValueError(f"plot_graph: expected at most max_nodes={max_nodes} tensors, found {len(tensors)}")
    places = graph_layout(tensors, edges)
    columns = max(c for c, _ in places) + 1
    height = max(r for _, r in places) + 1
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(2.2 * columns + 0.6, 1.1 * height + 0.6), layout="constrained")
    fig = ax.figure
    xy = [(2.2 * c, -1.1 * (r - (sum(1 for cc, _ in places if cc == c) - 1) / 2)) for c, r in places]
    for k, (tensor, (x, y)) in enumerate(zip(tensors, xy)):
        kind = "root" if tensor is t else ("input" if tensor.is_leaf else "op")
        ax.text(x, y, "\n".join(label(tensor)), ha="center", va="center", fontsize=8, zorder=3,
                bbox={"boxstyle": "round,pad=0.35", "facecolor": COLORS[kind], "edgecolor": "#555555"})
    for i, j in edges:
        ax.annotate("", xy=xy[j], xytext=xy[i], zorder=1,
                    arrowprops={"arrowstyle": "-|>", "color": "#777777", "shrinkA": 24, "shrinkB": 30})
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    ax.set_xlim(min(xs) - 1.1, max(xs) + 1.1)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_axis_off()
    if path is not None:
        save_figure(fig, path, close=False)
    return fig
