"""The held-out questions: rows of a JSONL file (or a dataset), each with its instruction, an optional input, the
columns a verifier reads, and the format constraints it names. A constraint that does not parse stops before any
call, with its line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.errors import InputError
from distill.eval.ifeval import Constraint, parse_constraints
from distill.eval.options import EvalSettings
from distill.io.inputs import InputRow, Inputs, InputSpec
from distill.prompts import render


@dataclass
class HeldOut:
    rows: list[InputRow]
    constraints: list[list[Constraint]]

    def prompts(self) -> list[list[dict[str, str]]]:
        return [[{"role": "user", "content": render("eval/prompt.j2", instruction=r.instruction, input=r.input)}]
                for r in self.rows]


def read_heldout(settings: EvalSettings) -> HeldOut:
    from pydantic import ValidationError

    if not Path(settings.heldout).exists() and settings.heldout.endswith(".jsonl"):
        raise InputError(f"--on {settings.heldout}: no such file")
    inputs = Inputs(InputSpec(path=settings.heldout, field=settings.field, input_field=settings.input_field),
                    settings.limit)
    inputs.check()
    rows = list(inputs.rows())
    constraints: list[list[Constraint]] = []
    for row in rows:
        value: Any = row.source.get(settings.constraints_field) if isinstance(row.source, dict) else None
        try:
            constraints.append(parse_constraints(value) if value is not None else [])
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"{settings.heldout}: row {row.index + 1}: `{settings.constraints_field}` "
                             f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}") from None
    return HeldOut(rows, constraints)
