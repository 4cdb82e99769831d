"""Verifiers: does an answer solve its problem? Shared by `distill eval` (a pass rate), self_improve (which
samples become training data and its held-out pass rate) and the reasoning recipe.

* `math`: the final answer — `\\boxed{}`, a `#### 72` line, else the number after "the answer is", else the
  last number in the text — is equivalent to the reference (distill/text/math_answers.py; nothing is evaluated).
* `exact`: the answer's text equals the reference after trimming, case folding and collapsing whitespace.
* `regex`: the answer matches `pattern` (searched; `{reference}` in the pattern stands for the escaped reference).
* `function`: `module:attr` or `file.py:attr`, called as `fn(answer: str, reference: str | None, row: dict)`
  and returning a bool — a unit test, a checker of your own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from distill.text.math_answers import equivalent, final_answers

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
# linear: no two `\s*` meet without a required character between them (the old `\s*\**\s*\$?\s*` was cubic)
ANSWER_IS = re.compile(r"answer\s*(?:is|:|=)\s*(?:\*+\s*)?(?:\$\s*)?(-?\d[\d,]*(?:\.\d+)?(?:/\d+)?)", re.IGNORECASE)


class VerifierOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["math", "exact", "regex", "function"] = "math"
    pattern: str | None = Field(None, description="regex: the pattern an accepted answer matches")
    function: str | None = Field(None, description="function: `module:attr` or `file.py:attr`")

    @model_validator(mode="after")
    def _complete(self) -> VerifierOptions:
        if self.kind == "regex" and not self.pattern:
            raise ValueError("verifier.kind regex needs verifier.pattern")
        if self.kind == "function" and not (self.function and ":" in self.function):
            raise ValueError("verifier.kind function needs verifier.function as module:attr or file.py:attr")
        if self.pattern:
            try:
                re.compile(self.pattern.replace("{reference}", ""))
            except re.error as exc:
                raise ValueError(f"verifier.pattern is not a regular expression: {exc}") from None
        return self


def math_answer(text: str) -> str | None:
    """The final answer a solution gives, or None when it gives none."""
    boxed = final_answers(text)
    if boxed:
        return boxed[-1]
    said = ANSWER_IS.findall(text)
    if said:
        return said[-1].replace(",", "")
    numbers = NUMBER.findall(text)
    return numbers[-1].replace(",", "").rstrip(".") if numbers else None


def _plain(text: str) -> str:
    return " ".join(text.strip().casefold().split()).rstrip(".")


class Verifier:
    def __init__(self, options: VerifierOptions, base: Path, where: str = "options.verifier.function") -> None:
        self.options = options
        self.fn: Callable[..., Any] | None = (_load(options.function, base, where) if options.kind == "function"
                                              else None)

    @property
    def needs_reference(self) -> bool:
        """Whether a verdict needs the row's reference answer (math, exact, a regex naming {reference})."""
        return self.options.kind in ("math", "exact") or "{reference}" in (self.options.pattern or "")

    def answer(self, text: str) -> str | None:
        """What a sample answered, as the manifest and rejection details show it."""
        return math_answer(text) if self.options.kind == "math" else text.strip()

    def check(self, text: str, reference: str | None, row: dict[str, Any]) -> bool:
        kind = self.options.kind
        if kind == "function":
            assert self.fn is not None
            return bool(self.fn(text, reference, row))
        if kind == "regex":
            pattern = str(self.options.pattern).replace("{reference}", re.escape(reference or ""))
            return re.search(pattern, text) is not None
        if reference is None:
            return False
        if kind == "exact":
            return _plain(text) == _plain(reference)
        given = math_answer(text)
        return given is not None and equivalent(given, reference)


def _load(target: str | None, base: Path, where: str) -> Callable[..., Any]:
    from distill.recipes.shared.user_code import load_reference

    return load_reference(str(target), where, base,  # type: ignore[no-any-return]
                          "distill_user_verifier", callable, "a function")

