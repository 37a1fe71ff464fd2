"""The run config's shape, as pydantic v2 models (strict types, unknown keys refused).

Defaults (what ``resolve`` fills in; the trainer reads exactly these names)::

    version: 1
    name: (required)
    seed: 0
    data: {dataset: (required), root: null, download: false, val_size: 0, normalize: none,
           limit: null, path: null, num_classes: null, class_names: null,
           classes: null, points_per_class: null, noise: null, augment: null, seq_len: null, sequence: null}
    data.augment: {random_crop: null, horizontal_flip: false, cutout: null}   # random_crop: {padding: 4}, cutout: {size: (required)}
    model: {layers: (required), loss: softmax_cross_entropy}   # or {type: hinge, margin: 0.5}
    optimizer: {type: (required), lr: (required), ...the optimizer's own keys}
    lr_schedule: {type: constant, ...the schedule's own keys}
    trainer: {epochs: 10, batch_size: 64, drop_last: false, early_stopping: null, verbose: auto,
              clip_grad_norm: null, metrics: [accuracy], callbacks: []}
              # metrics: layernet.metrics.METRICS; callbacks: live_plot, tensorboard
    trainer.early_stopping: {monitor: val_acc, patience: 5, mode: auto, min_delta: 0.0}
    checkpoint: {every_epochs: 1, keep_best: true, monitor: val_acc}
    output: {dir: "runs/{name}/{timestamp}", plots: true, tensorboard: false, histograms_every: 1}

The data options ``path``/``num_classes``/``class_names`` belong to ``npz`` and ``classes``/
``points_per_class``/``noise`` to ``spiral``, ``path``/``seq_len`` to ``text``;
``sequence: rows`` feeds images to recurrent layers row by row; null means "the data set's default". Layers, the
optimizer's and the schedule's own keys, and every registered name are checked against the
registries in ``checks.py``; this module checks only what does not depend on them.
Types are strict: ``epochs: "10"`` is an error, not 10; a float field accepts an int.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictInt, StrictStr
from pydantic_core import PydanticCustomError

MONITORS = ("val_acc", "val_loss", "train_acc", "train_loss")
Monitor = Literal["val_acc", "val_loss", "train_acc", "train_loss"]


def _expect(text: str, ok):
    """An after-validator that raises an error worded "expected <text>" unless ``ok(value)``."""

    def check(value):
        if not ok(value):
            raise PydanticCustomError("expected", text)
        return value

    return AfterValidator(check)


PositiveInt = Annotated[StrictInt, _expect("an int > 0", lambda v: v > 0)]
NonNegativeInt = Annotated[StrictInt, _expect("an int >= 0", lambda v: v >= 0)]
Number = float  # strict mode: ints are accepted for floats, strings and booleans are not
PositiveNumber = Annotated[Number, _expect("a number > 0", lambda v: v > 0 and v != float("inf"))]
NonNegativeNumber = Annotated[Number, _expect("a number >= 0", lambda v: 0 <= v < float("inf"))]
Name = Annotated[
    StrictStr,
    _expect("a non-empty name without '/' (it is part of the run directory)", lambda v: v.strip() != "" and "/" not in v and "\\" not in v),
]


def _val_size_ok(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 0
    return isinstance(value, float) and 0 < value < 1


ValSize = Annotated[Any, _expect("an int >= 0 or a fraction in (0, 1)", _val_size_ok)]


class Section(BaseModel):
    """Base of every section: strict types, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class OpenSection(BaseModel):
    """A section whose other keys are the registered class's own (checked in ``checks.py``)."""

    model_config = ConfigDict(extra="allow", strict=True)


class RandomCropConfig(Section):
    padding: NonNegativeInt = 4


class CutoutConfig(Section):
    size: PositiveInt


class AugmentConfig(Section):
    """``data.augment``: training-batch augmentation (``layernet.data.augment``)."""

    random_crop: Optional[RandomCropConfig] = None
    horizontal_flip: StrictBool = False
    cutout: Optional[CutoutConfig] = None


class DataConfig(Section):
    dataset: StrictStr
    root: Optional[StrictStr] = None
    download: StrictBool = False
    val_size: ValSize = 0
    normalize: Literal["none", "scale", "standard"] = "none"
    limit: Optional[PositiveInt] = None
    # npz options
    path: Optional[StrictStr] = None
    num_classes: Optional[PositiveInt] = None
    class_names: Optional[list[StrictStr]] = None
    # spiral options
    classes: Optional[StrictInt] = None
    points_per_class: Optional[StrictInt] = None
    noise: Optional[Number] = None
    # text option
    seq_len: Optional[PositiveInt] = None
    # images as sequences (N, H, C*W), row by row, for recurrent models
    sequence: Optional[Literal["rows"]] = None
    # training-batch augmentation of images
    augment: Optional[AugmentConfig] = None


#: The keys of ``data`` that are options of one data set rather than of ``load_dataset``.
DATASET_OPTIONS = ("path", "num_classes", "class_names", "classes", "points_per_class", "noise", "seq_len")


class ModelConfig(Section):
    layers: Annotated[list[Any], _expect("a non-empty list of layers", lambda v: len(v) > 0)]
    # a registered loss's name, or {type: <name>, <its arguments>}: checked in checks.check_loss
    loss: Annotated[Any, _expect("a loss name or a mapping such as {type: hinge, margin: 0.5}",
                                 lambda v: isinstance(v, (str, dict)))] = "softmax_cross_entropy"


class OptimizerConfig(OpenSection):
    type: StrictStr
    lr: PositiveNumber


class ScheduleConfig(OpenSection):
    type: StrictStr = "constant"


class EarlyStoppingConfig(Section):
    monitor: Monitor = "val_acc"
    patience: PositiveInt = 5
    mode: Literal["auto", "min", "max"] = "auto"
    min_delta: NonNegativeNumber = 0.0


class TrainerConfig(Section):
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    drop_last: StrictBool = False
    early_stopping: Optional[EarlyStoppingConfig] = None
    verbose: Literal["auto", "bar", "epoch", "quiet"] = "auto"
    clip_grad_norm: Optional[PositiveNumber] = None
    # metric names (checks.check_metrics) and callbacks: a name or {type: <name>, <its arguments>} (checks.check_callbacks)
    metrics: list[Any] = Field(default_factory=lambda: ["accuracy"])
    callbacks: list[Any] = Field(default_factory=list)


class CheckpointConfig(Section):
    every_epochs: PositiveInt = 1
    keep_best: StrictBool = True
    monitor: Monitor = "val_acc"


class OutputConfig(Section):
    dir: StrictStr = "runs/{name}/{timestamp}"
    plots: StrictBool = True
    tensorboard: StrictBool = False  # event files in RUN_DIR/tensorboard (needs the tensorboard extra)
    histograms_every: NonNegativeInt = 1  # weight/gradient histograms every N epochs (0: none)


class RunConfig(Section):
    """A validated run config; ``model_dump()`` is the resolved dict the trainer reads."""

    version: Literal[1] = 1
    name: Name
    seed: NonNegativeInt = 0
    data: DataConfig
    model: ModelConfig
    optimizer: OptimizerConfig
    lr_schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    #: Where each path came from (file lines, overrides), for later messages such as shape errors.
    _locator: Any = PrivateAttr(default=None)


#: The section model at each fixed path (for "did you mean" on unknown keys and for overrides).
SECTIONS: dict[tuple, type[BaseModel]] = {
    (): RunConfig,
    ("data",): DataConfig,
    ("data", "augment"): AugmentConfig,
    ("data", "augment", "random_crop"): RandomCropConfig,
    ("data", "augment", "cutout"): CutoutConfig,
    ("model",): ModelConfig,
    ("optimizer",): OptimizerConfig,
    ("lr_schedule",): ScheduleConfig,
    ("trainer",): TrainerConfig,
    ("trainer", "early_stopping"): EarlyStoppingConfig,
    ("checkpoint",): CheckpointConfig,
    ("output",): OutputConfig,
}


def section_name(path: tuple) -> str:
    return ".".join(str(p) for p in path) or "the config"
