"""The YAML of the quality gate: `quality:` (what the judge grades) and `select:` (which records are kept)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class QualitySpec(BaseModel):
    """What the judge and reward model do to each candidate record.

    `rubric` grades with one rubric (a built-in name from prompts/judge/rubrics/ or a path to a rubric YAML);
    `aspects` grades with several, one call each (UltraFeedback's four: instruction_following, truthfulness,
    honesty, helpfulness). `reference_field` names the input column holding a reference answer
    (reference-guided grading). `pairwise` compares a recipe's two samples per prompt in both orders and writes
    preference pairs.
    """

    model_config = ConfigDict(extra="forbid")
    rubric: str | None = None
    aspects: list[str] | None = None
    reference_field: str | None = None
    pairwise: bool = False
    pairwise_criteria: str | None = None
    judge_max_tokens: int = Field(512, ge=16)
    judge_temperature: float = Field(0.0, ge=0, le=2)

    def rubrics(self) -> list[str]:
        return list(self.aspects or []) + ([self.rubric] if self.rubric else [])


class SelectRule(BaseModel):
    """One condition on one score column (e.g. `judge.overall`, `reward`, `reward.helpfulness`)."""

    model_config = ConfigDict(extra="forbid")
    score: str
    min: float | None = None
    max: float | None = None
    top_quantile: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=1)
    group_by: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SelectRule:
        if self.min is None and self.max is None and self.top_quantile is None and self.top_k is None:
            raise ValueError("a select rule needs min, max, top_quantile or top_k")
        if self.group_by and self.top_k is None and self.top_quantile is None:
            raise ValueError("group_by applies to top_k or top_quantile")
        return self

    def label(self) -> str:
        parts = [f"min {self.min:g}" if self.min is not None else "", f"max {self.max:g}" if self.max is not None
                 else "", f"top {self.top_quantile:g}" if self.top_quantile else "",
                 f"top_k {self.top_k}" if self.top_k else "", f"per {self.group_by}" if self.group_by else ""]
        return f"{self.score} " + " ".join(p for p in parts if p)


class SelectSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["all", "any"] = "all"
    rules: list[SelectRule] = Field(min_length=1)
