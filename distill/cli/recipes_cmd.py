"""`distill recipes [NAME]`: the recipes distill knows, the ready-to-run YAML files, and one recipe's options
(type, default, meaning) and the templates you can replace."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("recipes", help="list recipes; with NAME, that recipe's options and templates",
                       description="List the recipes (built-in, and plugins of the `distill.recipes` entry-point "
                                   "group) and the ready-to-run recipe YAML files. With a NAME (one of those, or "
                                   "your own module:Class), show its options with types and defaults "
                                   "and the prompt templates a recipe YAML may replace under `prompts:`.")
    p.add_argument("name", nargs="?", help="a recipe name, e.g. self_instruct")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.name:
        print(describe(args.name))
        return 0
    from pathlib import Path

    from distill.recipes.base import summary_of
    from distill.recipes.registry import loaded

    classes, unusable = loaded()
    lines = {name: summary_of(cls) for name, cls in classes.items()} | {k: f"({v})" for k, v in unusable.items()}
    for name, summary in sorted(lines.items()):
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
    print("\n`distill recipes NAME` shows a recipe's options and templates.")
    return 0


def describe(name: str) -> str:
    import inspect

    from pydantic import BaseModel

    from distill.prompts import prompts_dir, variables_of
    from distill.recipes.base import summary_of
    from distill.recipes.registry import recipe_class

    cls = recipe_class(name)
    doc = inspect.getdoc(inspect.getmodule(cls)) or inspect.getdoc(cls) or ""
    lines = [f"{name}: {summary_of(cls)}", ""]
    if doc:
        lines += [doc.split("\n\n")[0], ""]
    fields = cls.Options.model_fields
    lines.append("options (under `options:` in the recipe YAML):" if fields else "options: none")
    for key, field in fields.items():
        ann = field.annotation
        kind = ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "")
        default_value = None if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(default_value, BaseModel):
            default_value = default_value.model_dump(exclude_none=True)
        default = "required" if field.is_required() else repr(default_value)
        lines.append(f"  {key}: {kind} = {default}" + (f"\n      {field.description}" if field.description else ""))
    folder = prompts_dir() / name
    templates = sorted(folder.glob("*.j2")) if folder.is_dir() else []
    if templates:
        lines += ["", "templates (replace one with `prompts: {NAME: my_file.j2}`; the variables it may use):"]
        for t in templates:
            rel = f"{name}/{t.name}"
            lines.append(f"  {rel}: {', '.join(sorted(variables_of(rel))) or '(none)'}")
    return "\n".join(lines)
