"""Magpie's pre-query template, read from the model's own chat template.

The teacher's backend renders a conversation whose only user message is a sentinel; the text before the sentinel
is the pre-query prefix (the system turn, if any, and the header of a user turn), and the text right after it
begins the end-of-turn marker, which becomes a stop string. Nothing is hard-coded per model family: whatever
template the GGUF metadata, the tokenizer config or the server holds is the one used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distill.errors import TeacherError

SENTINEL = "DISTILLQUERYSENTINEL7F3A"


@dataclass(frozen=True)
class PreQuery:
    prefix: str  # send this as a raw completion; the model continues with a user query
    stop: list[str]  # the end of a user turn in this template (the model's EOS stops it too)


def split_rendered(rendered: str, label: str) -> PreQuery:
    if rendered.count(SENTINEL) != 1:
        raise TeacherError(f"teacher {label}: its chat template did not keep the user message where distill "
                           "could find it, so the pre-query prefix cannot be read from it")
    prefix, _, after = rendered.partition(SENTINEL)
    marker = after.lstrip(" ").split("\n", 1)[0].strip()
    if "><" in marker:  # several special tokens in a row (<|eot_id|><|start_header_id|>...): keep the first
        marker = marker[: marker.index("><") + 1]
    return PreQuery(prefix=prefix, stop=[marker] if marker else [])


async def pre_query(teacher: Any, system: str | None) -> PreQuery:
    """The pre-query prefix of `teacher`'s chat template, with `system` as its system turn when given."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": SENTINEL}]
    return split_rendered(await teacher.render_chat(messages), teacher.spec.label())
