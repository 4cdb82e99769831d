"""The magpie recipe's options: the keys of its recipe YAML's `options:` block, with their defaults and
bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from distill.providers.base import GenerationParams
from distill.recipes.magpie import chat_templates

Difficulty = Literal["very easy", "easy", "medium", "hard", "very hard"]  # the tag judge's labels, in order
Quality = Literal["very poor", "poor", "average", "good", "excellent"]


class MagpieOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(1000, ge=1, description="queries to draw (--num overrides)")
    system: str | None = Field(None, description="a system prompt in the pre-query prefix, to steer topics")
    chat_template: str | None = Field(None, description=(
        "the model's chat template, for a server that cannot show its own (no /apply-template or /tokenize, e.g. "
        "`python -m llama_cpp.server`): a family name (chatml, llama3, qwen: distill's "
        "prompts/chat_templates/NAME.jinja), a path to a .jinja file holding the template, or a path to the "
        "model's .gguf file (its tokenizer.chat_template metadata is read with the gguf package); paths are "
        "relative to the recipe file, inside files_root. Rendered in jinja2's sandbox. Unused when the teacher "
        "renders its own template (llama-server, vLLM, local, transformers)"))
    answer_with_system: bool = Field(True, description="send the system prompt with the answer call too")
    keep_system: bool = Field(False, description="keep the system turn in the records' messages")
    query: GenerationParams = GenerationParams(temperature=1.0, top_p=1.0, max_tokens=512)
    answer: GenerationParams = GenerationParams(temperature=0.0, top_p=1.0, max_tokens=1024)
    min_words: int = Field(3, ge=1)
    max_words: int = Field(400, ge=1)
    language: Literal["en"] | None = "en"
    max_repetition: float = Field(0.3, ge=0, le=1, description="share of repeated word 3-grams allowed")
    drop_incomplete: bool = True
    dedup: Literal["near", "exact", "off"] = "near"
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1)
    tags: bool = Field(True, description="judge each query's difficulty and quality")
    min_quality: Quality | None = "good"
    min_difficulty: Difficulty | None = None
    tag_generation: GenerationParams = GenerationParams(temperature=0.0, max_tokens=64)

    @field_validator("chat_template")
    @classmethod
    def _template_form(cls, value: str | None) -> str | None:
        return None if value is None else chat_templates.check_form(value)
