"""``layernet summary`` and ``layernet gradcheck``: the commands that read a CONFIG and build its model
without training it (``_config_and_shapes`` checks the model against the data's shapes first).

Their parsers are set up in ``layernet.cli.build_parser``.
"""

from __future__ import annotations

import sys

from .cli import EXIT_FAILED, EXIT_OK


def _config_and_shapes(args):
    """The validated config, its resolved dict, the data's per-example input shape and class count, and
    the per-example label shape (() for a class per example, (T,) for text).

    The shapes are constants for mnist, fashion_mnist, cifar10, digits and spiral, so no file is
    read (``summary`` and ``gradcheck`` work before a download); only npz reads its file. The
    model's shapes and the augmentation are checked against them.
    """
    from .config import check_augment, check_model_shapes, load_config
    from .config.schema import DATASET_OPTIONS
    from .data import known_shapes

    config = load_config(args.config, args.overrides)
    resolved = config.model_dump()
    data = resolved["data"]
    shapes = known_shapes(data["dataset"], **{k: data[k] for k in DATASET_OPTIONS if data.get(k) is not None})
    label_shape = ()
    if shapes is None:
        from .runner import load_run_data

        dataset = load_run_data(resolved)
        if dataset.vocabulary is not None:  # text: embedding and output sizes default to the vocabulary's
            from .data.text import fill_vocabulary_sizes

            for layers in (config.model.layers, resolved["model"]["layers"]):
                fill_vocabulary_sizes(layers, len(dataset.vocabulary))
        shapes, label_shape = (dataset.input_shape, dataset.num_classes), dataset.label_shape
    elif data.get("sequence") is not None:  # images read row by row: (C, H, W) -> (H, C*W)
        from .data.prepare import sequence_shape

        shapes = sequence_shape(shapes[0], data["sequence"]), shapes[1]
    input_shape, num_classes = shapes
    check_model_shapes(config, input_shape, num_classes=num_classes, label_shape=label_shape)
    check_augment(config, input_shape)
    return config, resolved, input_shape, num_classes, label_shape


def cmd_summary(args) -> int:
    from .model import Sequential

    _, resolved, input_shape, num_classes, _ = _config_and_shapes(args)
    model = Sequential.from_config(resolved["model"], input_shape=input_shape, rng=resolved["seed"])
    print(f"{resolved['name']}: data '{resolved['data']['dataset']}', {num_classes} classes, loss {resolved['model']['loss']}")
    model.summary(input_shape)
    return EXIT_OK


def cmd_gradcheck(args) -> int:
    import numpy as np

    from .gradcheck import BAD, VERDICT_LEGEND, gradcheck_report, random_input, verdict
    from .losses import make_loss
    from .model import Sequential

    _, resolved, input_shape, num_classes, label_shape = _config_and_shapes(args)
    # Random inputs of the data's shape, not real examples: flat image backgrounds make max-pool
    # windows tie, where a finite difference measures nothing meaningful.
    rng = np.random.default_rng(args.seed)
    model = Sequential.from_config(resolved["model"], input_shape=input_shape, rng=resolved["seed"])
    x = random_input(model[0], rng, (args.batch_size, *input_shape))  # valid indices for an Embedding
    y = rng.integers(0, num_classes, size=(args.batch_size, *label_shape))
    model.astype(np.float64)
    loss = make_loss(resolved["model"]["loss"])
    report = gradcheck_report(model, loss, x, y, samples=args.samples, seed=args.seed)

    rows = [(group, name, error, getattr(errors, "skipped", {}).get(name, 0))
            for group, errors in report.items() for name, error in errors.items()]
    width = max(len(group) for group, *_ in rows)
    sampled = "every element" if args.samples == 0 else f"{args.samples} elements per array"
    print(f"gradient check of '{resolved['name']}' in float64: {args.batch_size} random inputs of shape "
          f"{tuple(input_shape)}")
    print(f"layers: every element, model: {sampled}")
    print(f"{'layer':<{width}}  {'array':<10}  {'rel. error':>10}  verdict")
    failed = 0
    for group, name, error, skipped in rows:
        failed += verdict(error) == "FAIL"
        note = f" ({skipped} unresolved skipped)" if skipped else ""
        print(f"{group:<{width}}  {name:<10}  {error:>10.2e}  {verdict(error)}{note}")
    print(VERDICT_LEGEND)
    if args.plot:
        from .plot import gradcheck_command

        print(f"plot: {gradcheck_command(report, args.plot, title=resolved['name'])}")
    if failed:
        print(f"layernet gradcheck: {failed} gradient(s) with a relative error above {BAD:g}", file=sys.stderr)
        return EXIT_FAILED
    print(f"all {len(rows)} gradients within {BAD:g}")
    return EXIT_OK
