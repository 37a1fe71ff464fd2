"""Sampling text from a trained character model (``layernet sample RUN_DIR``).

    from layernet.sample import sample
    print(sample("runs/char_lstm/20260101-120000", length=300, prime="The ", temperature=0.8, seed=0))

The run directory must hold a character model: ``vocabulary.json`` (written by ``run`` for
``dataset: text``), ``config.yaml`` and a checkpoint (``best``, else ``last``). The model maps
indices (1, T) to scores (1, T, V).

Generation: the prime string is fed through the model once; then, one character at a time, the
next index is drawn from softmax(scores / temperature) of the last step and fed back as a
sequence of length 1. Recurrent layers carry their state from call to call (``h0``/``c0`` are set
to the ``final_state`` of the previous call), so each new character costs one step, not a pass
over everything generated so far. Lower temperatures give likelier, more repetitive text;
1.0 samples the model's own distribution. Draws come from ``numpy.random.default_rng(seed)``, so
the same seed gives the same text. Without a prime the first character is drawn uniformly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def load_character_model(run_dir, checkpoint: str = "best"):
    """``(model, vocabulary)`` of a character model's run directory; ValueError if it is not one."""
    from .checkpoint import load_checkpoint, load_model_state
    from .config import load_config
    from .data.text import load_vocabulary
    from .model import Sequential

    run_dir = Path(run_dir).expanduser()
    if not (run_dir / "config.yaml").is_file():
        raise ValueError(f"{run_dir}: expected a run directory (with config.yaml), found none")
    vocabulary = load_vocabulary(run_dir)
    cfg = load_config(run_dir / "config.yaml").model_dump()
    model = Sequential.from_config(cfg["model"], input_shape=(cfg["data"].get("seq_len") or 1,), rng=0)
    if not getattr(model[0], "integer_input", False) or model.output_shape((1,)) != (1, len(vocabulary)):
        raise ValueError(f"{run_dir}: expected a character model (indices (N, T) -> scores (N, T, {len(vocabulary)})), "
                         f"found a model with output {model.output_shape((1,))} for one step")
    order = [checkpoint, "last"] if checkpoint == "best" else [checkpoint]
    path = next((run_dir / "checkpoints" / f"{w}.npz" for w in order if (run_dir / "checkpoints" / f"{w}.npz").is_file()), None)
    if path is None:
        raise ValueError(f"{run_dir}: no checkpoint ({', '.join(f'{w}.npz' for w in order)}) in checkpoints/")
    load_model_state(model, load_checkpoint(path))
    return model, vocabulary


def _step(model, x, states: dict):
    """Scores of the last step for indices x (1, T), continuing each recurrent layer from ``states``."""
    from .layers.recurrent import Recurrent

    out = x
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Recurrent):
            given = dict(zip(layer.state_names, states.get(index, ())))
            out = layer.forward(out, training=False, **given)
            states[index] = layer.final_state
        else:
            out = layer.forward(out, training=False)
        layer._cache = None  # no backward here
    return np.asarray(out[0, -1], dtype=np.float64)


def sample(run_dir, length: int = 300, prime: str = "", temperature: float = 1.0, seed: int = 0,
           checkpoint: str = "best") -> str:
    """``prime`` followed by ``length`` characters drawn from the run's model (see the module docstring).

    ValueError (one line) for a run directory that is not a character model's, a prime with a character
    outside the vocabulary, a temperature <= 0 or a negative length.
    """
    from ._validation import check_int, check_positive
    from .data.text import encode

    length = check_int("sample", "length", length, minimum=0)
    temperature = check_positive("sample", "temperature", temperature)
    seed = check_int("sample", "seed", seed, minimum=0)
    model, vocabulary = load_character_model(run_dir, checkpoint)
    rng = np.random.default_rng(seed)
    try:
        ids = encode(prime, vocabulary)
    except ValueError as err:
        raise ValueError(f"--prime {prime!r}: {err}") from None
    text = list(prime)
    if length == 0:
        return prime
    remaining = length
    if not len(ids):  # no prime: the first character is drawn uniformly and counts as one of ``length``
        ids = np.array([rng.integers(len(vocabulary))])
        text.append(vocabulary[ids[0]])
        remaining -= 1
    states: dict = {}
    scores = _step(model, ids[None, :], states)
    for _ in range(remaining):
        logits = scores / temperature
        p = np.exp(logits - logits.max())
        p /= p.sum()
        nxt = int(rng.choice(len(vocabulary), p=p))
        text.append(vocabulary[nxt])
        scores = _step(model, np.array([[nxt]]), states)
    return "".join(text)


__all__ = ["load_character_model", "sample"]
