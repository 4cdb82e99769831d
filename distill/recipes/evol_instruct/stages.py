"""Evol-Instruct's model calls, declared once (run/stage.py): the evolution, the answer, and the judge's two
verdicts — the complexity rating and the equality check — with the pydantic models of their JSON replies, whose
schemas go out as `response_format` where the endpoint enforces one.

The recipe sends these calls itself inside each round's guard (a failed call stops the chain there, recorded
under the round), so it takes from a stage its prompt (`messages`) and its sampling (`ctx.sampling`); the root's
answer alone goes through `ctx.ask`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from distill.run.stage import Stage


class Difficulty(BaseModel):
    """The complexity judge's verdict: how hard the text is (1-10) and whether it is an instruction at all."""

    rationale: str
    kind: Literal["instruction", "answer"]
    score: int = Field(ge=1, le=10)


class Equality(BaseModel):
    """The equality check's verdict: does the evolution say the same as its parent."""

    verdict: Literal["Equal", "Not Equal"]


EVOLVE: Stage[str] = Stage("evolve")  # its prompt is the operation's (operations.py); a round names its own stage
# the prompt is the instruction alone; an answer cut off is eliminated after the refusal checks, so the helper's
# own truncation check is off
ANSWER: Stage[str] = Stage("round_0", role="answerer", truncated=None)
DIFFICULTY: Stage[Difficulty] = Stage("difficulty", "evol_instruct/difficulty.j2", role="judge", reply=Difficulty)
EQUALITY: Stage[Equality] = Stage("equality", "evol_instruct/equal.j2", role="judge", reply=Equality,
                                  schema_name="equality")
