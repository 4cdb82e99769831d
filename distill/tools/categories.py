"""The categories of tool-use examples (APIGen / xLAM, and the Berkeley Function-Calling Leaderboard's
irrelevance) and whether a finished dialogue's calls have the shape its category asks for.

- simple: one call of the one tool the request needs; multiple: several tools offered, one call of the right one;
- parallel: the same tool called two or more times at once; parallel_multiple: two or more different tools called;
- irrelevance: no tool fits the request, so the right answer makes no call at all.
"""

from __future__ import annotations

from typing import Literal

from distill.tools.calls import ToolCall

Category = Literal["simple", "multiple", "parallel", "parallel_multiple", "irrelevance"]
CATEGORIES: list[Category] = ["simple", "multiple", "parallel", "parallel_multiple", "irrelevance"]


def shape_problem(category: str, steps: list[list[ToolCall]]) -> str | None:
    """Why the calls (one list per assistant turn that called) do not fit `category`; None when they do."""
    calls = [call for step in steps for call in step]
    names = {call.name for call in calls}
    if category == "irrelevance":
        return f"called {sorted(names)} where no tool fits" if calls else None
    if not calls:
        return "answered without calling a tool"
    if category in ("simple", "multiple"):
        return None if len(calls) == 1 else f"{len(calls)} calls where one was asked for"
    if category == "parallel":
        first = steps[0]
        if len(first) < 2 or len({call.name for call in first}) != 1:
            return "the first turn does not call one tool several times at once"
        return None
    return None if len(names) >= 2 else "one tool called where two or more were asked for"
