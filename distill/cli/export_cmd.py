"""`distill export RUN_DIR`: write the accepted records as parquet (and a `datasets` folder).

Files inside the run folder are distill's own and are replaced freely. Outside it, export writes only what it is
told to and never replaces what it did not write: an existing `--to` file, or a `--save-to-disk` folder that is
neither empty nor an earlier `datasets` save, is refused (exit 2, nothing written) unless `--overwrite` is given.
"""

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
    p.add_argument("--format", default=None, choices=["messages", "alpaca", "sharegpt", "preference",
                                                      "think_inline", "reasoning_content", "thinking"],
                   help="messages (chat, TRL-ready), alpaca, sharegpt, or preference (prompt/chosen/rejected); "
                        "with thinking: think_inline (<think>...</think> then the answer, Qwen3 / DeepSeek-R1), "
                        "reasoning_content or thinking (a field of the assistant message); "
                        "default: all columns as in data.jsonl")
    p.add_argument("--save-to-disk", type=Path, help="also write a datasets.save_to_disk folder here")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --to file or --save-to-disk folder outside the run folder")
    p.set_defaults(handler=handle)


RUN_FILES = frozenset({"data.jsonl", "rejected.jsonl", "failed.jsonl", "pairs.jsonl", "manifest.json",
                       "cache.sqlite", "README.md", ".distill-run", ".lock"})


def check_targets(args: argparse.Namespace) -> None:
    """Refuse, before writing anything, to replace a file or fill a folder that distill did not write."""
    from distill.errors import InputError
    from distill.run.folder import is_run_folder

    to = args.to or args.run_dir / (f"{args.format}.parquet" if args.format else "data.parquet")
    inside = to.resolve().parent == args.run_dir.resolve() and is_run_folder(args.run_dir)
    if inside and to.name in RUN_FILES:
        raise InputError(f"--to {to} would replace the run's own {to.name}; choose another name")
    if to.exists() and not inside:
        if to.is_dir():
            raise InputError(f"--to {to} is a folder; give a .parquet or .jsonl file name")
        if not args.overwrite:
            raise InputError(f"{to} already exists and is not in a distill run folder; distill does not replace a "
                             "file it did not write. Choose another --to, or pass --overwrite.")
    if to.suffix not in (".parquet", ".jsonl"):
        raise InputError(f"--to {to}: choose a .parquet or .jsonl file name")
    disk = args.save_to_disk
    if disk is not None and disk.exists() and not args.overwrite:
        if not disk.is_dir():
            raise InputError(f"--save-to-disk {disk} is a file; give a new or empty folder")
        names = {p.name for p in disk.iterdir()}
        saved = {"state.json", "dataset_info.json"} <= names and all(
            n in ("state.json", "dataset_info.json") or (n.startswith("data-") and n.endswith(".arrow"))
            for n in names)
        if names and not saved:
            raise InputError(f"--save-to-disk {disk} is not empty and holds no earlier `datasets` save; distill "
                             "does not write into a folder holding other files. Give a new or empty folder, or "
                             "pass --overwrite.")


def handle(args: argparse.Namespace) -> int:
    from distill.errors import InputError

    check_targets(args)
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
    tmp = target.with_name(target.name + ".tmp")
    try:
        if target.suffix == ".jsonl":
            ds.to_json(str(tmp))
        else:
            ds.to_parquet(str(tmp))
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves no half file behind
    print(f"wrote {target} ({len(ds)} rows, columns: {', '.join(ds.column_names)})")
    if args.save_to_disk:
        ds.save_to_disk(str(args.save_to_disk))
        print(f"wrote {args.save_to_disk}")
    return 0
