"""The lab recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams


class LabOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    taxonomy: str = "taxonomy"
    questions_per_seed: int = Field(30, ge=1)
    contexts_per_seed: int = Field(10, ge=1)
    questions_per_context: int = Field(3, ge=1)
    max_seeds_per_leaf: int | None = Field(None, ge=1, description="use only a leaf's first N seed examples "
                                           "(skills) or seed contexts (knowledge)")
    knowledge_pairing: Literal["all", "rotate"] = Field(
        "all", description="all: every chunk with every seed context, as InstructLab does; rotate: one seed "
                           "context per chunk, in turn (1/N of the generation calls)")
    chunk_words: int = Field(1000, ge=50)
    pairs_per_chunk: int = Field(3, ge=1)
    raft_p: float = Field(0.4, ge=0, le=1)
    raft_distractors: int = Field(3, ge=0)
    generation: GenerationParams = GenerationParams(temperature=0.7, top_p=0.95, max_tokens=1024)
    answer: GenerationParams = GenerationParams(temperature=0.0, max_tokens=512)
