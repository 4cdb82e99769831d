"""self_improve's `eval:` block: the held-out split measured after every iteration, with the shared evaluation
code (`distill/eval/`, also behind `distill eval`): a verifier's pass rate (pass_rate.py), else a judge's win rate
of iteration n against iteration 0 in both orders (win_rate.py), each with its Wilson interval."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="the held-out JSONL file (relative to the recipe)")
    field: str = "instruction"
    answer_field: str = Field("answer", description="the reference answer the verifier checks against")
    limit: int | None = Field(200, ge=1, description="held-out rows used (the first ones)")
    max_tokens: int | None = Field(None, ge=1, description="default: the sampling max_tokens")

