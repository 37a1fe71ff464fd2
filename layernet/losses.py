"""Losses: a scalar from the network's scores and the targets, and its gradient w.r.t. the scores.

Protocol (every loss):

- ``loss.forward(scores, y) -> float``: the loss of the batch (a mean, see each class); caches
  the gradient.
- ``loss.backward() -> dscores``: the gradient of that float w.r.t. ``scores`` (scores' shape and
  dtype). The cache is consumed: one backward per forward, as for layers.
- ``get_config()`` / ``from_config()`` and a ``repr`` showing the constructor call.

Classification losses take scores (N, C) and integer labels y (N,) in [0, C); whole-number floats
(``2.0``) are accepted as labels, other floats and booleans are refused.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_input, check_positive
from .kernels.softmax import softmax, softmax_cross_entropy
from .registry import LOSSES


class Loss:
    """Base class: validation helpers, the backward cache, configuration and repr."""

    type_name: str = ""

    def __init__(self):
        self._dscores = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def forward(self, scores, y) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """The gradient of the last forward's loss w.r.t. its scores (scores' shape and dtype)."""
        if self._dscores is None:
            raise RuntimeError(
                f"{self.name}.backward called before forward (or twice after one forward); call forward first"
            )
        dscores, self._dscores = self._dscores, None
        return dscores

    def __call__(self, scores, y):
        """``forward(scores, y)``; on an autograd ``Tensor``, a size-1 Tensor recorded for ``backward``."""
        if type(scores) is not np.ndarray and getattr(scores, "_autograd_tensor", False):
            from .autograd.modules import call_loss  # the engine is imported only when it is used

            return call_loss(self, scores, y)
        return self.forward(scores, y)

    # ------------------------------------------------------------------ validation
    def _check_scores_labels(self, scores, y):
        """scores (N, C) floating with N >= 1, C >= 1; y (N,) integers in [0, C) -> (scores, y as intp)."""
        scores = check_input(self.name, scores, ndim=2, expected="(N, C)")
        n, c = scores.shape
        if c == 0:  # check_input already refused N == 0
            raise ValueError(f"{self.name}: expected scores (N, C) with C >= 1 classes, found shape {scores.shape}")
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"{self.name}: expected labels y of shape (N,) = ({n},) for scores {scores.shape}, found shape {y.shape}")
        if y.dtype == np.bool_ or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
            raise ValueError(f"{self.name}: expected integer class labels y in [0, {c}), found dtype {y.dtype}")
        if np.issubdtype(y.dtype, np.floating):
            whole = np.isfinite(y) & (y == np.round(y))
            if not whole.all():
                bad = int(np.argmin(whole))
                raise ValueError(f"{self.name}: expected integer class labels y in [0, {c}), found y[{bad}] = {y[bad]!r}")
        outside = (y < 0) | (y >= c)
        if outside.any():
            bad = int(np.argmax(outside))
            raise ValueError(
                f"{self.name}: expected class labels y in [0, {c}) for scores with {c} classes, found y[{bad}] = {y[bad]!r}"
            )
        return scores, y.astype(np.intp)

    # ------------------------------------------------------------------ configuration
    def get_config(self) -> dict:
        """The dict that rebuilds this loss: ``{"type": "hinge", "margin": 1.0}``."""
        return {"type": self.type_name}

    @classmethod
    def from_config(cls, config: dict) -> "Loss":
        kwargs = {k: v for k, v in config.items() if k != "type"}
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise ValueError(f"{cls.__name__}: {err}") from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "type")
        return f"{self.name}({args})"



def make_loss(spec) -> Loss:
    """The loss a config names: ``"hinge"`` or ``{"type": "hinge", "margin": 0.5}`` (ValueError
    naming the loss for an unknown name or bad arguments)."""
    spec = {"type": spec} if isinstance(spec, str) else dict(spec)
    return LOSSES.get(spec["type"]).from_config(spec)

@LOSSES.register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Loss):
    """Softmax followed by the cross-entropy of the true class, averaged over the batch.

    Shapes: scores (N, C), y (N,) integer labels in [0, C) -> a float.
    loss = (1/N) sum_i -log p_i[y_i], with p_i = softmax(scores_i), computed as
    log(sum_j exp(s_ij - m_i)) - (s_i[y_i] - m_i) with m_i the row maximum (stable for any scores).
    Backward: dscores_ij = (p_ij - [j == y_i]) / N; the probabilities minus the one-hot labels.
    Fused into one Numba pass per row (``layernet.kernels.softmax``).
    ``probabilities`` gives p (N, C) of the last forward, for predictions.
    """

    def __init__(self):
        super().__init__()
        self._scores = None
        self._probabilities = None

    def forward(self, scores, y) -> float:
        scores, y = self._check_scores_labels(scores, y)
        scores = np.ascontiguousarray(scores)
        loss_rows = np.empty(scores.shape[0], dtype=scores.dtype)
        dscores = np.empty_like(scores)
        softmax_cross_entropy(scores, y, loss_rows, dscores)
        self._dscores = dscores
        self._scores, self._probabilities = scores, None
        return float(np.mean(loss_rows, dtype=np.float64))

    @property
    def probabilities(self) -> np.ndarray:
        """softmax(scores) (N, C) of the last forward, in the scores' dtype (computed on first use)."""
        if self._scores is None:
            raise RuntimeError(f"{self.name}.probabilities: call forward first")
        if self._probabilities is None:
            self._probabilities = softmax_probabilities(self._scores)
        return self._probabilities


def softmax_probabilities(scores) -> np.ndarray:
    """Row-wise softmax of scores (N, C) (stable: the row maximum is subtracted first)."""
    scores = np.ascontiguousarray(check_input("softmax", scores, ndim=2, expected="(N, C)"))
    out = np.empty_like(scores)
    softmax(scores, out)
    return out


@LOSSES.register("hinge")
class HingeLoss(Loss):
    """Multiclass SVM (hinge) loss, cs231n's svm_loss, averaged over the batch.

    Shapes: scores (N, C), y (N,) integer labels in [0, C) -> a float.
    loss = (1/N) sum_i sum_{j != y_i} max(0, s_ij - s_i[y_i] + margin).
    Backward: every class j != y_i with a positive term (s_ij - s_i[y_i] + margin > 0) gets
    +1/N, and the true class y_i gets -1/N for each such j. At a kink (a term exactly 0) the
    gradient is taken as 0. PyTorch's multi_margin_loss (p=1) divides this sum by C as well.
    """

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = check_positive("HingeLoss", "margin", margin, allow_zero=True)

    def forward(self, scores, y) -> float:
        scores, y = self._check_scores_labels(scores, y)
        n = scores.shape[0]
        rows = np.arange(n)
        correct = scores[rows, y][:, None]
        margins = np.maximum(0, scores - correct + scores.dtype.type(self.margin))
        margins[rows, y] = 0
        positive = (margins > 0).astype(scores.dtype)
        positive[rows, y] = -positive.sum(axis=1)
        self._dscores = positive / scores.dtype.type(n)
        return float(np.sum(margins, dtype=np.float64) / n)

    def get_config(self) -> dict:
        return {"type": self.type_name, "margin": self.margin}


@LOSSES.register("mse")
class MSELoss(Loss):
    """Mean squared error over all elements, as PyTorch's mse_loss and Keras' MeanSquaredError.

    Shapes: scores (N, ...) and y of the same shape -> a float.
    loss = mean((scores - y)^2) over all N*... elements.
    Backward: dscores = 2 (scores - y) / (number of elements).
    """

    def forward(self, scores, y) -> float:
        scores = check_input(self.name, scores)
        if scores.size == 0:
            raise ValueError(f"{self.name}: expected scores with at least one element, found shape {scores.shape}")
        y = np.asarray(y)
        if y.shape != scores.shape:
            raise ValueError(f"{self.name}: expected targets y of the scores' shape {scores.shape}, found shape {y.shape}")
        if y.dtype == np.bool_ or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
            raise ValueError(f"{self.name}: expected real-valued targets y (integer or floating), found dtype {y.dtype}")
        diff = scores - y.astype(scores.dtype, copy=False)
        self._dscores = diff * scores.dtype.type(2.0 / diff.size)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run gets inf; the trainer reports it
            return float(np.mean(np.square(diff), dtype=np.float64))


@LOSSES.register("temporal_softmax_cross_entropy")
class TemporalSoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy at every step of a sequence, summed over time and averaged over the
    batch (cs231n's ``temporal_softmax_loss``).

    Shapes: scores (N, T, C), y (N, T) integer labels in [0, C), mask (N, T) booleans or None -> a float.
    loss = (1/N) sum_n sum_t m_nt * -log softmax(scores_nt)[y_nt], where m_nt is 1 for a step that
    counts: mask True (cs231n's convention; None = every step) and y_nt != ``ignore_index``.
    A label equal to ``ignore_index`` may lie outside [0, C) (PyTorch's -100). Note the scale: the
    sum over steps divided by N, not the mean over steps (``F.cross_entropy(..., ignore_index=k)``
    divides by the number of counted steps instead).
    Backward: dscores_nt = m_nt (softmax(scores_nt) - onehot(y_nt)) / N; zero at steps that do not count.
    The rows go through the fused kernel of ``SoftmaxCrossEntropy`` as one (N*T, C) batch.
    """

    def __init__(self, ignore_index=None):
        super().__init__()
        if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
            raise ValueError("Invalid value for argument `ignore_index` of TemporalSoftmaxCrossEntropy: expected an "
                             f"int or None. Received: ignore_index={ignore_index!r}")
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.counted = None  # (N, T) booleans of the last forward: the steps that counted

    def forward(self, scores, y, mask=None) -> float:
        scores, y, counts = self._check_temporal(scores, y, mask)
        n, t, c = scores.shape
        flat = np.ascontiguousarray(scores.reshape(n * t, c))
        labels = np.where(counts, y, 0).reshape(-1).astype(np.intp)
        loss_rows = np.empty(n * t, dtype=scores.dtype)
        dscores = np.empty_like(flat)
        softmax_cross_entropy(flat, labels, loss_rows, dscores)       # rows scaled by 1 / (N*T)
        weight = counts.reshape(-1, 1).astype(scores.dtype) * scores.dtype.type(t)
        self._dscores = (dscores * weight).reshape(n, t, c)
        self.counted = counts
        return float(np.sum(loss_rows[counts.reshape(-1)], dtype=np.float64) / n)

    def _check_temporal(self, scores, y, mask):
        """scores (N, T, C), y (N, T) integers in [0, C) where they count, mask (N, T) -> (scores, y, counted)."""
        scores = check_input(self.name, scores, ndim=3, expected="(N, T, C)")
        n, t, c = scores.shape
        if t == 0 or c == 0:
            raise ValueError(f"{self.name}: expected scores (N, T, C) with T >= 1 and C >= 1, found shape {scores.shape}")
        y = np.asarray(y)
        if y.shape != (n, t):
            raise ValueError(f"{self.name}: expected labels y of shape (N, T) = ({n}, {t}) for scores {scores.shape}, "
                             f"found shape {y.shape}")
        if y.dtype == np.bool_ or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{self.name}: expected integer class labels y in [0, {c}), found dtype {y.dtype}")
        counts = np.ones((n, t), dtype=bool)
        if mask is not None:
            mask = np.asarray(mask)
            zero_one = mask.dtype != np.bool_ and np.issubdtype(mask.dtype, np.number) and np.isin(mask, (0, 1)).all()
            if mask.shape != (n, t) or not (mask.dtype == np.bool_ or zero_one):
                raise ValueError(f"{self.name}: expected a boolean (or 0/1) mask of shape (N, T) = ({n}, {t}), "
                                 f"found {mask.dtype} {mask.shape}")
            counts &= mask.astype(bool)
        if self.ignore_index is not None:
            counts &= y != self.ignore_index
        outside = counts & ((y < 0) | (y >= c))
        if outside.any():
            i, j = np.argwhere(outside)[0]
            raise ValueError(f"{self.name}: expected class labels y in [0, {c}) for scores with {c} classes, "
                             f"found y[{i}, {j}] = {int(y[i, j])}")
        return scores, y, counts

    def get_config(self) -> dict:
        return {"type": self.type_name, "ignore_index": self.ignore_index}
