"""`distill estimate RECIPE.yaml --pilot K`: run the first K items for real and predict the run's cost and time
(run/pilot.py). `distill run RECIPE.yaml --dry-run --pilot K` does the same."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from distill.cli.run_cmd import EXECUTOR_HELP
from distill.overrides import add_override_flags, parse_sets


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "estimate", help="run a pilot of K items and predict the run's cost and time",
        description="Run the first K items of a recipe for real, through the run folder's cache (the run reuses "
                    "their answers at no cost), measure the acceptance rate per stage, tokens and seconds per call "
                    "per role, and predict the cost (immediate and batch prices) and time to reach --target "
                    "accepted records (or --num items, or every input row), with a 95% interval.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  distill estimate recipes/respond.yaml --pilot 20 --target 500\n"
               "  distill estimate recipes/respond.yaml --pilot 50 --teacher openai:gpt-4o-mini --num 10000\n"
               "\n"
               "exit codes: 0 done; 1 the teacher failed; 2 bad input; 4 the budget was reached; 130 interrupted.")
    p.add_argument("recipe", type=Path, help="recipe YAML file (see `distill recipes`)")
    p.add_argument("--pilot", type=int, required=True, metavar="K", help="items to run for real (e.g. 20)")
    p.add_argument("--target", type=int, metavar="N", help="accepted records the run will aim at (`target:`)")
    p.add_argument("--num", type=int, help="items the run will use or make (`num:`)")
    p.add_argument("--teacher", help="override the teacher: local | openai:MODEL | openai:MODEL@BASE_URL")
    p.add_argument("--judge", help="override the judge model, same forms as --teacher")
    p.add_argument("--input", help="override input.path (a JSONL file or a datasets dataset)")
    p.add_argument("--field", help="override input.field: the column holding the instruction")
    p.add_argument("--out", help="run folder (default outputs/<name>): the one the run will use")
    p.add_argument("--seed", type=int, help="random seed (default from the recipe, else 0)")
    p.add_argument("--executor", metavar="NAME", help=EXECUTOR_HELP)
    p.add_argument("--max-cost", type=float, metavar="USD", help="the budget, as for `distill run`")
    p.add_argument("--max-tokens-total", type=int, metavar="N", help="the tokens budget, as for `distill run`")
    p.add_argument("--overwrite", action="store_true", help="as for `distill run`")
    p.add_argument("--no-progress", action="store_true", help="no live display and no periodic log lines")
    add_override_flags(p)
    p.set_defaults(handler=handle, no_report=True)


def handle(args: argparse.Namespace) -> int:
    from distill.cli.run_cmd import overrides, run_pilot
    from distill.config import load_config
    from distill.yaml_source import YamlSource

    raw = YamlSource.load(args.recipe).data
    cfg, src = load_config(args.recipe, overrides(args, raw), parse_sets(args))
    if args.input:
        cfg.input.path = args.input  # type: ignore[union-attr]  # a CLI path is relative to the shell
    return run_pilot(args, cfg, src)
