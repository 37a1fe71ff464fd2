"""Run configs: YAML -> validated ``RunConfig`` -> the resolved dict the trainer reads.

    from layernet.config import load_config, resolve, check_model_shapes
    config = load_config("configs/quickstart.yaml", ["trainer.epochs=3"])
    resolved = config.model_dump()           # == resolve("configs/quickstart.yaml", [...])
    check_model_shapes(config, (1, 8, 8), num_classes=10)

Every problem is a ``ConfigError`` (a ValueError) whose message has one line per problem,
``file:line: dotted.path: expected ..., found ...``, all problems of a file at once.

One concept per module: ``yaml_lines`` (numbers as numbers, key -> line), ``schema`` (pydantic
sections and defaults), ``checks`` (names and arguments against the registries), ``overrides``
(``key=value`` from the command line), ``paths`` (``data.path`` relative to the config file),
``errors`` (wording and locations), ``load`` (putting them
together) and ``shapes`` (the layer stack against the data's shape). pydantic is imported here
only, never by ``import layernet`` or the layers.
"""

from .errors import ConfigError
from .load import load_config, resolve, to_run_config, validate_text
from .overrides import OverrideError, apply_overrides, parse_override
from .schema import RunConfig
from .shapes import check_augment, check_model_shapes
from .yaml_lines import NumberLoader, load_yaml

__all__ = [
    "ConfigError",
    "NumberLoader",
    "OverrideError",
    "RunConfig",
    "apply_overrides",
    "check_augment",
    "check_model_shapes",
    "load_config",
    "load_yaml",
    "parse_override",
    "resolve",
    "to_run_config",
    "validate_text",
]
