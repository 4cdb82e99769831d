"""`distill recipes`: the recipes distill knows and the ready-to-run YAML files shipped with it."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("recipes", help="list recipes, one line each",
                       description="List the built-in recipes and the ready-to-run recipe YAML files.")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pathlib import Path

    from distill.recipes.registry import SUMMARIES

    for name, summary in sorted(SUMMARIES.items()):
        print(f"{name:16} {summary}")
    here = Path(__file__).resolve().parents[1]
    for folder in (here / "_data" / "recipes", here.parent / "recipes"):
        if folder.is_dir():
            files = sorted(folder.glob("*.yaml"))
            if files:
                print(f"\nready-to-run configs in {folder}:")
                for f in files:
                    print(f"  {f.name}")
            break
    return 0
