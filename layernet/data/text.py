"""Character-level language modelling on the user's own UTF-8 text file (``dataset: text``).

Options: ``path`` (the file, required) and ``seq_len`` (T, the window length, default 64).
The vocabulary is the sorted set of the file's characters (Unicode code points; V of them), and
the text becomes the index sequence c_0 .. c_{L-1}. Examples are the non-overlapping windows

    x_i = c[i*T : (i+1)*T],   y_i = c[i*T + 1 : (i+1)*T + 1]     (the next character at every step)

for i < (L - 1) // T, so x (N, T) and y (N, T) are int64 and the last characters that do not fill
a window are dropped. There is no test split. ``val_size`` counts windows and takes them from the
contiguous tail of the text (``Dataset.contiguous``), never a random draw: a validation window
never overlaps a training window. ``normalize`` must stay ``none`` (the inputs are indices).

The runner saves the vocabulary as ``vocabulary.json`` in the run directory (``layernet sample``
reads it), and fills the sizes a config leaves out: ``num_embeddings`` of every ``embedding`` and
``out_features`` of the last ``temporal_affine`` default to V.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._validation import check_int, invalid_argument
from ..registry import DATASETS
from .dataset import Dataset
from .source import FileCheck, Source

VOCABULARY_FILE = "vocabulary.json"


def read_text(path: Path) -> str:
    """The file's text; ValueError naming the file if it is missing, not UTF-8 or empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file (data.path of dataset text)") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: expected a UTF-8 text file, found a directory") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: expected UTF-8 text, found bytes that are not UTF-8 (at byte {err.start})") from None
    if not text:
        raise ValueError(f"{path}: expected a UTF-8 text file with some text, found an empty file")
    return text


def encode(text: str, vocabulary: list[str]) -> np.ndarray:
    """Indices (L,) int64 of ``text`` in ``vocabulary``; ValueError naming the first unknown character."""
    index = {ch: i for i, ch in enumerate(vocabulary)}
    unknown = next((ch for ch in text if ch not in index), None)
    if unknown is not None:
        raise ValueError(f"expected characters of the model's vocabulary ({len(vocabulary)} characters), "
                         f"found {unknown!r}, which is not in it")
    return np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))


@DATASETS.register("text")
class TextDataset(Source):
    """Character-level windows of a UTF-8 text file; options ``path`` (required) and ``seq_len``."""

    def __init__(self, path=None, seq_len: int = 64):
        if path is None:
            raise invalid_argument("dataset text", "path", "the UTF-8 text file to model", path)
        self.path = Path(path).expanduser()
        self.seq_len = check_int("dataset text", "seq_len", seq_len)

    def read(self, directory=None, seed=0):
        text = read_text(self.path)
        t = self.seq_len
        if len(text) < t + 1:
            raise ValueError(f"{self.path}: expected at least seq_len + 1 = {t + 1} characters (one window and its "
                             f"next character), found {len(text)}")
        vocabulary = sorted(set(text))
        ids = encode(text, vocabulary)
        n = (len(ids) - 1) // t
        x = ids[:n * t].reshape(n, t)
        y = ids[1:n * t + 1].reshape(n, t)
        return Dataset(x, y, None, None, None, None, len(vocabulary), list(vocabulary), self.type_name,
                       vocabulary=vocabulary, contiguous=True)

    def check(self, directory=None):
        try:
            ds = self.read()
        except ValueError as err:
            return [FileCheck(str(self.path), False, str(err))]
        return [FileCheck(str(self.path), True, f"{len(ds.y_train)} windows of {self.seq_len} characters, "
                                                f"{len(ds.vocabulary)} distinct characters")]


def fill_vocabulary_sizes(layers: list, vocabulary_size: int) -> None:
    """In place: ``num_embeddings`` of every embedding layer and ``out_features`` of the last
    temporal_affine default to the vocabulary size where a layer config leaves them out."""
    for entry in layers:
        if isinstance(entry, dict) and entry.get("type") == "embedding" and entry.get("num_embeddings") is None:
            entry["num_embeddings"] = int(vocabulary_size)
    last = next((e for e in reversed(layers) if isinstance(e, dict) and e.get("type") == "temporal_affine"), None)
    if last is not None and last.get("out_features") is None:
        last["out_features"] = int(vocabulary_size)


def save_vocabulary(run_dir: Path, vocabulary: list[str]) -> None:
    """Write ``vocabulary.json`` (a JSON list of the characters, index order) into ``run_dir``."""
    from .._io import atomic_write

    with atomic_write(Path(run_dir) / VOCABULARY_FILE) as handle:
        json.dump(list(vocabulary), handle, ensure_ascii=False)
        handle.write("\n")


def load_vocabulary(run_dir: Path) -> list[str]:
    """The vocabulary of a character model's run directory; ValueError if it is not one."""
    path = Path(run_dir) / VOCABULARY_FILE
    if not path.is_file():
        raise ValueError(f"{run_dir}: expected a character model's run directory (trained with dataset: text, "
                         f"holding {VOCABULARY_FILE}), found no {VOCABULARY_FILE}")
    try:
        vocabulary = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: expected a JSON list of characters, found unreadable content ({err})") from None
    if not isinstance(vocabulary, list) or not vocabulary or not all(isinstance(c, str) and len(c) == 1 for c in vocabulary):
        raise ValueError(f"{path}: expected a non-empty JSON list of single characters")
    return vocabulary
