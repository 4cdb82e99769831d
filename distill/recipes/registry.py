"""Recipe names to lazily imported classes (`module:attr`), plus the `distill.recipes` entry-point group."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from distill.errors import InputError

if TYPE_CHECKING:
    from distill.recipes.base import Recipe

RECIPES: dict[str, str] = {
    "respond": "distill.recipes.respond:Respond",
    "self_instruct": "distill.recipes.self_instruct:SelfInstruct",
    "alpaca": "distill.recipes.alpaca:Alpaca",
    "evol_instruct": "distill.recipes.evol_instruct:EvolInstruct",
    "math_qa": "distill.recipes.math_qa:MathQA",
    "knowledge_qa": "distill.recipes.knowledge_qa:KnowledgeQA",
    "lab": "distill.recipes.lab:Lab",
    "magpie": "distill.recipes.magpie:Magpie",
    "personas": "distill.recipes.personas:Personas",
    "self_improve": "distill.recipes.self_improve:SelfImprove",
    "tool_use": "distill.recipes.tool_use:ToolUse",
    "reasoning": "distill.recipes.reasoning.recipe:Reasoning",
}

SUMMARIES: dict[str, str] = {
    "respond": "answer a list of instructions with the teacher (the engine's end-to-end path)",
    "self_instruct": "self-instruct (Wang et al. 2022): new instructions from seed tasks, instances, filters",
    "alpaca": "Alpaca: instruction, input and output generated together, 20 tasks per call",
    "evol_instruct": "Evol-Instruct (WizardLM): evolve over rounds, eliminate failures, answer separately",
    "math_qa": "verifiable math QA (OpenMathInstruct-style): k solutions, boxed answers checked",
    "knowledge_qa": "QA grounded in your documents: chunk, generate, judge faithfulness, dedup, RAFT",
    "lab": "LAB (InstructLab): taxonomy-driven skills and knowledge generation with judges and mixing",
    "magpie": "Magpie: queries drawn from the chat template's pre-query prefix alone, filtered, tagged, answered",
    "personas": "persona-driven tasks (Persona Hub / Tulu 3): personas x task kinds, verified math, dedup",
    "self_improve": "self-improvement (Self-Rewarding, STaR/ReST-EM, SPIN): sample, verify or judge, train, repeat",
    "tool_use": "function-calling conversations over your tools, verified by format, execution and a judge",
    "reasoning": "reasoning traces (OpenThoughts, s1): k per question, failed traces rejected, thinking kept apart",
}


def recipe_class(name: str, where: str = "recipe", base: Path | None = None) -> type["Recipe"]:
    """A built-in recipe by name, one from the `distill.recipes` entry-point group, or your own class:
    `mypackage.module:MyRecipe` (importable) or `my_recipe.py:MyRecipe` (a file, relative to the recipe YAML)."""
    from importlib.metadata import entry_points

    from distill.providers.registry import load_target

    target = RECIPES.get(name) or {ep.name: ep.value for ep in entry_points(group="distill.recipes")}.get(name)
    if target is None and ":" in name:
        return _own_recipe(name, where, base or Path.cwd())
    if target is None:
        raise InputError(f"{where}: unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))} "
                         "(or your own class as module:Class or file.py:Class)")
    return load_target(target)  # type: ignore[no-any-return]


def _own_recipe(name: str, where: str, base: Path) -> type["Recipe"]:
    from distill.recipes.base import Recipe
    from distill.recipes.user_code import load_reference

    module, _, attr = name.rpartition(":")
    return load_reference(  # type: ignore[no-any-return]
        name, where, base, "distill_user_recipe", lambda c: isinstance(c, type) and issubclass(c, Recipe),
        f"a Recipe subclass (class {attr} in {module}, deriving from distill.recipes.base.Recipe)")
