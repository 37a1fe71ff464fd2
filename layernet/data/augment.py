"""Training-batch augmentation for images: random crop with zero padding, horizontal flip, cutout.

    augment = Augment(random_crop={"padding": 4}, horizontal_flip=True, cutout={"size": 8}, seed=0)
    xb = augment(x[idx], step)      # a new (B, C, H, W) array; x[idx] is not changed

Config: ``data.augment: {random_crop: {padding: 4}, horizontal_flip: true, cutout: {size: 8}}``.
The trainer applies it to training batches only (never to validation or test data).

- ``random_crop``: pad each image with ``padding`` zeros on every side and crop a window of the
  original size at a uniformly random corner (torchvision's ``RandomCrop(size, padding)``).
- ``horizontal_flip``: mirror left-right with probability 0.5 (``RandomHorizontalFlip``).
- ``cutout``: zero a ``size`` x ``size`` square in every channel, centred on a uniformly random
  pixel and clipped at the border (DeVries & Taylor 2017), after the crop and the flip.

Determinism: the random numbers of a batch come from ``default_rng([seed, step])``, a stream of
its own for every training step, so the same seed gives the same augmented batches, and a resumed
run (which continues at the same step) continues the same stream without any saved state.
"""

from __future__ import annotations

import numpy as np

from .._validation import _is_int, check_int, invalid_argument
from ..kernels.augment import augment_batch


def _option(name: str, value, key: str, minimum: int):
    """``{key: int}`` (or a bare int) -> the int; None -> None; else a one-line ValueError."""
    if value is None:
        return None
    raw = value.get(key) if isinstance(value, dict) and set(value) == {key} else value
    if not _is_int(raw) or raw < minimum:
        raise invalid_argument("Augment", name, f"{{{key}: an int >= {minimum}}}", value)
    return int(raw)


class Augment:
    """Random crop, flip and cutout of image batches (see the module docstring)."""

    def __init__(self, random_crop=None, horizontal_flip: bool = False, cutout=None, seed: int = 0):
        self.padding = _option("random_crop", random_crop, "padding", 0)
        if not isinstance(horizontal_flip, bool):
            raise invalid_argument("Augment", "horizontal_flip", "true or false", horizontal_flip)
        self.horizontal_flip = horizontal_flip
        self.cutout = _option("cutout", cutout, "size", 1)
        self.seed = check_int("Augment", "seed", seed, minimum=0)

    @classmethod
    def from_config(cls, config: dict | None, seed: int = 0) -> "Augment | None":
        """An ``Augment`` from the ``data.augment`` mapping, or None when it asks for nothing."""
        if not config:
            return None
        augment = cls(config.get("random_crop"), config.get("horizontal_flip", False), config.get("cutout"), seed)
        return augment if augment.active else None

    @property
    def active(self) -> bool:
        return self.padding is not None or self.horizontal_flip or self.cutout is not None

    def problems(self, input_shape) -> list[tuple[str, str]]:
        """``(option, message)`` for each option the per-sample ``input_shape`` cannot take."""
        shape = tuple(input_shape)
        if len(shape) != 3:
            return [("", f"expected image data (C, H, W) per example for augmentation, found examples of shape {shape}")]
        if self.cutout is not None and self.cutout > min(shape[1:]):
            return [("cutout", f"expected a cutout size <= the image's {shape[1]}x{shape[2]}, found size {self.cutout}")]
        return []

    def check(self, input_shape) -> None:
        """ValueError (one line) unless the per-sample ``input_shape`` is an image this can augment."""
        for option, text in self.problems(input_shape):
            raise ValueError(f"Augment{'.' + option if option else ''}: {text}")

    def __call__(self, x: np.ndarray, step: int) -> np.ndarray:
        """The augmented copy of the batch ``x (B, C, H, W)`` for training step ``step``."""
        x = np.ascontiguousarray(x)
        if x.ndim != 4:
            raise ValueError(f"Augment: expected a batch of images (B, C, H, W), found shape {x.shape}")
        self.check(x.shape[1:])
        draws = self.draw(x.shape[0], x.shape[2], x.shape[3], step)
        out = np.empty_like(x)
        augment_batch(x, self.padding or 0, draws["dy"], draws["dx"], draws["flip"], self.cutout or 0,
                      draws["y0"], draws["x0"], out)
        return out

    def draw(self, batch: int, height: int, width: int, step: int) -> dict:
        """The random numbers of step ``step``'s batch: crop corners ``dy``, ``dx`` in [0, 2p],
        ``flip`` (bool), cutout corners ``y0``, ``x0`` (centre - size // 2); all (batch,) arrays."""
        rng = np.random.default_rng([self.seed, int(step)])
        pad, cut = self.padding or 0, self.cutout or 0
        zeros = np.zeros(batch, dtype=np.int64)
        dy = rng.integers(0, 2 * pad + 1, batch) if pad else zeros
        dx = rng.integers(0, 2 * pad + 1, batch) if pad else zeros
        flip = rng.random(batch) < 0.5 if self.horizontal_flip else np.zeros(batch, dtype=bool)
        y0 = rng.integers(0, height, batch) - cut // 2 if cut else zeros
        x0 = rng.integers(0, width, batch) - cut // 2 if cut else zeros
        return {"dy": dy.astype(np.int64), "dx": dx.astype(np.int64), "flip": flip,
                "y0": y0.astype(np.int64), "x0": x0.astype(np.int64)}

    def __repr__(self) -> str:
        parts = []
        if self.padding is not None:
            parts.append(f"random_crop={{'padding': {self.padding}}}")
        if self.horizontal_flip:
            parts.append("horizontal_flip=True")
        if self.cutout is not None:
            parts.append(f"cutout={{'size': {self.cutout}}}")
        return f"Augment({', '.join(parts)}, seed={self.seed})"
