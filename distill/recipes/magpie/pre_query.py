"""Magpie's pre-query template, read from the model's own chat template.

The teacher's backend renders a conversation whose only user message is a sentinel; the text before the sentinel
is the pre-query prefix (the system turn, if any, and the header of a user turn), and the text right after it
begins the end-of-turn marker, which becomes a stop string. Nothing is hard-coded per model family: whatever
template the GGUF metadata, the tokenizer config or the server holds is the one used.

A backend that cannot render the template (an OpenAI-compatible server with /v1/completions but neither
/apply-template nor /tokenize) raises `NoChatTemplate`; the template the user named (`options.chat_template`,
recipes/magpie/chat_templates.py) is rendered instead, and without one the run stops (exit 2) saying which forms the
option takes. The backend's own template wins whenever it has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distill.errors import InputError, TeacherError
from distill.providers.base import NoChatTemplate
from distill.recipes.magpie.chat_templates import KEY, ChatTemplate, families

SENTINEL = "DISTILLQUERYSENTINEL7F3A"


@dataclass(frozen=True)
class PreQuery:
    prefix: str  # send this as a raw completion; the model continues with a user query
    stop: list[str]  # the end of a user turn in this template (the model's EOS stops it too)
    source: str = "teacher"  # whose template: the teacher's backend, or the user's options.chat_template


def split_rendered(rendered: str, label: str) -> PreQuery:
    if rendered.count(SENTINEL) != 1:
        raise TeacherError(f"teacher {label}: its chat template did not keep the user message where distill "
                           "could find it, so the pre-query prefix cannot be read from it")
    prefix, _, after = rendered.partition(SENTINEL)
    marker = after.lstrip(" ").split("\n", 1)[0].strip()
    if "><" in marker:  # several special tokens in a row (<|eot_id|><|start_header_id|>...): keep the first
        marker = marker[: marker.index("><") + 1]
    return PreQuery(prefix=prefix, stop=[marker] if marker else [])


async def pre_query(teacher: Any, system: str | None, template: ChatTemplate | None = None) -> PreQuery:
    """The pre-query prefix of `teacher`'s chat template, with `system` as its system turn when given; `template`
    (the user's choice) only when the teacher cannot render its own, and InputError when it cannot and there is
    none."""
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": SENTINEL}]
    label = teacher.spec.label()
    try:
        rendered, source = await teacher.render_chat(messages), "teacher"
    except NoChatTemplate as exc:
        if template is None:
            raise InputError(no_template(str(exc))) from None
        rendered, source = template.render(messages), template.source
    pq = split_rendered(rendered, label)
    return PreQuery(prefix=pq.prefix, stop=pq.stop, source=source)


def no_template(reason: str) -> str:
    """The refusal for a teacher that cannot render its chat template, saying which forms of the key fix it."""
    return (f"{reason} magpie builds its pre-query prompt from the model's chat template, so name it: set {KEY} "
            f"to the model's family ({', '.join(families())}), to a .jinja file holding its template, or to the "
            f"model's .gguf file (its tokenizer.chat_template is read), e.g. --set {KEY}=chatml. Queries are then "
            "drawn through POST /v1/completions, which the server must serve.")
