"""What an evaluation measures and on what: the held-out file and its columns, the verifier, the judge and its
baseline, the answers' length. Built from `distill eval`'s flags or by `distill compare --train`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from distill.eval.verifiers import VerifierOptions


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    heldout: str = Field(description="the held-out JSONL file")
    field: str = "instruction"
    input_field: str | None = "input"
    answer_field: str = Field("answer", description="the reference answer a verifier checks against")
    constraints_field: str = Field("constraints", description="the column naming a row's format constraints")
    limit: int | None = Field(None, ge=1, description="use the first N held-out rows")
    max_tokens: int = Field(256, ge=1, description="tokens per answer")
    verifier: VerifierOptions | None = None
    judge: str | None = Field(None, description="the judge's model, for a win rate against `baseline`")
    baseline: str | None = Field(None, description="the model every other one is judged against")
    judge_max_tokens: int = Field(256, ge=1)

    @model_validator(mode="after")
    def _judge_needs_baseline(self) -> EvalSettings:
        if (self.judge is None) != (self.baseline is None):
            raise ValueError("a win rate needs both --judge and --baseline")
        return self
