"""Recipe names to lazily imported classes (`module:attr`), plus the `distill.recipes` entry-point group: the
generic registry of `distill/plugins.py` with `RECIPES` as its built-in table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from distill.errors import InputError
from distill.plugins import PluginError, Registry

if TYPE_CHECKING:
    from distill.recipes.base import Recipe

RECIPES: dict[str, str] = {
    "respond": "distill.recipes.respond.recipe:Respond",
    "self_instruct": "distill.recipes.self_instruct.recipe:SelfInstruct",
    "alpaca": "distill.recipes.alpaca.recipe:Alpaca",
    "evol_instruct": "distill.recipes.evol_instruct.recipe:EvolInstruct",
    "math_qa": "distill.recipes.math_qa.recipe:MathQA",
    "knowledge_qa": "distill.recipes.knowledge_qa.recipe:KnowledgeQA",
    "lab": "distill.recipes.lab.recipe:Lab",
    "magpie": "distill.recipes.magpie.recipe:Magpie",
    "personas": "distill.recipes.personas.recipe:Personas",
    "self_improve": "distill.recipes.self_improve:SelfImprove",
    "tool_use": "distill.recipes.tool_use:ToolUse",
    "reasoning": "distill.recipes.reasoning.recipe:Reasoning",
}
REGISTRY = Registry("recipe", "distill.recipes", RECIPES, "distill.recipes.base:Recipe")


def registered() -> dict[str, str]:
    """Every recipe name a config may use without `module:Class`: the built-ins and the installed plugins (the
    `distill.recipes` entry-point group); a built-in keeps its name."""
    return REGISTRY.targets()


def loaded() -> tuple[dict[str, type[Recipe]], dict[str, str]]:
    """Every registered recipe's class by name, and why each one that cannot be used (a plugin that does not
    import, or lacks part of the contract) cannot: a broken plugin leaves the listings of the others intact."""
    classes, unusable = {}, {}
    for name in sorted(registered()):
        try:
            classes[name] = recipe_class(name, where="unusable")
        except InputError as exc:
            unusable[name] = str(exc)
    return classes, unusable


def recipe_class(name: str, where: str = "recipe", base: Path | None = None) -> type[Recipe]:
    """A built-in recipe by name, one from the `distill.recipes` entry-point group, or your own class:
    `mypackage.module:MyRecipe` (importable) or `my_recipe.py:MyRecipe` (a file, relative to the recipe YAML).
    A registered recipe must implement the whole contract (`base.CONTRACT`), so that `--dry-run` works for it."""
    known = registered()
    target = known.get(name)
    if target is None and ":" in name:
        return _own_recipe(name, where, base or Path.cwd())
    if target is None:
        raise InputError(f"{where}: unknown recipe {name!r}; known recipes: {', '.join(sorted(known))} "
                         "(or your own class as module:Class or file.py:Class)")
    return _registered_class(name, target, where)


def _registered_class(name: str, target: str, where: str) -> type[Recipe]:
    from distill.recipes.base import unimplemented

    try:
        cls = REGISTRY.resolve(name, target)
    except PluginError as exc:
        raise InputError(f"{where}: {exc}") from None
    if missing := unimplemented(cls):
        raise InputError(f"{where}: recipe {name!r} ({target}) does not implement {', '.join(missing)}; a "
                         "registered recipe implements preview and estimate (for --dry-run) and run")
    return cls


def _own_recipe(name: str, where: str, base: Path) -> type[Recipe]:
    from distill.recipes.base import Recipe
    from distill.recipes.shared.user_code import load_reference

    module, _, attr = name.rpartition(":")
    return load_reference(  # type: ignore[no-any-return]
        name, where, base, "distill_user_recipe", lambda c: isinstance(c, type) and issubclass(c, Recipe),
        f"a Recipe subclass (class {attr} in {module}, deriving from distill.recipes.base.Recipe)")
