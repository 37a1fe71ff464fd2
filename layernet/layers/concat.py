"""Concat: parallel branches on one input, outputs joined along an axis (Inception-style)."""

from __future__ import annotations

import numpy as np

from .._validation import _is_int, format_shape, invalid_argument
from ..init import as_rng
from ..registry import LAYERS, did_you_mean
from .base import Layer
from .stack import (build_layers, chain_min_train_batch, check_layer_list, run_backward, run_forward, summary_rows,
                    walk_shape, with_input_shape)


@LAYERS.register("concat")
class Concat(Layer):
    """out = concatenate([b_1(x), ..., b_k(x)], axis): each branch a chain of layers on the same x.

    Shapes: x (N, ...); branch i maps it to (N, ...) shapes that agree on every axis but ``axis``;
    out has their common shape with the sizes along ``axis`` added. ``axis`` counts the batch axis,
    as ``torch.cat(dim=...)``: 1 is the channel axis of (N, C, H, W) (negative values count from
    the end; the batch axis itself cannot be concatenated).
    Backward: out is the branches' outputs side by side, so dout is split along ``axis`` into the
    pieces each branch produced; each piece runs backward through its branch, and because x fed
    every branch, dx is the sum of the branches' input gradients (the branch rule).

    No parameters of its own: ``children()`` lists the branches' layers one after another (the
    first branch's, then the second's ...), and Sequential numbers them in that order
    (``"3.0.W"``, ``"3.1.W"``, ...).
    Config: ``{"type": "concat", "branches": [[{...}, ...], [{...}]], "axis": 1}``.
    """

    def __init__(self, *branches, axis=1):
        super().__init__()
        if not branches:
            raise ValueError("Concat: expected at least one branch (a list of layers), e.g. "
                             "Concat([Conv2d(8, 4, 1)], [Conv2d(8, 4, 3, padding=1)]); received none")
        self.branches = []
        for index, branch in enumerate(branches):
            branch = [branch] if isinstance(branch, Layer) else branch
            if not isinstance(branch, (list, tuple)):
                raise TypeError(f"Concat: branch {index} must be a list of layers, found {type(branch).__name__}")
            self.branches.append(check_layer_list("Concat", f"branch {index}", branch, "e.g. [Conv2d(8, 4, 1)]"))
        if not _is_int(axis) or axis == 0:
            raise invalid_argument("Concat", "axis", "a non-zero int (1 is the channel axis; 0, the batch, "
                                   "cannot be concatenated)", axis)
        self.axis = int(axis)

    def children(self) -> list[Layer]:
        return [layer for branch in self.branches for layer in branch]

    def _axis(self, ndim: int) -> int:
        """The axis as a non-negative index into an ``ndim``-rank batch array; ValueError if out of range."""
        axis = self.axis if self.axis > 0 else ndim + self.axis
        if not 1 <= axis < ndim:
            raise ValueError(f"Concat(axis={self.axis}): expected branch outputs with an axis {self.axis} "
                             f"besides the batch axis, found rank {ndim}")
        return axis

    def _joined(self, shapes) -> tuple:
        """The concatenated shape of (batch-included) ``shapes``; ValueError naming all of them if they disagree."""
        ranks = {len(s) for s in shapes}
        axis = self._axis(min(ranks))
        rest = {tuple(s[:axis]) + tuple(s[axis + 1:]) for s in shapes}
        if len(ranks) != 1 or len(rest) != 1:
            listed = ", ".join(f"branch {i}: {format_shape(tuple(s))}" for i, s in enumerate(shapes))
            raise ValueError(f"Concat(axis={self.axis}): expected branch outputs that agree on every axis "
                             f"but {self.axis}, found {listed}")
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        return tuple(shape)

    # ------------------------------------------------------------------ protocol
    def forward(self, x, training=False):
        x = self.check_input(x)
        outs = [run_forward(branch, x, training, f"Concat, branch {b} layer") for b, branch in enumerate(self.branches)]
        self._joined([o.shape for o in outs])
        axis = self._axis(outs[0].ndim)
        out = np.concatenate(outs, axis=axis)
        self.save_cache(x.dtype, axis, [o.shape[axis] for o in outs], out.shape)
        return out

    def backward(self, dout):
        x_dtype, axis, sizes, out_shape = self.pop_cache()
        dout = np.asarray(dout)
        if dout.shape != out_shape:
            raise ValueError(f"Concat.backward: expected dout of the output's shape {out_shape}, found {dout.shape}")
        pieces = np.split(dout, np.cumsum(sizes)[:-1], axis=axis)
        dx = None
        for branch, piece in zip(self.branches, pieces):
            grad = run_backward(branch, np.ascontiguousarray(piece))
            dx = grad if dx is None else dx + grad
        return dx.astype(x_dtype, copy=False)

    def min_train_batch(self, input_shape):
        """The largest need of the branches' layers, each asked with its own input shape."""
        return max(chain_min_train_batch(branch, input_shape) for branch in self.branches)

    def output_shape(self, input_shape):
        shapes = [(None, *walk_shape(branch, input_shape, f"Concat, branch {b} layer"))
                  for b, branch in enumerate(self.branches)]
        return self._joined(shapes)[1:]

    # ------------------------------------------------------------------ configuration
    def get_config(self) -> dict:
        return {"type": self.type_name, "branches": [[layer.get_config() for layer in branch] for branch in self.branches],
                "axis": self.axis}

    @classmethod
    def infer_config(cls, config, input_shape):
        """Record the per-sample input shape; ``from_config`` walks it through every branch."""
        return with_input_shape(config, input_shape)

    @classmethod
    def from_config(cls, config, rng=None) -> "Concat":
        """Build from ``{"branches": [[layer configs], ...], "axis": 1, "input_shape": optional}``."""
        allowed = ["branches", "axis"]
        unknown = sorted(set(config) - {"type", "input_shape", *allowed})
        if unknown:
            raise ValueError(f"Concat: unknown argument '{unknown[0]}'{did_you_mean(unknown[0], allowed)}; "
                             "expected: branches, axis")
        branches = config.get("branches")
        if not isinstance(branches, (list, tuple)) or not branches:
            raise ValueError(f"Concat: branches: expected a non-empty list of layer lists, found {branches!r}")
        rng = as_rng(rng)
        built = [build_layers(branch, config.get("input_shape"), rng, where=f"Concat, branch {b} ")[0]
                 for b, branch in enumerate(branches)]
        return cls(*built, axis=config.get("axis", 1))

    # ------------------------------------------------------------------ display
    def summary_text(self) -> str:
        """The block's own row in ``Sequential.summary``; its branches follow as rows of their own."""
        return f"Concat({len(self.branches)} branches, axis={self.axis})"

    def summary_rows(self, input_shape, prefix: str, depth: int = 1) -> list[tuple]:
        """One summary row per layer of each branch (tagged ``branch <b>:``)."""
        rows, start = [], 0
        for b, branch in enumerate(self.branches):
            rows += summary_rows(branch, input_shape, prefix, start, f"branch {b}: ", depth)
            start += len(branch)
        return rows

    def __repr__(self) -> str:
        branches = ", ".join("[" + ", ".join(repr(layer) for layer in branch) + "]" for branch in self.branches)
        return f"Concat({branches}, axis={self.axis})"
