"""The knowledge_qa recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams


class RaftOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    p: float = Field(1.0, ge=0, le=1, description="probability that the oracle chunk is in the context")
    distractors: int = Field(3, ge=0)


class KnowledgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: str
    chunk_words: int = Field(300, ge=20)
    overlap_words: int = Field(50, ge=0)
    pairs_per_chunk: int = Field(4, ge=1, le=20)
    kinds: list[str] = Field(default_factory=lambda: ["factual", "yes/no", "multi-step reasoning", "comparison"])
    generation: GenerationParams = GenerationParams(temperature=0.7, top_p=0.95, max_tokens=768)
    require_quote: bool = False
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1)
    decontaminate: list[str] = Field(default_factory=list)
    raft: RaftOptions | None = None
