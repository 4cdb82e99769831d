"""Stop strings that match at the very start of a reply.

Servers (llama.cpp, vLLM, OpenAI) end a reply at the first occurrence of any stop string, including one at
position 0: a small model that begins by echoing the prompt's own format ("Task: ..." when "Task:" is a stop,
a blank line when "\\n\\n" is) comes back empty. Such a stop is an echo, not an end. The teacher (`teacher.py`)
sends a reply that came back empty at a stop once more without its stop strings, and `past_echo` cuts that second
reply here the way the server would have, except that stops at its start are stripped instead of ending it.

Guarantees: a reply with any text before its first stop is never touched (so cached answers and cache keys of
configs whose replies were fine are unchanged); the cut text never contains a stop string; a reply that is
empty even without stops stays empty.
"""

from __future__ import annotations

from distill.providers.base import Choice


def empty_at_stop(choice: Choice, stops: list[str] | None) -> bool:
    """Whether `choice` came back empty, ended by a stop: what a server returns when a stop string matched at
    the reply's very start (a reply of blanks, or one with text, had no stop at position 0)."""
    return bool(stops) and choice.finish_reason == "stop" and choice.text == ""


def past_echo(choice: Choice, stops: list[str]) -> Choice:
    """`choice` (asked without `stops`) with the stop strings at its start stripped, then cut at the first stop
    string after them, as the server would have cut it. Not cut: the server's own finish reason stays."""
    text, stops = choice.text, [s for s in stops if s]
    start, moved = 0, True
    while moved:  # strip leading echoes: "Task:", "\n\n", "Task:\n\nTask:", with whitespace between them
        moved = False
        skipped = len(text) - len(text[start:].lstrip())
        for stop in stops:
            for at in (start, skipped):
                if text.startswith(stop, at):
                    start, moved = at + len(stop), True
                    break
            if moved:
                break
    rest = text[start:].lstrip()
    ends = [k for k in (rest.find(s) for s in stops) if k >= 0]
    if not ends:
        return Choice(text=rest, finish_reason=choice.finish_reason, reasoning=choice.reasoning)
    return Choice(text=rest[:min(ends)], finish_reason="stop", reasoning=choice.reasoning)
