"""Checks of a raw config against the registries: layer types and arguments, optimizer, schedule,
loss and data set names and options.

Every function returns a list of problems ``(path, text)`` (see ``errors.py``) and never raises for
bad input: a value of the wrong shape is skipped here because the schema already reports it.
Argument *values* (``kernel_size: 0``, ``momentum: 1.5``) are checked by building the object, so
the registered class's own validation is the single source of truth; inferred arguments
(``in_features`` ...) that the config leaves out are filled with a placeholder 1 for that build.
"""

from __future__ import annotations

import difflib
import inspect

from ..registry import DATASETS, LAYERS, LOSSES, OPTIMIZERS, SCHEDULES
from .errors import Problem, describe, unknown_key, unknown_name
from .schema import DATASET_OPTIONS, OptimizerConfig, ScheduleConfig

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
#: Constructor arguments that the trainer supplies rather than the config, and the field each comes from.
_SCHEDULE_SOURCES = {"base_lr": ("optimizer", "lr"), "epochs": ("trainer", "epochs")}
_SCHEDULE_SUPPLIED = tuple(_SCHEDULE_SOURCES)


def constructor_params(cls) -> list[inspect.Parameter]:
    """The named parameters of ``cls.__init__`` (no self, no *args/**kwargs)."""
    return [p for p in inspect.signature(cls.__init__).parameters.values() if p.kind in _NAMED and p.name != "self"]


def _is_residual(cls) -> bool:
    from ..layers.residual import Residual

    return issubclass(cls, Residual)


def _is_concat(cls) -> bool:
    from ..layers.concat import Concat

    return issubclass(cls, Concat)


# ------------------------------------------------------------------ keys each place takes
def layer_keys(type_name) -> set[str] | None:
    """Keys a layer entry of this type may have (None if the type is unknown)."""
    if not isinstance(type_name, str) or type_name not in LAYERS:
        return None
    cls = LAYERS.get(type_name)
    if _is_residual(cls):
        return {"type", "layers", "shortcut"}
    if _is_concat(cls):
        return {"type", "branches", "axis"}
    return {"type"} | {p.name for p in cls._init_signature() if p.name not in cls._not_config}


def optimizer_params(type_name) -> list[inspect.Parameter] | None:
    if not isinstance(type_name, str) or type_name not in OPTIMIZERS:
        return None
    return constructor_params(OPTIMIZERS.get(type_name))


def schedule_params(type_name) -> list[inspect.Parameter] | None:
    if not isinstance(type_name, str) or type_name not in SCHEDULES:
        return None
    return [p for p in constructor_params(SCHEDULES.get(type_name)) if p.name not in _SCHEDULE_SUPPLIED]


def dataset_options(name) -> list[str] | None:
    if not isinstance(name, str) or name not in DATASETS:
        return None
    return [p.name for p in constructor_params(DATASETS.get(name))]


def open_section_keys(path: tuple, raw: dict) -> set[str] | None:
    """Keys allowed at a path whose keys depend on a registered type (layers, optimizer, schedule)."""
    if path == ("optimizer",):
        params = optimizer_params(_get(raw, path + ("type",)))
        return None if params is None else set(OptimizerConfig.model_fields) | {p.name for p in params}
    if path == ("lr_schedule",):
        params = schedule_params(_get(raw, path + ("type",), "constant"))
        return None if params is None else set(ScheduleConfig.model_fields) | {p.name for p in params}
    if len(path) >= 3 and path[:2] == ("model", "layers") and isinstance(path[-1], int):
        return layer_keys(_get(raw, path + ("type",)))
    return None


def _get(raw, path, default=None):
    node = raw
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return default
    return node


# ------------------------------------------------------------------ building to check values
def _try_build(build, path: tuple, keys, sources=None) -> list[tuple]:
    """Run ``build()``; a ValueError/TypeError becomes a problem at the key its message names.

    ``sources`` maps a key whose value was taken from another field to that field's path: a
    problem at such a key is derived from that field (dropped when the field fails itself).
    """
    sources = sources or {}
    try:
        build()
    except (ValueError, TypeError) as err:
        text = str(err).splitlines()[0] if str(err) else type(err).__name__
        for key in sorted(keys, key=len, reverse=True):
            if f"`{key}`" in text or f"'{key}'" in text:
                return [Problem(path + (key,), text, [sources[key]] if key in sources else [])]
        return [(path, text)]
    except MemoryError:
        return [(path, "expected sizes that fit in memory, found arguments too large to build")]
    return []


# ------------------------------------------------------------------ sections
def check_layers(layers, path: tuple = ("model", "layers")) -> list[tuple]:
    """Each entry: a mapping with a registered ``type``, known arguments, required ones present, valid values."""
    problems = []
    if not isinstance(layers, list):
        return problems
    for index, entry in enumerate(layers):
        where = path + (index,)
        if not isinstance(entry, dict):
            problems.append((where, f"expected a layer mapping such as {{type: relu}}, found {describe(entry)}"))
            continue
        if "type" not in entry:
            problems.append((where, f"expected a 'type' key naming the layer ({', '.join(LAYERS.names())}), found none"))
            continue
        kind = entry["type"]
        keys = layer_keys(kind)
        if keys is None:
            problems.append((where + ("type",), unknown_name("a layer type", kind, LAYERS.names())))
            continue
        cls = LAYERS.get(kind)
        own = [(where + (key,), unknown_key(key, f"layer '{kind}'", keys)) for key in entry if key not in keys]
        if _is_residual(cls):
            inner = entry.get("layers")
            if not isinstance(inner, list) or not inner:
                own.append((where + ("layers",), f"expected a non-empty list of layers inside residual, found {describe(inner)}"))
            else:
                own += check_layers(inner, where + ("layers",))
            shortcut = entry.get("shortcut")
            if "shortcut" in entry and shortcut is not None:
                if not isinstance(shortcut, list) or not shortcut:
                    own.append((where + ("shortcut",), f"expected a non-empty list of layers (the shortcut path), "
                                                       f"found {describe(shortcut)}"))
                else:
                    own += check_layers(shortcut, where + ("shortcut",))
            problems += own
            continue
        if _is_concat(cls):
            own += _check_branches(entry, where)
            problems += own
            continue
        required = [
            p.name for p in cls._init_signature()
            if p.default is p.empty and p.name not in cls.inferred_args and p.name not in cls._not_config
        ]
        # a misspelt required argument is reported once, as the typo with its "did you mean"
        suggested = {_closest(key, keys) for key in entry if key not in keys}
        missing = [name for name in required if name not in entry and name not in suggested]
        own += [(where, f"expected the required argument '{name}' of {kind}, found no such key") for name in missing]
        if all(name in entry for name in required):
            config = {key: value for key, value in entry.items() if key in keys}  # unknown keys are reported above
            for name in cls.inferred_args:
                placeholder = getattr(cls, "config_placeholder", None)
                config.setdefault(name, placeholder(name, config) if placeholder else 1)
            own += _try_build(lambda: cls.from_config(config), where, keys)
        problems += own
    return problems


def _check_branches(entry: dict, where: tuple) -> list[tuple]:
    """A concat entry: ``branches`` a non-empty list of non-empty layer lists; ``axis`` a non-zero int."""
    branches = entry.get("branches")
    if not isinstance(branches, list) or not branches:
        return [(where + ("branches",), f"expected a non-empty list of branches (each a list of layers), "
                                        f"found {describe(branches)}")]
    problems = []
    for b, branch in enumerate(branches):
        if not isinstance(branch, list) or not branch:
            problems.append((where + ("branches", b), f"expected a non-empty list of layers, found {describe(branch)}"))
        else:
            problems += check_layers(branch, where + ("branches", b))
    axis = entry.get("axis", 1)
    if not isinstance(axis, int) or isinstance(axis, bool) or axis == 0:
        problems.append((where + ("axis",), f"expected a non-zero int (1 is the channel axis), found {describe(axis)}"))
    return problems


def _check_open_section(path: tuple, section: dict, registry, kind: str, params, fixed: dict,
                        sources=None) -> list[tuple]:
    """Optimizer, schedule or loss: known type, known keys, values accepted by the constructor.

    ``fixed`` holds arguments the config does not set here; ``sources`` where they come from.
    """
    name = section.get("type", fixed.get("type"))
    if params is None:
        if isinstance(name, str):  # a non-string type is reported by the schema
            return [(path + ("type",), unknown_name(kind, name, registry.names()))]
        return []
    listed = {"type"} | {p.name for p in params} | (set(fixed) - set(_SCHEDULE_SUPPLIED))
    keys = listed | set(fixed)
    problems = [(path + (key,), unknown_key(key, f"{'.'.join(path)} '{name}'", listed)) for key in section if key not in keys]
    kwargs = {k: v for k, v in section.items() if k in keys and k != "type"}  # unknown keys are reported above
    kwargs.update({k: v for k, v in fixed.items() if k != "type"})
    return problems + _try_build(lambda: registry.get(name)(**kwargs), path, keys, sources)


def check_optimizer(section) -> list[tuple]:
    if not isinstance(section, dict):
        return []
    lr = section.get("lr")
    fixed = {"lr": lr if _positive_number(lr) else 1.0}  # a bad lr is the schema's to report
    return _check_open_section(("optimizer",), section, OPTIMIZERS, "an optimizer",
                               optimizer_params(section.get("type")), fixed)


def check_schedule(section, lr, epochs) -> list[tuple]:
    """The schedule section, built with ``lr`` (optimizer.lr) and ``epochs`` (trainer.epochs) as given.

    A complaint about those two is derived from their fields, so a bad ``trainer.epochs`` is
    reported once, at ``trainer.epochs``, not again at a ``lr_schedule.epochs`` nobody wrote.
    """
    if not isinstance(section, dict):
        return []
    fixed = {"type": "constant", "base_lr": lr, "epochs": epochs}
    params = schedule_params(section.get("type", "constant"))
    problems = _check_open_section(("lr_schedule",), section, SCHEDULES, "an lr schedule", params, fixed,
                                   _SCHEDULE_SOURCES)
    # base_lr/epochs come from optimizer.lr and trainer.epochs: say so rather than "unknown key"
    for key in _SCHEDULE_SUPPLIED:
        if key in section:
            source = "optimizer.lr" if key == "base_lr" else "trainer.epochs"
            problems = [p for p in problems if p[0] != ("lr_schedule", key)]
            problems.append((("lr_schedule", key), f"expected no '{key}' here (it is taken from {source}), found {describe(section[key])}"))
    return problems


def loss_params(type_name) -> list[inspect.Parameter] | None:
    if not isinstance(type_name, str) or type_name not in LOSSES:
        return None
    return constructor_params(LOSSES.get(type_name))


def check_loss(loss) -> list[tuple]:
    """A registered loss name, or a mapping with a registered ``type`` and that loss's arguments."""
    path = ("model", "loss")
    if isinstance(loss, str):
        return [] if loss in LOSSES else [(path, unknown_name("a loss", loss, LOSSES.names()))]
    if not isinstance(loss, dict):  # the schema reports the type
        return []
    if "type" not in loss:
        return [(path, f"expected a 'type' key naming the loss ({', '.join(LOSSES.names())}), found none")]
    if not isinstance(loss["type"], str):
        return [(path + ("type",), f"expected a loss name, found {describe(loss['type'])}")]
    return _check_open_section(path, loss, LOSSES, "a loss", loss_params(loss["type"]), {})


def check_data(section) -> list[tuple]:
    """The data set is registered; its options (spiral's, npz's) are ones it takes, with valid values."""
    if not isinstance(section, dict) or not isinstance(section.get("dataset"), str):
        return []
    name = section["dataset"]
    accepted = dataset_options(name)
    if accepted is None:
        return [(("data", "dataset"), unknown_name("a dataset", name, DATASETS.names()))]
    given = {k: section[k] for k in DATASET_OPTIONS if section.get(k) is not None}
    takes = f"it takes: {', '.join(accepted)}" if accepted else "it takes none"
    problems = [
        (("data", key), f"expected an option of dataset '{name}' ({takes}), found {key}: {describe(value)}")
        for key, value in given.items() if key not in accepted
    ]
    if not problems:
        problems += _try_build(lambda: DATASETS.get(name)(**given), ("data",), accepted)
    return problems


def _closest(key, choices):
    close = difflib.get_close_matches(str(key), sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _positive_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")


def check_metrics(names) -> list[tuple]:
    """``trainer.metrics``: each a known metric name (``layernet.metrics.METRICS``)."""
    from ..metrics import METRICS

    if not isinstance(names, list):
        return []  # the schema reports the type
    return [(("trainer", "metrics", i), unknown_name("a metric", name, METRICS)) for i, name in enumerate(names)
            if not isinstance(name, str) or name not in METRICS]


def check_callbacks(entries, output) -> list[tuple]:
    """``trainer.callbacks``: each a known callback name or ``{type: name, <its config_keys>}`` with valid
    values; TensorBoard (here or ``output.tensorboard: true``) needs tensorboardX installed."""
    from ..callbacks import CALLBACKS
    from ..callbacks.tensorboard import INSTALL_HINT, tensorboardx_installed

    problems, wants_tensorboard = [], isinstance(output, dict) and output.get("tensorboard") is True
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        where = ("trainer", "callbacks", i)
        name, args = (entry, {}) if isinstance(entry, str) else (
            (entry.get("type"), {k: v for k, v in entry.items() if k != "type"}) if isinstance(entry, dict) else (None, {}))
        if name is None and not isinstance(entry, str):
            problems.append((where, f"expected a callback name or a mapping {{type: <name>, ...}} "
                                    f"({', '.join(CALLBACKS)}), found {describe(entry)}"))
            continue
        if not isinstance(name, str) or name not in CALLBACKS:
            problems.append((where + (("type",) if isinstance(entry, dict) else ()),
                             unknown_name("a callback", name, CALLBACKS)))
            continue
        cls = CALLBACKS[name]
        keys = set(cls.config_keys)
        problems += [(where + (key,), unknown_key(key, f"callback '{name}'", keys)) for key in args if key not in keys]
        wants_tensorboard |= name == "tensorboard"
        if name != "tensorboard":
            problems += _try_build(lambda: cls(**{k: v for k, v in args.items() if k in keys}), where, keys)
        elif "histograms_every" in args:
            every = args["histograms_every"]
            if not isinstance(every, int) or isinstance(every, bool) or every < 0:
                problems.append((where + ("histograms_every",), f"expected an int >= 0, found {describe(every)}"))
    if wants_tensorboard and not tensorboardx_installed():
        path = ("output", "tensorboard") if isinstance(output, dict) and output.get("tensorboard") is True else \
            ("trainer", "callbacks")
        problems.append((path, f"expected the tensorboardX package for TensorBoard logging, found it not installed; "
                               f"{INSTALL_HINT}"))
    return problems


def check_registered(raw: dict) -> list[tuple]:
    """All registry checks of a raw config mapping."""
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    optimizer = raw.get("optimizer")
    trainer = raw.get("trainer") if isinstance(raw.get("trainer"), dict) else {}
    lr = optimizer.get("lr") if isinstance(optimizer, dict) else None
    return [
        *check_data(raw.get("data")),
        *check_layers(model.get("layers")),
        *check_loss(model.get("loss")),
        *check_optimizer(optimizer),
        *check_schedule(raw.get("lr_schedule", {}), lr, trainer.get("epochs", 10)),
        *check_metrics(trainer.get("metrics", [])),
        *check_callbacks(trainer.get("callbacks", []), raw.get("output")),
    ]


def fill_component_defaults(raw: dict) -> None:
    """Write the optimizer's and schedule's default arguments into ``raw`` (for a self-contained record)."""
    for path, params in (
        (("optimizer",), optimizer_params(_get(raw, ("optimizer", "type")))),
        (("lr_schedule",), schedule_params(_get(raw, ("lr_schedule", "type"), "constant"))),
    ):
        section = raw.get(path[0])
        if params is None or not isinstance(section, dict):
            continue
        for p in params:
            if p.default is not p.empty:
                section.setdefault(p.name, p.default)
