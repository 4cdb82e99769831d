"""The reasoning recipe's options (`options:` in the recipe YAML); the defaults and their sources are in
recipe.py's docstring."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from distill.providers.base import GenerationParams
from distill.recipes.reasoning.checks import Limits
from distill.recipes.reasoning.selection import Buckets
from distill.recipes.self_improve_verify import VerifierOptions

SAMPLING = {"temperature": 0.6, "top_p": 0.95, "max_tokens": 8192}  # where neither options nor the run set them


class ReasoningOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_field: str = Field("answer", description="the input column with a reference answer (optional)")
    domain_field: str = Field("domain", description="the input column naming the question's domain (optional)")
    samples: int = Field(4, ge=1, le=128, description="traces per question (OpenThoughts: 16)")
    generation: GenerationParams | None = Field(None, description="sampling of the traces; what it leaves unset "
                                                "comes from the run's `generation:`, then temperature 0.6, top_p 0.95, "
                                                "max_tokens 8192")
    ask_to_think: bool = Field(True, description="ask the teacher to think inside <think> tags (false for a "
                                                 "reasoning model, whose thinking comes apart from the answer)")
    min_reasoning_words: int = Field(3, ge=1, description="less thinking than this is empty_reasoning")
    max_trace_tokens: int | None = Field(None, ge=1, description="longer traces (thinking and answer, characters "
                                         "/ 4) are too_long: the student's training length; none by default")
    loop_ngram: int = Field(16, ge=2, description="a run of this many tokens ...")
    loop_repeats: int = Field(5, ge=2, description="... seen this many times is a repetition_loop")
    max_foreign_share: float = Field(0.05, ge=0, le=1, description="share of words in a writing system the "
                                     "question does not use above which a trace is language_mix")
    verify: VerifierOptions | None = Field(None, description="check each answer against the reference answer "
                                           "(kind: math, exact, regex, function); off by default")
    drop_incorrect: bool = Field(True, description="with verify: reject wrong answers (else only record them)")
    keep: Literal["all", "shortest_correct", "k"] = Field("all", description="which traces of a question to "
                                                          "keep: all that pass, the shortest correct one, or k")
    keep_k: int = Field(1, ge=1, description="keep: k — how many traces per question, in sample order")
    rate_difficulty: bool = Field(False, description="ask the judge (else the teacher) to rate each question's "
                                  "difficulty 1-10 (one more call per question), recorded in meta.difficulty")
    min_difficulty: Literal["easy", "medium", "hard"] | None = Field(
        None, description="keep only questions at least this hard (meta.difficulty.bucket; s1 kept the hard ones); "
        "the traces of easier ones are rejected as too_easy. None: every question")
    easy_trace_tokens: int = Field(256, ge=1, description="without verification or rating: a question whose mean "
                                   "trace is shorter (estimated tokens) is easy")
    hard_trace_tokens: int = Field(1024, ge=1, description="... and one whose mean trace is at least this long, hard")

    def sampling(self, run_level: GenerationParams) -> dict[str, object]:
        """The sampling fields this recipe sends over the run's own `generation:` (which the teacher applies)."""
        own = self.generation.model_dump(exclude_unset=True) if self.generation else {}
        defaults = {k: v for k, v in SAMPLING.items() if k not in run_level.model_fields_set}
        return {**defaults, **own, "n": self.samples}

    def buckets(self) -> Buckets:
        return Buckets(easy_trace_tokens=self.easy_trace_tokens, hard_trace_tokens=self.hard_trace_tokens)

    def limits(self) -> Limits:
        return Limits(min_reasoning_words=self.min_reasoning_words, max_trace_tokens=self.max_trace_tokens,
                      loop_ngram=self.loop_ngram, loop_repeats=self.loop_repeats,
                      max_foreign_share=self.max_foreign_share)
