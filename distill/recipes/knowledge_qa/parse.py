"""Reading the check judge's verdicts (`Checks`) and the verbatim-quote check. The `Q1 [kind]: ... / A1: ...`
pairs themselves are read by shared/qa_pairs_parse.py (LAB's knowledge leaves write them too)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, field_validator

# a quote never spans another opening mark, so an unclosed “ or ##begin_quote## is read once, not once per opener
_QUOTE = re.compile(r"\"([^\"]+)\"|“([^“”]+)”|##begin_quote##((?:(?!##(?:begin|end)_quote##).)+)##end_quote##",
                    re.DOTALL)
YesNo = Literal["yes", "no"]


class Checks(BaseModel):
    """The check judge's verdict (prompts/knowledge_qa/check.j2): its JSON schema is the request's response_format,
    and it reads the reply — each value "yes" or "no", in any case and spacing; true / false count as yes / no."""

    supported: YesNo
    standalone: YesNo
    answerable: YesNo

    @field_validator("*", mode="before")
    @classmethod
    def _word(cls, value: Any) -> str:
        word = str(value).strip().lower()
        return {"true": "yes", "false": "no"}.get(word, word)

    def passed(self) -> dict[str, bool]:
        """Each check, in the order the recipe reports the first failing one."""
        return {name: getattr(self, name) == "yes" for name in CHECKS}


CHECKS = tuple(Checks.model_fields)


def quotes_chunk(answer: str, chunk: str, min_words: int = 4) -> bool:
    """RAFT-style check: the answer quotes at least one span of >= min_words words verbatim from the chunk."""
    norm_chunk = " ".join(chunk.split())
    for q in _QUOTE.findall(answer):
        span = " ".join(next(x for x in q if x).split()).strip(" .")
        if len(span.split()) >= min_words and span in norm_chunk:
            return True
    return False
