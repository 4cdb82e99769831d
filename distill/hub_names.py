"""The names `distill push` puts into Hub paths — repo id, config name, split — checked before anything is
created or uploaded, by `distill validate` for `push:` in a recipe and by `distill push` itself.

A config name and a split become path segments in the repo (`data/<config>/<split>-00000-of-00001.parquet`), so
`..`, slashes and other path tricks are refused rather than passed on; the repo id follows the Hub's rules
(NAMESPACE/NAME, letters, digits, `-`, `_`, `.`, no `--` or `..`, at most 96 characters per part).
"""

from __future__ import annotations

import re

_PART = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")
_CONFIG = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?")
_SPLIT = re.compile(r"[A-Za-z0-9_]{1,64}(?:\.[A-Za-z0-9_]{1,64})*")


def repo_id_problem(repo_id: str) -> str | None:
    """Why `repo_id` is not a valid Hub dataset repo id, or None."""
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(_PART.fullmatch(p) for p in parts) or "--" in repo_id or ".." in repo_id:
        return (f"repo id {repo_id!r}: use the form NAMESPACE/NAME (letters, digits, '-', '_', '.'; starting and "
                "ending with a letter or digit; no '--' or '..')")
    return None


def config_name_problem(name: str) -> str | None:
    if not _CONFIG.fullmatch(name) or ".." in name:
        return (f"config name {name!r}: use letters, digits, '-', '_', '.' (starting and ending with a letter or "
                "digit, no '..', at most 64 characters); it becomes a folder in the repo")
    return None


def split_problem(split: str) -> str | None:
    if not _SPLIT.fullmatch(split):
        return f"split {split!r}: use letters, digits and '_' (like train, test, validation)"
    return None


def push_names_problem(repo_id: str, config_name: str, split: str) -> str | None:
    return repo_id_problem(repo_id) or config_name_problem(config_name) or split_problem(split)
