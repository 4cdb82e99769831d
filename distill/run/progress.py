"""What a run shows while it works, on stderr.

On a terminal: a live `rich` display — a bar with rate and ETA, and a status line with accepted / rejected / failed
per stage, calls of every role (new, cached, in flight, retries by reason), tokens, and the cost so far with its
projection to the end. Off a terminal (a log file, CI): the same status as a plain line every `log_every` seconds
(env `DISTILL_LOG_EVERY`, default 10) and once at the end. `--no-progress` turns both off.

The numbers come from the same counters as the final summary line (`summary_line`), so they never disagree.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from distill.engine.usage import RoleUsage, Usage


class Progress:
    def __init__(self, total: int | None, desc: str, enabled: bool | None = None, usage: Usage | None = None,
                 log_every: float | None = None) -> None:
        tty = sys.stderr.isatty()
        self.mode = "off" if enabled is False else ("live" if enabled or (enabled is None and tty) else "log")
        self.counts = {"accepted": 0, "rejected": 0, "failed": 0}
        self.usage = usage or Usage()
        self.stages: Mapping[str, Any] = {}  # the run's per-stage counters (StageCounts), set by the runner
        self.desc = desc
        self.phase_name = ""
        self.total = total
        self.done = 0
        self.log_every = log_every if log_every is not None else float(os.environ.get("DISTILL_LOG_EVERY", "10"))
        self._t0 = self._phase_t0 = self._last_log = time.monotonic()
        self._last_draw = 0.0
        self._live: Any = None
        self._task: Any = None
        if self.mode == "live":
            self._start_live()

    # --- what recipes and the engine call -------------------------------------------------------------------
    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n

    def phase(self, name: str, total: int | None) -> None:
        """Start a new phase of the run (self-instruct: bootstrap, then instances) with its own total and ETA."""
        self.phase_name, self.total, self.done = name, total, 0
        self._phase_t0 = time.monotonic()
        if self._live is not None:
            self._live.reset(self._task, total=total, description=self._label())
        if self.mode == "log":
            self._log()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.mode == "off":
            return
        now = time.monotonic()
        if self.mode == "live":
            self._live.update(self._task, advance=n)
            if now - self._last_draw > 0.25:
                self._last_draw = now
                self._live.update(self._task, status=self.status(), rate=f"{self.rate():.1f}/s")
        elif now - self._last_log >= self.log_every:
            self._log()

    def close(self) -> None:
        if self._live is not None:
            self._live.update(self._task, status=self.status())
            self._live.stop()
            self._live = None
        elif self.mode == "log" and self.done:
            self._log()

    # --- what it shows ----------------------------------------------------------------------------------------
    def rate(self) -> float:
        elapsed = time.monotonic() - self._phase_t0
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        rate = self.rate()
        if self.total is None or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def status(self) -> str:
        """accepted/rejected/failed per stage | calls of every role | tokens | cost so far and projected."""
        return " | ".join(part for part in (self._outcomes(), calls_text(self.usage.totals()),
                                            self._tokens_and_cost()) if part)

    def _outcomes(self) -> str:
        c = self.counts
        out = f"accepted {c['accepted']}, rejected {c['rejected']}, failed {c['failed']}"
        per_stage = []
        for name, s in self.stages.items():
            rejected = sum(s.rejected.values())
            if s.accepted or rejected or s.failed:
                per_stage.append(f"{name} {s.accepted}/{rejected}" + (f"/{s.failed}" if s.failed else ""))
        return out + (f" (accepted/rejected{'/failed' if c['failed'] else ''} by stage: {', '.join(per_stage)})"
                      if len(per_stage) > 1 else "")

    def _tokens_and_cost(self) -> str:
        t = self.usage.totals()
        out = f"tokens {_si(t.prompt_tokens)} in + {_si(t.completion_tokens)} out"
        if t.cost is None:
            return out + ", cost unknown (set price:)"
        out += f", ${t.cost:.4f}"
        if self.total and self.done and self.done < self.total and t.cost > 0:
            out += f" (projected ${t.cost * self.total / self.done:.4f})"
        return out

    def _label(self) -> str:
        return f"{self.desc} [{self.phase_name}]" if self.phase_name else self.desc

    def _log(self) -> None:
        now = time.monotonic()
        self._last_log = now
        of = f"/{self.total}" if self.total is not None else ""
        eta = self.eta()
        timing = f"{self.rate():.1f}/s" + (f", ETA {_duration(eta)}" if eta is not None else "")
        print(f"[{_duration(now - self._t0)}] {self._label()}: {self.done}{of} items ({timing}) | {self.status()}",
              file=sys.stderr, flush=True)

    def _start_live(self) -> None:
        from rich.console import Console, Group
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                           TextColumn("ETA"), TimeRemainingColumn())
        self._task = bar.add_task(self._label(), total=self.total, rate="")
        owner = self

        class View:  # the bar, then the status line, redrawn by Live a few times a second
            def __rich__(self) -> Group:
                return Group(bar, Text("  " + owner.status(), overflow="fold"))

        self._live = _LiveBar(Live(View(), console=Console(stderr=True), refresh_per_second=4), bar)
        self._live.start()


class _LiveBar:
    """A rich Live display around one Progress bar, with the small interface `Progress` uses."""

    def __init__(self, live: Any, bar: Any) -> None:
        self.live, self.bar = live, bar

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()

    def update(self, task: Any, **fields: Any) -> None:
        fields.pop("status", None)  # the status line is computed at each redraw
        self.bar.update(task, **fields)

    def reset(self, task: Any, **fields: Any) -> None:
        self.bar.reset(task, **fields)


def calls_text(t: RoleUsage) -> str:
    """`calls 120 new, 30 cached, 8 in flight, 4 retries (http_500 3, timeout 1), 2 failed` — every role."""
    out = f"calls {t.answered} new, {t.cache_hits} cached"
    if t.in_flight:
        out += f", {t.in_flight} in flight"
    if t.retries:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(t.retry_reasons.items(), key=lambda kv: -kv[1]))
        out += f", {t.retries} retries ({reasons})"
    if t.failed:
        out += f", {t.failed} failed"
    return out


def summary_line(folder: Any, counts: Mapping[str, int], usage: Usage, wall: float) -> str:
    """The line `distill run` ends with: the files' counts, then every role's calls, tokens and cost."""
    t = usage.totals()
    roles = ", ".join(f"{name} {r.answered}+{r.cache_hits}" for name, r in usage.roles.items()
                      if r.answered or r.cache_hits or r.failed)
    cost = "cost unknown" if t.cost is None else f"${t.cost:.4f}"
    return (f"wrote {folder}: {counts['data']} accepted, {counts['rejected']} rejected, {counts['failed']} failed | "
            f"{calls_text(t)}" + (f" [new+cached by role: {roles}]" if roles else "")
            + f" | tokens {_si(t.prompt_tokens)} in + {_si(t.completion_tokens)} out, {cost} | {wall:.1f}s"
            + _cut_text(usage))


def _cut_text(usage: Usage) -> str:
    """What timeouts cost in concurrency (engine/concurrency.py), with the setting that starts there next time."""
    cuts = [f"{name} down to {r.concurrency} at once" for name, r in usage.roles.items() if r.concurrency]
    if not cuts:
        return ""
    return (f" | timeouts: {', '.join(cuts)} (the endpoint answers fewer calls at once than max_concurrency; "
            "set max_concurrency lower to start there)")


def _si(n: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(int(n))


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
