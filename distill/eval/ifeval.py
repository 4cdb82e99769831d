"""Instruction following without a judge, in the style of IFEval (Zhou et al. 2023): a held-out row names the
format constraints its answer must meet, in a `constraints` column, and a function checks each one.

    {"instruction": "Describe a lighthouse in all lowercase, in at least 40 words, without commas.",
     "constraints": [{"type": "lowercase"}, {"type": "words", "min": 40}, {"type": "no_commas"}]}

The kinds: `words` (min and/or max whitespace-separated words), `bullets` (exactly `count` lines that start with
`*` or `-` and a space, as IFEval's markdown bullets), `keywords` (every one of `words` appears, case-insensitive,
as a whole word), `forbidden` (none of `words` appears), `no_commas`, `lowercase` (no uppercase letter),
`uppercase` (no lowercase letter), `json` (the whole answer is one JSON value; a ```json fence around it is
allowed, as IFEval allows), `paragraphs` (exactly `count` paragraphs separated by blank lines), `ends_with`
(the answer, trailing spaces aside, ends with `phrase`), `starts_with`, `title` (a title in <<double angle
brackets>>). Two rates, as IFEval reports them: the share of answers meeting all their constraints (prompt
level, strict) and the share of constraints met (instruction level)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

BULLET = re.compile(r"^\s*[*-]\s")
TITLE = re.compile(r"<<[^\n<>]+>>")


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Words(_Base):
    type: Literal["words"]
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounded(self) -> Words:
        if self.min is None and self.max is None:
            raise ValueError("words needs min, max or both")
        return self

    def check(self, text: str) -> bool:
        n = len(text.split())
        return (self.min is None or n >= self.min) and (self.max is None or n <= self.max)


class Bullets(_Base):
    type: Literal["bullets"]
    count: int = Field(ge=0)

    def check(self, text: str) -> bool:
        return sum(1 for line in text.splitlines() if BULLET.match(line)) == self.count


def _has_word(text: str, word: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(word.casefold()) + r"(?!\w)", text.casefold()) is not None


class Keywords(_Base):
    type: Literal["keywords"]
    words: list[str] = Field(min_length=1)

    def check(self, text: str) -> bool:
        return all(_has_word(text, w) for w in self.words)


class Forbidden(_Base):
    type: Literal["forbidden"]
    words: list[str] = Field(min_length=1)

    def check(self, text: str) -> bool:
        return not any(_has_word(text, w) for w in self.words)


class NoCommas(_Base):
    type: Literal["no_commas"]

    def check(self, text: str) -> bool:
        return "," not in text and "，" not in text


class Lowercase(_Base):
    type: Literal["lowercase"]

    def check(self, text: str) -> bool:
        return bool(text.strip()) and text == text.lower()


class Uppercase(_Base):
    type: Literal["uppercase"]

    def check(self, text: str) -> bool:
        return bool(text.strip()) and text == text.upper()


class Json(_Base):
    type: Literal["json"]

    def check(self, text: str) -> bool:
        body = text.strip()
        if len(body) >= 6 and body.startswith("```") and body.endswith("```"):  # a fence around it (no regex:
            body = body[3:-3]                                                # linear on hostile replies)
            body = body[4:] if body[:4].casefold() == "json" else body
            body = body.strip()
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        return True


class Paragraphs(_Base):
    type: Literal["paragraphs"]
    count: int = Field(ge=1)

    def check(self, text: str) -> bool:
        parts = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
        return len(parts) == self.count


class EndsWith(_Base):
    type: Literal["ends_with"]
    phrase: str = Field(min_length=1)

    def check(self, text: str) -> bool:
        return text.rstrip().endswith(self.phrase.strip())


class StartsWith(_Base):
    type: Literal["starts_with"]
    phrase: str = Field(min_length=1)

    def check(self, text: str) -> bool:
        return text.lstrip().startswith(self.phrase.strip())


class Title(_Base):
    type: Literal["title"]

    def check(self, text: str) -> bool:
        return TITLE.search(text) is not None


Constraint = Annotated[Words | Bullets | Keywords | Forbidden | NoCommas | Lowercase | Uppercase | Json | Paragraphs
                       | EndsWith | StartsWith | Title, Field(discriminator="type")]
CONSTRAINTS: TypeAdapter[list[Constraint]] = TypeAdapter(list[Constraint])


def parse_constraints(value: Any) -> list[Constraint]:
    """A row's `constraints` value as typed constraints (pydantic's ValidationError names the bad one)."""
    return CONSTRAINTS.validate_python(value)


def check_all(text: str, constraints: list[Constraint]) -> list[bool]:
    """Whether `text` meets each constraint, in order."""
    return [c.check(text) for c in constraints]
