"""The math_qa recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams


class MathOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_field: str = "answer"
    samples: int = Field(8, ge=1, le=512)
    solve: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    min_agreement: float = Field(0.5, gt=0, le=1, description="majority share of extracted answers needed")
    min_votes: int = Field(2, ge=1)
    min_solution_chars: int = Field(200, ge=0, description="OpenMathInstruct-2's minimum solution length")
    max_solution_tokens: int = Field(1024, ge=1, description="longer solutions are dropped (characters / 4); "
                                     "solve.max_tokens must exceed it for the limit to apply")
    max_problem_tokens: int = 1024
    augment: int = Field(0, ge=0, description="new problems written from each seed problem")
    augment_generation: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=256)
    decontaminate: list[str] = Field(default_factory=list, description="benchmark JSONL files of questions")
