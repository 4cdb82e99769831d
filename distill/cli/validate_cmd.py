"""`distill validate RECIPE.yaml [...]`: the same checks `distill run` makes before it calls anyone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from distill.overrides import add_override_flags, parse_sets


def add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="check recipe YAMLs, their options, input files and API keys",
                       description="Check recipe YAMLs exactly as `distill run` does before calling the teacher: "
                                   "keys and types, recipe options, every input row, and that each hosted model's "
                                   "API key variable is set. Prints the allowed keys with --schema.")
    p.add_argument("recipes", type=Path, nargs="*", help="recipe YAML files")
    p.add_argument("--schema", action="store_true", help="print the JSON schema of the run config and exit")
    add_override_flags(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import json
    import sys

    from distill.errors import InputError
    from distill.redact import redact_text, strip_controls

    if args.schema:
        print(json.dumps(full_schema(), indent=2))
        return 0
    if not args.recipes:
        raise InputError("validate: give one or more recipe YAML files (or --schema)")
    failed = 0
    for path in args.recipes:
        try:
            print(_check(path, args))
        except InputError as exc:
            failed += 1
            print(f"error: {redact_text(strip_controls(str(exc)))}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(args.recipes)} recipe file(s) failed", file=sys.stderr)
    return 2 if failed else 0


def _check(path: Path, args: argparse.Namespace) -> str:
    from distill.config import check_api_keys, load_config
    from distill.run.runner import check_inputs, out_dir, validate_options

    cfg, src = load_config(path, sets=parse_sets(args))
    validate_options(cfg, src)
    rows = check_inputs(cfg)
    from distill.run.folder import check_folder

    check_folder(out_dir(cfg))  # a folder distill may not write into is refused here, as by `run`
    check_api_keys(cfg, src)  # an unset key variable fails here, not at the first call
    return (f"{path}: ok | recipe {cfg.recipe} | teacher {cfg.teacher.label()}"
            + (f" | {rows} input rows" if rows is not None else "") + f" | out {out_dir(cfg)}")


def full_schema() -> dict[str, Any]:
    """The run config's JSON schema, with each registered recipe's `options` spelled out (types, defaults)."""
    from distill.config import RunConfig
    from distill.recipes.registry import loaded

    schema = RunConfig.model_json_schema()
    schema["properties"]["options"]["description"] = (
        "the recipe's own options: see x-recipe-options[recipe] (or `distill recipes NAME`)")
    classes, unusable = loaded()
    schema["x-recipe-options"] = {name: cls.Options.model_json_schema() for name, cls in classes.items()}
    if unusable:
        schema["x-unusable-recipes"] = unusable
    from distill.providers.registry import spec_classes

    schema["$defs"]["ProviderSpec"]["description"] = (
        "the keys every provider takes; each provider's own keys: see x-provider-options[provider]")
    schema["x-provider-options"] = {name: cls.model_json_schema() for name, cls in spec_classes().items()}
    return schema
