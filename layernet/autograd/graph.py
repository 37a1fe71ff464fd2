"""The recorded graph as data for pictures: the tensors, the edges, a label per tensor, DOT text.

One box per tensor, as micrograd's ``draw_dot``: its name (or, without one, the op that made
it, or "input"), its shape, and for a size-1 tensor its value and gradient. Arrows run from
inputs to outputs. ``layernet.plot.plot_graph`` draws the same boxes with matplotlib.
"""

from __future__ import annotations

from .tensor import Tensor


def walk(root: Tensor):
    """``(tensors, edges)``: every tensor ``root`` was computed from (inputs first, root last) and
    ``(i, j)`` index pairs meaning tensors[i] was an input of tensors[j]. Inputs that do not
    require a gradient (constants) are not part of the recorded graph and are not listed.
    Iterative, so a long chain is fine."""
    order, index, seen, stack = [], {}, set(), [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:  # every input of t is in order already
            index[t] = len(order)
            order.append(t)
        elif t not in seen:
            seen.add(t)
            stack.append((t, True))
            stack.extend((p, False) for p in _inputs(t) if p not in seen)
    edges = [(index[p], index[t]) for t in order for p in _inputs(t)]
    return order, edges


def _inputs(t: Tensor):
    node = t._node
    return [] if node is None else [p for p in node.parents if p is not None]


def label(t: Tensor) -> list[str]:
    """The lines of a tensor's box: name or op, shape, and value/grad for a size-1 tensor."""
    node = t._node
    title = t.name or (node.label if node is not None else "input")
    if t.name and node is not None:
        title = f"{t.name} = {node.label}"
    lines = [title, f"shape {tuple(t.data.shape)}"]
    if t.data.size == 1:
        lines.append(f"data {t.data.item():.4g}")
        if t.grad is not None:
            lines.append(f"grad {t.grad.item():.4g}")
    return lines


def to_dot(root: Tensor) -> str:
    """Graphviz DOT text of the graph that produced ``root`` (left to right, inputs first)."""
    tensors, edges = walk(root)
    out = ["digraph autograd {", "  rankdir=LR;", '  node [shape=record, fontname="Helvetica"];']
    for i, t in enumerate(tensors):
        text = " | ".join(_escape(line) for line in label(t))
        out.append(f'  t{i} [label="{{ {text} }}"];')
    out.extend(f"  t{i} -> t{j};" for i, j in edges)
    out.append("}")
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    for ch in '\\"{}|<>':
        text = text.replace(ch, "\\" + ch)
    return text
