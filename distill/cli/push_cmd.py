"""`distill push RUN_DIR REPO_ID`: publish a finished run to the Hugging Face Hub with a dataset card."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("push", help="push a run folder to the Hugging Face Hub with a dataset card",
                       description="Push RUN_DIR's accepted records (parquet) and a dataset card to a Hub dataset "
                                   "repo. Re-pushing is idempotent; another --config-name is added beside the "
                                   "existing ones. The token comes from HF_TOKEN or the standard token file.")
    p.add_argument("run_dir", type=Path)
    p.add_argument("repo_id", help="NAMESPACE/NAME of the dataset repo (created if missing)")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--config-name", default="default", help="dataset config to add or replace (default: default)")
    p.add_argument("--split", default="train")
    p.add_argument("--format", default="messages", choices=["messages", "alpaca", "sharegpt", "preference",
                                                          "think_inline", "reasoning_content", "thinking"],
                   help="as `distill export --format`; the card says which, and with thinking its token statistics")
    p.add_argument("--license", default="other", help="Hub license id for the card (default: other)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from distill.publish.push import push

    result = push(args.run_dir, args.repo_id, private=args.private, config_name=args.config_name,
                  split=args.split, fmt=args.format, license=args.license)
    print(f"pushed {result.rows} rows to {result.url} (config {args.config_name}, split {args.split})")
    return 0
