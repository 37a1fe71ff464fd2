"""Random expression graphs against torch.autograd (float64): values and every leaf's gradient.

Each graph starts from leaves of shapes that broadcast together ((3, 4), (4,), (1, 4), (3, 1), ())
and a (4, 4) matrix, then adds up to 20 operations whose operands are drawn from everything built
so far, so tensors are used several times, branches join again (diamonds) and shapes broadcast.
"""

import numpy as np
import pytest
from conftest import require_torch

from layernet import autograd
from layernet.autograd import Tensor
from layernet.gradcheck import rel_error

torch = require_torch()

TOL = 1e-10
SHAPES = [(3, 4), (4,), (1, 4), (3, 1), ()]


def _fix(t):
    """Broadcast a value to (3, 4) (every value here broadcasts to it) for ops that need that shape."""
    return t + (np.zeros((3, 4)) if isinstance(t, Tensor) else torch.zeros(3, 4, dtype=torch.float64))


# name -> (arity, ours, torch); every result broadcasts with (3, 4).
OPS = {
    "add": (2, lambda a, b: a + b, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b, lambda a, b: a - b),
    "rsub-number": (1, lambda a: 1.5 - a, lambda a: 1.5 - a),
    "mul": (2, lambda a, b: a * b, lambda a, b: a * b),
    "div": (2, lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "rdiv-array": (1, lambda a: np.full(4, 2.0) / (a * a + 1), lambda a: torch.full((4,), 2.0, dtype=torch.float64) / (a * a + 1)),
    "neg": (1, lambda a: -a, lambda a: -a),
    "pow-number": (1, lambda a: a**2, lambda a: a**2),
    "pow-tensor": (2, lambda a, b: (a * a + 0.5) ** b.tanh(), lambda a, b: (a * a + 0.5) ** b.tanh()),
    "rpow": (1, lambda a: 2.0 ** a.tanh(), lambda a: 2.0 ** a.tanh()),
    "exp": (1, lambda a: a.tanh().exp(), lambda a: a.tanh().exp()),
    "log": (1, lambda a: (a * a + 1.0).log(), lambda a: (a * a + 1.0).log()),
    "sigmoid": (1, lambda a: a.sigmoid(), lambda a: a.sigmoid()),
    "tanh": (1, lambda a: a.tanh(), lambda a: a.tanh()),
    "relu": (1, lambda a: a.relu(), lambda a: a.relu()),
    "sum0": (1, lambda a: _fix(a).sum(axis=0), lambda a: _fix(a).sum(dim=0)),
    "mean1-keep": (1, lambda a: _fix(a).mean(axis=1, keepdims=True), lambda a: _fix(a).mean(dim=1, keepdim=True)),
    "sum-all": (1, lambda a: a.sum(), lambda a: a.sum()),
    "max1-keep": (1, lambda a: _fix(a).max(axis=1, keepdims=True), lambda a: _fix(a).amax(dim=1, keepdim=True)),
    "max0": (1, lambda a: _fix(a).max(axis=0), lambda a: _fix(a).amax(dim=0)),
    "reshape-swap": (1, lambda a: _fix(a).reshape(4, 3).swapaxes(0, 1), lambda a: _fix(a).reshape(4, 3).swapaxes(0, 1)),
    "transpose-T": (1, lambda a: _fix(a).T.reshape((3, 4)), lambda a: _fix(a).T.reshape((3, 4))),
    "transpose-axes": (1, lambda a: _fix(a)[None].transpose(1, 0, 2)[:, 0], lambda a: _fix(a)[None].permute(1, 0, 2)[:, 0]),
    "broadcast_to": (1, lambda a: a.broadcast_to((3, 4)), lambda a: a.broadcast_to((3, 4))),
    "matmul": (2, lambda a, w: _fix(a) @ w, lambda a, w: _fix(a) @ w),
    "index-repeated": (1, lambda a: _fix(a)[[2, 0, 2]], lambda a: _fix(a)[[2, 0, 2]]),
    "index-slices": (1, lambda a: _fix(a)[::-1, 1:3].sum(axis=1, keepdims=True),
                     lambda a: _fix(a).flip(0)[:, 1:3].sum(dim=1, keepdim=True)),
    "concatenate": (2, lambda a, b: autograd.concatenate([_fix(a)[:, :1], _fix(b)[:, 1:]], axis=1),
                    lambda a, b: torch.cat([_fix(a)[:, :1], _fix(b)[:, 1:]], dim=1)),
    "stack": (2, lambda a, b: autograd.stack([_fix(a), _fix(b)], axis=0).sum(axis=0),
              lambda a, b: torch.stack([_fix(a), _fix(b)], dim=0).sum(dim=0)),
    "maximum": (2, lambda a, b: autograd.maximum(a, b), lambda a, b: torch.maximum(a, b)),
    "where": (2, lambda a, b: autograd.where(_fix(a).data > 0, a, b), lambda a, b: torch.where(_fix(a).detach() > 0, a, b)),
}


def _random_graph(seed):
    """Leaves (ours, torch's), the last value built (ours, torch's) and the op names used."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(SHAPES[i % len(SHAPES)]) for i in range(rng.integers(2, 6))]
    arrays.append(rng.standard_normal((4, 4)) / 2)  # the matrix of "matmul"
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    pool = list(zip(ours[:-1], theirs[:-1]))
    names, used = sorted(OPS), []
    for _ in range(rng.integers(1, 21)):  # depth up to 20
        name = names[rng.integers(len(names))]
        arity, f_ours, f_theirs = OPS[name]
        picks = [pool[rng.integers(len(pool))] for _ in range(arity)]
        if name == "matmul":
            picks[1] = (ours[-1], theirs[-1])
        pool.append((f_ours(*[p[0] for p in picks]), f_theirs(*[p[1] for p in picks])))
        used.append(name)
    return ours, theirs, pool[-1][0], pool[-1][1], used


@pytest.mark.parametrize("seed", range(60))
def test_random_graph_matches_torch(seed):
    ours, theirs, last_ours, last_theirs, _ = _random_graph(seed)
    weights = np.random.default_rng(seed + 1000).standard_normal((3, 4))
    loss_ours = (_fix(last_ours) * weights).sum()
    loss_theirs = (_fix(last_theirs) * torch.tensor(weights)).sum()
    assert rel_error(last_ours.data, last_theirs.detach().numpy()) < TOL
    assert rel_error(loss_ours.data, loss_theirs.detach().numpy()) < TOL
    loss_ours.backward()
    loss_theirs.backward()
    for t, u in zip(ours, theirs):
        expected = np.zeros(t.shape) if u.grad is None else u.grad.numpy()
        found = np.zeros(t.shape) if t.grad is None else t.grad
        assert found.shape == t.shape and found.dtype == np.float64
        assert rel_error(found, expected) < TOL, (seed, rel_error(found, expected))


def test_the_random_graphs_use_every_op_and_get_deep():
    used = [_random_graph(seed)[4] for seed in range(60)]
    assert set().union(*used) == set(OPS), set(OPS) - set().union(*used)
    assert max(len(u) for u in used) >= 18
