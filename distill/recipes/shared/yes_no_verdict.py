"""Reading a one-word yes / no verdict (self-instruct's "is it classification?", tool_use's checks): what small
models write first counts, anything else is unreadable, never a "no"."""

from __future__ import annotations

import re

from distill.quality.replies import UnreadableReply
from distill.text.reply_text import split_reasoning, strip_emphasis

# "Yes", or a short label then the verdict ("Decision: No", "Answer: yes": what small models write first)
_VERDICT = re.compile(r"(?:[a-z][a-z ]{0,30}:[ \t]{0,5})?(yes|no)(?![a-z])", re.IGNORECASE)
UNREADABLE_VERDICT = "unreadable_verdict"


def read_verdict(reply: str, finish_reason: str | None) -> bool:
    """The classification verdict as a bool: "Yes" ("**Yes.**", "yes, it is one", "Decision: Yes") is True, "No" is
    False. Any
    other reply (one cut off at the 3-token limit, "Decision:"; an echo of the question) raises UnreadableReply
    with reason "unreadable_verdict": it is counted as a rejection, never read as "no"."""
    m = _VERDICT.match(strip_emphasis(split_reasoning(reply)[0]).lstrip(" \t\r\n\"'#>`"))
    if m is not None:
        return m.group(1).lower() == "yes"
    cut = ", cut off at the token limit" if finish_reason == "length" else ""
    raise UnreadableReply(UNREADABLE_VERDICT, f"the classification verdict is neither yes nor no{cut}", reply[:400])
