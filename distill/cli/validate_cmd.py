"""`distill validate RECIPE.yaml`: the same checks `distill run` makes before it calls anyone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="check a recipe YAML, its options and its input files",
                       description="Check a recipe YAML exactly as `distill run` does before calling the teacher: "
                                   "keys and types, recipe options, and every input row. Prints the allowed keys "
                                   "with --schema.")
    p.add_argument("recipe", type=Path, nargs="?", help="recipe YAML file")
    p.add_argument("--schema", action="store_true", help="print the JSON schema of the run config and exit")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json

    from distill.config import RunConfig, load_config
    from distill.errors import InputError
    from distill.run.runner import check_inputs, out_dir, validate_options

    if args.schema:
        print(json.dumps(RunConfig.model_json_schema(), indent=2))
        return 0
    if args.recipe is None:
        raise InputError("validate: give a recipe YAML file (or --schema)")
    cfg, src = load_config(args.recipe)
    validate_options(cfg, src)
    rows = check_inputs(cfg)
    print(f"{args.recipe}: ok | recipe {cfg.recipe} | teacher {cfg.teacher.label()}"
          + (f" | {rows} input rows" if rows is not None else "") + f" | out {out_dir(cfg)}")
    return 0
