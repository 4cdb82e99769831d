"""The evol_instruct recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams


class EvolOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rounds: int = Field(4, ge=1, le=20)
    operation_set: str = "general"
    operations: list[str] | None = None
    evolve: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    answer: GenerationParams = GenerationParams(temperature=1.0, top_p=0.95, max_tokens=2048)
    equality_check: bool = True
    difficulty: bool = Field(True, description="rate every instruction 1-10 with the judge (and, with "
                             "require_harder, eliminate non-escalating rewrites)")
    require_harder: bool = Field(True, description="while the difficulty judge runs: eliminate in-depth "
                                 "evolutions not rated harder than their parent, and evolutions that answer the "
                                 "instruction instead of rewriting it; false = the paper's eliminations only")
    keep_roots: bool = Field(True, description="answer the root instructions and keep them as round-0 records, "
                             "as WizardLM mixes its seeds into the released data")
