"""Pictures of the autograd graph: Tensor.to_dot() and plot_graph."""

import numpy as np
import pytest

from layernet.autograd import Tensor
from layernet.autograd.graph import walk
from layernet.plot import plot_graph
from layernet.plot.graph import graph_layout


def _circuit():
    x, y, z = (Tensor(v, requires_grad=True, name=n) for v, n in ((-2.0, "x"), (5.0, "y"), (-4.0, "z")))
    q = x + y
    q.name = "q"
    f = q * z
    f.backward()
    return f


def test_to_dot_has_one_box_per_tensor_and_arrows_from_inputs():
    dot = _circuit().to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    assert dot.count("[label=") == 5 and dot.count("->") == 4
    assert "Sum(axis=0, keepdims=False)" in (Tensor(np.ones((2, 2)), requires_grad=True).sum(axis=0).sum()).to_dot()
    assert "{ x | shape () | data -2 | grad -4 }" in dot
    assert "q = Add" in dot and "Multiply" in dot
    boxes = {line.split()[0]: line for line in dot.splitlines() if "[label=" in line}
    q = next(k for k, v in boxes.items() if "q = Add" in v)
    x = next(k for k, v in boxes.items() if "{ x |" in v)
    assert f"{x} -> {q};" in dot


def test_walk_orders_inputs_first_and_handles_a_long_chain():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    tensors, edges = walk(y)
    assert tensors[0] is x and tensors[-1] is y and len(edges) == 5000
    assert all(i < j for i, j in edges)


def test_layout_puts_every_arrow_rightwards():
    a = Tensor(np.ones(3), requires_grad=True)
    b = a.exp()
    c = (a * b + b).sum()
    tensors, edges = walk(c)
    places = graph_layout(tensors, edges)
    assert all(places[i][0] < places[j][0] for i, j in edges)
    assert len(set(places)) == len(places)


def test_plot_graph_draws_and_saves(tmp_path):
    path = tmp_path / "graph.png"
    fig = plot_graph(_circuit(), path=path)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    assert len(texts) == 5 and "Multiply\nshape ()\ndata -12" in texts
    assert path.stat().st_size > 1000


def test_plot_graph_refuses_a_huge_graph():
    y = Tensor(1.0, requires_grad=True)
    for _ in range(300):
        y = y * 1.0
    with pytest.raises(ValueError, match="expected at most max_nodes=200 tensors, found 301"):
        plot_graph(y)
