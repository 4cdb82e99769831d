"""Command-line overrides of a recipe YAML: `--set dotted.key=value` (repeatable) and short flags for the settings
people change most. Values are read as YAML scalars (`0.2` is a number, `true` a bool, `[a, b]` a list), applied to
the YAML's data before validation, so they are typed and checked exactly like the file — and an error names the
`--set` that caused it rather than a line of the file."""

from __future__ import annotations

from typing import Any

from distill.errors import InputError

# short flag (argparse dest) -> dotted key
SHORT_FLAGS: dict[str, tuple[str, str, type]] = {
    "temperature": ("generation.temperature", "sampling temperature of the teacher", float),
    "max_tokens": ("generation.max_tokens", "longest reply the teacher may write, in tokens", int),
    "max_concurrency": ("teacher.max_concurrency", "teacher requests in flight at once", int),
    "name": ("name", "run name (the folder is outputs/<name> unless --out is given)", str),
}


def add_override_flags(p: Any) -> None:
    p.add_argument("--set", dest="set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config key, e.g. --set teacher.max_concurrency=8 --set options.samples=4 "
                        "(repeatable; values are YAML: numbers, true/false, [lists])")
    for dest, (key, text, kind) in SHORT_FLAGS.items():
        p.add_argument("--" + dest.replace("_", "-"), dest=dest, type=kind, help=f"{text} (= --set {key}=...)")


def parse_sets(args: Any) -> list[tuple[str, Any, str]]:
    """(dotted key, typed value, how the user wrote it) for every --set and short flag given."""
    import yaml  # only when parsing: `distill --help` stays light

    out = []
    for dest, (key, _, _) in SHORT_FLAGS.items():
        value = getattr(args, dest, None)
        if value is not None:
            out.append((key, value, f"--{dest.replace('_', '-')} {value}"))
    for text in getattr(args, "set", None) or []:
        key, eq, raw = text.partition("=")
        key = key.strip()
        if not eq or not key or any(not part for part in key.split(".")):
            raise InputError(f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. generation.temperature=0.2")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out.append((key, value, f"--set {text}"))
    return out


def apply_sets(data: dict[str, Any], sets: list[tuple[str, Any, str]]) -> dict[tuple[str, ...], str]:
    """Write each value into `data` (creating mappings on the way; a short-form provider string becomes its
    mapping first). Returns key path -> the flag, so validation errors can name the flag."""
    from distill.providers.registry import short_form

    origins: dict[tuple[str, ...], str] = {}
    for key, value, flag in sets:
        parts = key.split(".")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if isinstance(child, str) and depth == 0 and part in ("teacher", "judge", "answer_teacher", "reward"):
                child = short_form(child)
            if child is None:
                child = {}
            if not isinstance(child, dict):
                raise InputError(f"{flag}: {'.'.join(parts[:depth + 1])} is {type(child).__name__}, not a mapping")
            node[part] = child = dict(child)
            node = child
        node[parts[-1]] = value
        origins[tuple(parts)] = flag
    return origins
