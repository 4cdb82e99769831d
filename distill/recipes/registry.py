"""Recipe names to lazily imported classes (`module:attr`), plus the `distill.recipes` entry-point group."""

from __future__ import annotations

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
}

SUMMARIES: dict[str, str] = {
    "respond": "answer a list of instructions with the teacher (the engine's end-to-end path)",
    "self_instruct": "self-instruct (Wang et al. 2022): new instructions from seed tasks, instances, filters",
    "alpaca": "Alpaca: instruction, input and output generated together, 20 tasks per call",
    "evol_instruct": "Evol-Instruct (WizardLM): evolve over rounds, eliminate failures, answer separately",
    "math_qa": "verifiable math QA (OpenMathInstruct-style): k solutions, boxed answers checked",
    "knowledge_qa": "QA grounded in your documents: chunk, generate, judge faithfulness, dedup, RAFT",
    "lab": "LAB (InstructLab): taxonomy-driven skills and knowledge generation with judges and mixing",
}


def recipe_class(name: str, where: str = "recipe") -> type["Recipe"]:
    from importlib.metadata import entry_points

    from distill.providers.registry import load_target

    target = RECIPES.get(name) or {ep.name: ep.value for ep in entry_points(group="distill.recipes")}.get(name)
    if target is None:
        raise InputError(f"{where}: unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    return load_target(target)  # type: ignore[no-any-return]
