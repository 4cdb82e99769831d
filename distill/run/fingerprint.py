"""The run's fingerprint: a digest of everything besides an item's own data that decides what the item becomes.

It covers the configuration (minus where outputs go, the run's name and description, the push target, `num`,
`target`, the executor and the budget), every prompt template and rubric, and distill's own source files, so a
changed template, option or code path never replays an item log made by another (see `engine/item_log.py`).
Teacher answers are cached by their own content keys, so after such a change a re-run still sends no call it
already paid for; it only rebuilds the records.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import orjson

from distill.config import RunConfig
from distill.prompts import prompts_dir

# where it ran, the report and the budget (raising it continues the same run) change nothing; nor does the target
# of accepted records, which only decides how many items are drawn (like `num`)
NOT_PART_OF_RESULTS = {"out", "name", "description", "push", "num", "target", "executor", "report", "budget"}


@lru_cache(maxsize=1)
def _code_and_templates() -> bytes:
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for root, pattern in ((package, "*.py"), (prompts_dir(), "*")):
        for path in sorted(p for p in root.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def run_fingerprint(cfg: RunConfig) -> bytes:
    config = cfg.model_dump(mode="json", exclude=NOT_PART_OF_RESULTS)
    blob = orjson.dumps(config, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    own = b"".join(name.encode() + b"\0" + Path(file).read_bytes() + b"\0"  # the user's replacement templates
                   for name, file in sorted(cfg.prompts.items()))
    return hashlib.sha256(_code_and_templates() + blob + own + _own_recipe_source(cfg)).digest()


def _own_recipe_source(cfg: RunConfig) -> bytes:
    """A recipe class from outside distill (a plugin's, or yours as `module:Class`) is code the records depend on:
    its file is part of the key, as distill's own files are."""
    import inspect

    from distill.recipes.registry import RECIPES, recipe_class

    if cfg.recipe in RECIPES:
        return b""
    source = inspect.getsourcefile(recipe_class(cfg.recipe, base=cfg._base))
    return Path(source).read_bytes() if source else b""
