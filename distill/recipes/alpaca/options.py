"""The alpaca recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams
from distill.recipes.shared.instruction_filters import ALPACA_EXTRA_BLACKLIST, SELF_INSTRUCT_BLACKLIST


class AlpacaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seeds: str = "data/self_instruct_seeds.jsonl"
    num_instructions: int = Field(100, ge=1)
    demos: int = Field(3, ge=1)
    tasks_per_prompt: int = Field(20, ge=2)
    in_flight: int = Field(5, ge=1, description="generation prompts running at once (the released code sent 5 per "
                                                "batch; prompts show seeds only, so raise it freely)")
    patience: int = Field(50, ge=1, description="stop after this many prompts in a row add nothing")
    pool_lag: int | None = Field(None, ge=1, description="prompts made ahead of the replies read (default 4 x "
                                 "in_flight); Alpaca's prompts show seeds only, so this only bounds buffering")
    rouge_threshold: float = Field(0.7, gt=0, le=1)
    blacklist: list[str] = Field(default_factory=lambda: list(SELF_INSTRUCT_BLACKLIST + ALPACA_EXTRA_BLACKLIST))
    generation: GenerationParams = GenerationParams(temperature=1.0, top_p=1.0, max_tokens=3072,
                                                    stop=["\n20", "20."])
