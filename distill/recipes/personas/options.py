"""The personas recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams

Kind = Literal["instruction", "math", "code", "knowledge"]
DEFAULT_TASKS: list[Kind] = ["instruction", "math", "code", "knowledge"]


class PersonasOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: list[Kind] = Field(default_factory=lambda: list(DEFAULT_TASKS), min_length=1)
    write: GenerationParams = GenerationParams(temperature=1.0, top_p=1.0, max_tokens=384)
    answer: GenerationParams = GenerationParams(temperature=0.7, top_p=0.95, max_tokens=1024)
    solve: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=768)
    math_samples: int = Field(4, ge=1, le=64)
    min_votes: int = Field(2, ge=1)
    min_agreement: float = Field(0.5, gt=0, le=1)
    require_code_block: bool = True
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1)
