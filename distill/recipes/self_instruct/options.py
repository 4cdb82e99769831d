"""The self_instruct recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams
from distill.recipes.shared.instruction_filters import SELF_INSTRUCT_BLACKLIST


class SelfInstructOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seeds: str = "data/self_instruct_seeds.jsonl"
    num_instructions: int = Field(100, ge=1, description="machine instructions to generate (top-level num wins)")
    human_demos: int = Field(6, ge=1)
    machine_demos: int = Field(2, ge=0)
    in_flight: int = Field(5, ge=1, description="bootstrap prompts running at once (the paper sent 5 per batch)")
    pool_lag: int | None = Field(None, ge=1, description="a prompt shows the instructions of replies up to this many "
                                 "prompts before it (default 4 x in_flight; in_flight reproduces batches' freshness)")
    patience: int = Field(50, ge=1, description="stop after this many bootstrap prompts in a row add nothing")
    classification_seeds_only: bool = False
    rouge_threshold: float = Field(0.7, gt=0, le=1)
    min_words: int = 3
    max_words: int = 150
    blacklist: list[str] = Field(default_factory=lambda: list(SELF_INSTRUCT_BLACKLIST))
    capitalize_quirk: bool = False
    max_instances: int = Field(5, ge=1)
    bootstrap: GenerationParams = GenerationParams(temperature=0.7, top_p=0.5, max_tokens=1024,
                                                   presence_penalty=2.0, frequency_penalty=0.0,
                                                   stop=["\n\n", "\n16", "16.", "16 ."])
    classify: GenerationParams = GenerationParams(temperature=0.0, max_tokens=3, stop=["\n", "Task"])
    instances: GenerationParams = GenerationParams(temperature=0.0, presence_penalty=1.5, max_tokens=350,
                                                   stop=["Example 6", "Task:"])
    classification_max_tokens: int = 300
