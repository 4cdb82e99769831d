"""Evol-Instruct operation sets (general, code/WizardCoder, math/WizardMath) read from
prompts/evol_instruct/operations.yaml, and the prompt each operation sends."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import yaml

from distill.errors import InputError
from distill.prompts import prompts_dir, render
from distill.providers.base import Message


@dataclass(frozen=True)
class Operation:
    name: str
    frame: str
    method: str

    def prompt(self, instruction: str) -> str:
        return render(f"evol_instruct/{self.frame}.j2", prompt=instruction, method=self.method)

    def messages(self, instruction: str) -> list[Message]:
        """The evolution's request: the operation's prompt for `instruction` as the one user turn."""
        return [{"role": "user", "content": self.prompt(instruction)}]


@cache
def operation_sets() -> dict[str, tuple[Operation, ...]]:
    data = yaml.safe_load((prompts_dir() / "evol_instruct" / "operations.yaml").read_text(encoding="utf-8"))
    return {name: tuple(Operation(op, spec["frame"], spec["method"]) for op, spec in ops.items())
            for name, ops in data.items()}


def operations(set_name: str, only: list[str] | None = None) -> tuple[Operation, ...]:
    sets = operation_sets()
    if set_name not in sets:
        raise InputError(f"options.operation_set: unknown set {set_name!r}; choose one of {', '.join(sets)}")
    ops = sets[set_name]
    if only:
        unknown = sorted(set(only) - {o.name for o in ops})
        if unknown:
            raise InputError(f"options.operations: {unknown} not in the {set_name!r} set "
                             f"({', '.join(o.name for o in ops)})")
        ops = tuple(o for o in ops if o.name in only)
    return ops


def directions(ops: tuple[Operation, ...]) -> str:
    """The fixed text of the frames `ops` fill (no instruction, no method): what the rewriting task says."""
    return "\n".join(render(f"evol_instruct/{frame}.j2", prompt="", method="")
                     for frame in sorted({op.frame for op in ops}))


def choose(ops: tuple[Operation, ...], seed: int, root: int, rnd: int) -> Operation:
    """One operation per instruction per round, uniformly, reproducibly."""
    return random.Random(f"{seed}:evol:{root}:{rnd}").choice(ops)
