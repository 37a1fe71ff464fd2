"""The autograd benchmark's code paths on tiny sizes (no timing is asserted)."""

from conftest import require_torch

from benchmarks.autograd import main, scalar_graph
from layernet.autograd import Tensor


def test_scalar_graph_has_the_stated_number_of_nodes():
    leaves = [Tensor(0.1 * i, requires_grad=True) for i in range(1, 9)]
    out = scalar_graph(leaves, 600)
    tensors = {id(t) for t in leaves}
    stack, nodes = [out], 0
    while stack:
        t = stack.pop()
        if t._node is not None and id(t) not in tensors:
            tensors.add(id(t))
            nodes += 1
            stack.extend(p for p in t._node.parents if p is not None)
    assert nodes == 600


def test_smoke_run_prints_both_ratio_rows(capsys):
    require_torch()
    rows = main(["--smoke", "--rounds", "1"])
    assert [r["ratio"] > 0 for r in rows] == [True, True]
    text = capsys.readouterr().out
    assert "MLP training step" in text and "PyTorch autograd" in text and "load average" in text
