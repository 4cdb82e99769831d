"""Recipe names to lazily imported classes (`module:attr`), plus the `distill.recipes` entry-point group."""

from __future__ import annotations

from typing import TYPE_CHECKING

from distill.errors import InputError

if TYPE_CHECKING:
    from distill.recipes.base import Recipe

RECIPES: dict[str, str] = {
    "respond": "distill.recipes.respond:Respond",
}

SUMMARIES: dict[str, str] = {
    "respond": "answer a list of instructions with the teacher (the engine's end-to-end path)",
}


def recipe_class(name: str, where: str = "recipe") -> type["Recipe"]:
    from importlib.metadata import entry_points

    from distill.providers.registry import load_target

    target = RECIPES.get(name) or {ep.name: ep.value for ep in entry_points(group="distill.recipes")}.get(name)
    if target is None:
        raise InputError(f"{where}: unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    return load_target(target)  # type: ignore[no-any-return]
