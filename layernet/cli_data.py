"""``layernet data path|verify|download DATASET``: where a data set's files go, whether they are usable,
fetching them. Its parser is set up in ``layernet.cli.build_parser``.
"""

from __future__ import annotations

import sys

from .cli import EXIT_FAILED, EXIT_OK


def cmd_data(args) -> int:
    from .data import dataset_files, download_dataset, missing_hint, verify

    options = {} if args.path is None else {"path": args.path}
    if args.action == "path":
        files = dataset_files(args.dataset, args.root, **options)
        if not files:
            print(f"{args.dataset}: no files needed (embedded in the package, generated, or named by data.path)")
        for path in files:
            print(path)
        return EXIT_OK
    if args.action == "download":
        print(f"layernet data download: fetching what is missing of {args.dataset} (MD5-checked)", file=sys.stderr)
        fetched = download_dataset(args.dataset, args.root, **options)
        for path in fetched:
            print(path)
        if not fetched:
            print(f"layernet data download: nothing to fetch: every file of {args.dataset} is there "
                  f"(or it needs none)", file=sys.stderr)
        return EXIT_OK
    checks = verify(args.dataset, args.root, **options)
    for check in checks:
        print(f"{'ok' if check.ok else 'FAIL':<4}  {check.path}: {check.detail}")
    hint = missing_hint(args.dataset, args.root, **options)
    if hint is not None:
        print(f"layernet data verify: {hint}", file=sys.stderr)
    return EXIT_OK if all(check.ok for check in checks) else EXIT_FAILED
