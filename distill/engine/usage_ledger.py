"""The run folder's usage history: tokens and cost of every answer paid for in this folder, over all its runs.

A re-run reads most answers from the cache and pays nothing for them, so this run's counters (`usage.py`) alone
would make a cached re-run's manifest say 0 tokens and $0. The ledger is one row kept in the folder's cache file
(`CallCache.keep_ledger`), written in the same transaction as every batch of answers committed, so it counts
exactly the answers that reached the cache — a run that is interrupted or killed included. Each role's entry
holds `answered`, `prompt_tokens`, `completion_tokens` and `cost_usd` (None once any answer's price was
unknown). A cached call therefore contributes the tokens and cost recorded when it was first paid, and a folder
whose cache predates the ledger starts counting from the run that first opens it.
"""

from __future__ import annotations

from typing import Any

import orjson

from distill.engine.cache import CallCache
from distill.engine.usage import RoleUsage, Usage

PAID = ("answered", "prompt_tokens", "completion_tokens")


class UsageLedger:
    def __init__(self, cache: CallCache, usage: Usage) -> None:
        self.usage = usage
        earlier = cache.ledger()
        self.earlier: dict[str, dict[str, Any]] = earlier if isinstance(earlier, dict) else {}
        cache.keep_ledger(lambda: orjson.dumps(self.totals()))

    def totals(self) -> dict[str, dict[str, Any]]:
        """Every role's answers, tokens and cost over all runs of the folder, this one included."""
        out = {role: dict(entry) for role, entry in self.earlier.items()}
        for role, r in self.usage.roles.items():
            if not r.answered:
                continue
            entry = out.setdefault(role, {**dict.fromkeys(PAID, 0), "cost_usd": 0.0})
            for name in PAID:
                entry[name] = int(entry.get(name) or 0) + getattr(r, name)
            before = entry.get("cost_usd")
            entry["cost_usd"] = None if before is None or r.cost is None else before + r.cost_usd
        return out

    def manifest_usage(self) -> dict[str, dict[str, object]]:
        """The manifest's `usage`: per role, this run's calls (requests, cache hits, retries ...), and tokens and
        cost over the folder's whole history; `this_run` holds what this run alone paid."""
        now = self.usage.to_dict()
        history = self.totals()
        out: dict[str, dict[str, object]] = {}
        for role in [*now, *(r for r in history if r not in now)]:
            d = dict(now.get(role) or Usage(roles={role: RoleUsage()}).to_dict()[role])  # paid in earlier runs only
            d["this_run"] = {name: d[name] for name in ("prompt_tokens", "completion_tokens", "cost_usd")}
            paid = history.get(role)
            if paid is not None:
                d["answered_all_runs"] = paid["answered"]
                d["prompt_tokens"], d["completion_tokens"] = paid["prompt_tokens"], paid["completion_tokens"]
                d["cost_usd"] = None if paid["cost_usd"] is None else round(paid["cost_usd"], 6)
            else:
                d["answered_all_runs"] = d["answered"]
            out[role] = d
        return out
