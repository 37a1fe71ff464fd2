"""A whole training state in one ``.npz`` file (no pickles), written atomically.

Layout of a checkpoint (every entry a plain array; text is a 0-d unicode array):

| key | content |
|---|---|
| ``format`` | ``CHECKPOINT_FORMAT`` |
| ``model_config`` | JSON of ``model.get_config()`` (the file describes its own architecture) |
| ``model/<name>`` | ``model.state_dict()``: parameters and buffers (``model/0.W``, ``model/1.running_mean``) |
| ``model_rng/<layer>`` | JSON of each dropout layer's generator state (``model.random_state()``) |
| ``optim/<key>`` | ``optimizer.state_dict()`` (``optim/t``, ``optim/m/0.W`` ...) |
| ``schedule/<key>`` | ``schedule.state_dict()`` (absent without a schedule) |
| ``trainer/rng`` | JSON of the trainer's shuffling generator (``bit_generator.state``) |
| ``trainer/<key>`` | scalars: ``epoch`` (finished epochs), ``step``, best-checkpoint and early-stopping state, ... |
| ``callbacks/<key>/<name>`` | each callback's ``state_dict()`` (early stopping's ``best``/``wait``, the best epoch ...) |
| ``history/<column>``, ``steps/<column>`` | the history rows and step losses so far (``TrainingHistory.to_arrays``) |
| ``partial/<key>`` | only in a checkpoint taken mid-epoch: the epoch's permutation, the batches done, running sums |

A checkpoint therefore holds everything ``Trainer.restore`` needs to continue bit for bit,
and the history that goes with it, so ``history.csv`` can always be rebuilt to match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ._io import load_npz, save_npz_atomic
from .history import TrainingHistory

CHECKPOINT_FORMAT = 1


def _text(value: str) -> np.ndarray:
    return np.array(str(value))


def _scalar(value):
    """A 0-d array back to a Python int, float or str."""
    value = np.asarray(value)
    if value.dtype.kind == "U":
        return str(value)
    if value.dtype.kind in "iub":
        return int(value)
    return float(value)


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns; ``partial`` is None unless taken mid-epoch."""

    model_state: dict
    model_config: dict | None
    model_random_state: dict
    optimizer_state: dict
    schedule_state: dict
    rng_state: dict
    trainer: dict
    history: TrainingHistory
    partial: dict | None = None
    callbacks: dict = field(default_factory=dict)  # state_key -> that callback's state_dict()
    path: str = ""
    extra: dict = field(default_factory=dict)


def checkpoint_arrays(*, model, optimizer, schedule, rng: np.random.Generator, trainer: dict,
                      history: TrainingHistory, partial: dict | None = None,
                      callbacks: dict | None = None) -> dict[str, np.ndarray]:
    """Collect the arrays of a checkpoint (see the module docstring) from live objects."""
    arrays = {"format": np.array(CHECKPOINT_FORMAT, dtype=np.int64)}
    get_config = getattr(model, "get_config", None)
    if get_config is not None:
        arrays["model_config"] = _text(json.dumps(get_config()))
    arrays.update({f"model/{k}": v for k, v in model.state_dict().items()})
    random_state = getattr(model, "random_state", None)
    if random_state is not None:
        arrays.update({f"model_rng/{k}": _text(v) for k, v in random_state().items()})
    arrays.update({f"optim/{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    if schedule is not None:
        arrays.update({f"schedule/{k}": np.asarray(v) for k, v in schedule.state_dict().items()})
    arrays["trainer/rng"] = _text(json.dumps(rng.bit_generator.state))
    for key, value in trainer.items():
        arrays[f"trainer/{key}"] = _text(value) if isinstance(value, str) else np.asarray(value)
    for key, state in (callbacks or {}).items():
        for name, value in state.items():
            arrays[f"callbacks/{key}/{name}"] = _text(value) if isinstance(value, str) else np.asarray(value)
    arrays.update(history.to_arrays())
    if partial is not None:
        arrays.update({f"partial/{k}": np.asarray(v) for k, v in partial.items()})
    return arrays


def save_checkpoint(path, **parts) -> None:
    """Write ``checkpoint_arrays(**parts)`` to ``path`` atomically (the old file survives a failure)."""
    save_npz_atomic(path, checkpoint_arrays(**parts))


def _group(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; one-line ValueError naming the file if not."""
    arrays = load_npz(path)
    if "format" not in arrays or "trainer/rng" not in arrays:
        raise ValueError(f"{path}: not a layernet training checkpoint (no 'format'/'trainer/rng' entries)")
    if int(arrays["format"]) != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path}: checkpoint format {int(arrays['format'])} is not supported (expected {CHECKPOINT_FORMAT})"
        )
    try:
        history = TrainingHistory.from_arrays(arrays)
    except KeyError as err:
        raise ValueError(f"{path}: checkpoint lacks the history array {err}") from None
    trainer = {k: _scalar(v) for k, v in _group(arrays, "trainer/").items() if k != "rng"}
    partial = _group(arrays, "partial/") or None
    if partial is not None:
        partial = {k: (v if k == "perm" else _scalar(v)) for k, v in partial.items()}
    config = arrays.get("model_config")
    callbacks: dict[str, dict] = {}
    for name, value in _group(arrays, "callbacks/").items():
        key, _, field_name = name.rpartition("/")
        callbacks.setdefault(key, {})[field_name] = value if np.ndim(value) else _scalar(value)
    return Checkpoint(
        model_state=_group(arrays, "model/"),
        model_config=None if config is None else json.loads(str(config)),
        model_random_state={k: str(v) for k, v in _group(arrays, "model_rng/").items()},
        optimizer_state=_group(arrays, "optim/"),
        schedule_state=_group(arrays, "schedule/"),
        rng_state=json.loads(str(arrays["trainer/rng"])),
        trainer=trainer,
        history=history,
        partial=partial,
        callbacks=callbacks,
        path=str(path),
    )


def load_model_state(model, checkpoint: Checkpoint) -> None:
    """Load the checkpoint's parameters and buffers into ``model``.

    ValueError naming the file and the first mismatching parameter with both shapes (a config
    whose model differs from the one that was trained).
    """
    try:
        model.load_state_dict(checkpoint.model_state)
    except ValueError as err:
        raise ValueError(f"{checkpoint.path}: the model does not match the checkpoint: {err}") from None
    set_random_state = getattr(model, "set_random_state", None)
    if set_random_state is not None:
        set_random_state(checkpoint.model_random_state)
