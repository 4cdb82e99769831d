"""The respond recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RespondOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: bool = Field(False, description="send prompts/respond/system.j2 as a system turn")
    system_prompt: str | None = Field(None, description="a system message of your own for every prompt "
                                                         "(instead of prompts/respond/system.j2)")
    samples: int = Field(1, ge=1, le=64, description="answers per instruction (the teacher's n)")
    min_words: int = Field(1, ge=0, description="reject answers with fewer words")
