"""`distill export RUN_DIR`: write the accepted records as parquet (and a `datasets` folder)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write a run's accepted records as parquet / a datasets folder",
                       description="Load RUN_DIR/data.jsonl with `datasets` and write RUN_DIR/data.parquet "
                                   "(or --to PATH), and with --save-to-disk a `datasets` folder.")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--to", type=Path, help="output file, .parquet or .jsonl (default RUN_DIR/data.parquet)")
    p.add_argument("--format", default=None, choices=["messages", "alpaca", "sharegpt", "preference"],
                   help="messages (chat, TRL-ready), alpaca, sharegpt, or preference (prompt/chosen/rejected); "
                        "default: all columns as in data.jsonl")
    p.add_argument("--save-to-disk", type=Path, help="also write a datasets.save_to_disk folder here")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from distill.errors import InputError

    if args.format:
        from distill.publish.formats import write

        target = args.to or args.run_dir / f"{args.format}.parquet"
        print(f"wrote {target} ({write(args.run_dir, args.format, target)} rows, format {args.format})")
        if args.save_to_disk:  # the same rows as a datasets folder
            import datasets

            from distill.publish.formats import rows

            datasets.Dataset.from_list(list(rows(args.run_dir, args.format))).save_to_disk(str(args.save_to_disk))
            print(f"wrote {args.save_to_disk} (a datasets folder, format {args.format})")
        return 0
    data = args.run_dir / "data.jsonl"
    if not data.exists():
        raise InputError(f"{args.run_dir}: no data.jsonl (is it a finished run folder?)")
    from distill.publish.formats import require_records

    require_records(args.run_dir, "messages")
    import datasets

    ds = datasets.load_dataset("json", data_files=str(data), split="train")
    target = args.to or args.run_dir / "data.parquet"
    ds.to_parquet(str(target))
    print(f"wrote {target} ({len(ds)} rows, columns: {', '.join(ds.column_names)})")
    if args.save_to_disk:
        ds.save_to_disk(str(args.save_to_disk))
        print(f"wrote {args.save_to_disk}")
    return 0
