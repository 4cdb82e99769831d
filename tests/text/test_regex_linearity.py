"""Every regex that reads model text runs in linear time (issue 29, "Super-linear regexes").

The regexes are found in the source (tests/regex_probe.py: every `re.*` call and every compiled pattern a
module holds, under distill/recipes, distill/text, distill/quality and distill/providers), not listed by hand,
so a new parser is checked the day it is written. Each runs the way the code calls it (`match`, `search`,
`finditer`, ...) on inputs built from the pattern: long runs of whitespace and newlines, its own literal pieces
repeated, and every repetition in it reached by a prefix and fed a long run of what it accepts.

Speed is compared, not timed: the input grows 4x at each step and the CPU time of the call may grow at most
GROWTH times (linear is 4x, quadratic 16x, cubic 64x). Times under FLOOR are read as FLOOR, so the noise of
sub-millisecond calls cannot fail a step; a step is re-measured before it fails. The ladder stops once a call
takes STOP, so a super-linear pattern fails within seconds instead of running for minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from regex_probe import Found, adversarial, inventory

SIZES = (250, 1000, 4000, 16000, 64000)
CLIMB = 0.001  # past 16000 characters only while a call takes this long: a cheap call is cheap
GROWTH = 10.0
FLOOR = 0.002
STOP = 0.1

FOUND, UNKNOWN = inventory()


def test_every_regex_call_site_is_in_the_inventory() -> None:
    """A pattern built from a function's locals cannot be probed until the inventory has sample locals."""
    assert UNKNOWN == []
    assert len(FOUND) > 50  # the scan reads the real package (about 80 patterns), not an empty folder


def _runner(pattern: re.Pattern[str], use: str) -> Callable[[str], object]:
    if use in ("sub", "subn"):
        return lambda s: getattr(pattern, use)("", s)
    if use in ("findall", "finditer", "split"):
        return lambda s: list(getattr(pattern, use)(s)) if use == "finditer" else getattr(pattern, use)(s)
    return getattr(pattern, use)  # type: ignore[no-any-return]


def _cpu(run: Callable[[str], object], text: str, tries: int = 1) -> float:
    best = float("inf")
    for _ in range(tries):
        start = time.process_time()
        run(text)
        best = min(best, time.process_time() - start)
    return best


def superlinear_steps(found: Found, enough: int = 3) -> list[str]:
    """The steps at which a call on one of the pattern's adversarial inputs grew more than GROWTH times (the
    first `enough` of them: each costs the slow call that shows it)."""
    failures: list[str] = []
    for use in sorted(found.uses):
        run = _runner(found.pattern, use)
        for name, make in adversarial(found.pattern).items():
            if len(failures) >= enough:
                return failures
            before = None
            for n in SIZES:
                if n > 16000 and (before or 0) < CLIMB:
                    break
                text = make(n)
                took = _cpu(run, text)
                if before is not None and took / max(before, FLOOR) > GROWTH:
                    took = _cpu(run, text, 2) if took < 1 else took  # a hiccup is re-measured; seconds are not
                    before = min(before, _cpu(run, make(n // 4), 3))
                    if took / max(before, FLOOR) > GROWTH:
                        failures.append(f"{use} on {name}: {took / max(before, FLOOR):.0f}x the time for 4x the "
                                        f"input ({before * 1e3:.1f} ms -> {took * 1e3:.1f} ms at {len(text)} chars)")
                        break
                if took > STOP:
                    break
                before = took
    return failures


@pytest.mark.parametrize("found", FOUND, ids=[f.where for f in FOUND])
def test_regex_is_linear_on_adversarial_text(found: Found) -> None:
    assert superlinear_steps(found) == [], found.pattern.pattern


def test_the_probe_catches_the_shapes_of_issue_29() -> None:
    """The suite fails on the patterns issue 29 measured (quadratic and cubic on runs of spaces), so a linear
    verdict means something."""
    for source in (r"^\s*(<\s*no\s*-?\s*input\s*>|no input|none|n/?a)\s*\.?\s*$",  # alpaca's old NO_INPUT
                   r"answer\s*(?:is|:|=)\s*\**\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?(?:/\d+)?)",  # self_improve's ANSWER_IS
                   r"^\s*2[.)][ \t]"):  # MULTILINE \s* over runs of newlines: quadratic under search
        found = Found("old", re.compile(source, re.IGNORECASE | re.MULTILINE), {"search"})
        assert superlinear_steps(found, enough=1), source
