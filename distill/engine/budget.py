"""The hard budget (`budget: {usd: 5, tokens: 100000}`, `distill run --max-cost USD --max-tokens-total N`): what a
run folder may spend, over all its runs, on every role together (teacher, judge, answering teacher, reward).

Before a request is sent, the engine reserves its worst case (`worst_case`): the prompt at one token per UTF-8
byte (no tokenizer makes more) plus a few per message, and `n` replies of `max_tokens` each, at the role's price.
A request whose reservation would take what was spent plus what is reserved past the budget waits until requests
in flight settle (each gives back its reservation and counts what it really cost); when nothing is in flight and
it still does not fit, the budget is reached: no request is sent after that, and the run stops like Ctrl+C does
(`BudgetReached`, exit 4). A request that does not say `max_tokens` is reserved at the provider's default, else
the model's context window, else `UNBOUNDED_REPLY` tokens.

What was spent before this run comes from the folder's usage history (`usage_ledger.py`): raising the budget and
running the same command again continues the run, and answers read from the cache cost nothing again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from distill.errors import DistillError, InputError
from distill.providers.base import GenerationParams, Message
from distill.providers.spec import Price, ProviderSpec

PER_MESSAGE = 8  # tokens a chat template adds around one message (role markers, separators), at most
UNBOUNDED_REPLY = 32_768  # tokens reserved for a reply of unknown bound (no max_tokens, no default, no context)
EXIT_CODE = 4


@dataclass(frozen=True)
class Spend:
    usd: float = 0.0
    tokens: int = 0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.usd + other.usd, self.tokens + other.tokens)


def priced(price: Price | None, prompt_tokens: int, completion_tokens: int) -> Spend:
    usd = 0.0 if price is None else (prompt_tokens * price.prompt_per_mtok
                                     + completion_tokens * price.completion_per_mtok) / 1e6
    return Spend(usd, prompt_tokens + completion_tokens)


def worst_case(messages: list[Message], params: GenerationParams, spec: ProviderSpec, price: Price | None) -> Spend:
    """The most one request of `messages` with `params` can cost (see the module doc)."""
    prompt = sum(len(str(m.get("content", "")).encode()) for m in messages) + PER_MESSAGE * (len(messages) + 1)
    reply = params.max_tokens or getattr(spec, "default_max_tokens", None) or spec.context_tokens or UNBOUNDED_REPLY
    return priced(price, prompt, params.n * reply)


class BudgetReached(DistillError):
    """The budget is reached: the next request could pass it. Nothing was sent past it; the run stops."""

    exit_code = EXIT_CODE

    def __init__(self, limit: Spend | None, spent: Spend, need: Spend, who: str, folder: Any = None) -> None:
        self.limit, self.spent, self.need, self.who, self.folder = limit, spent, need, who, folder
        super().__init__(self.paragraph())

    def in_folder(self, folder: Any) -> BudgetReached:
        return BudgetReached(self.limit, self.spent, self.need, self.who, folder)

    def paragraph(self) -> str:
        usd, tokens = (self.limit.usd, self.limit.tokens) if self.limit is not None else (0.0, 0)
        spent, need = [], []
        if usd:
            spent.append(f"${self.spent.usd:.4f} of its ${usd:g} budget")
            need.append(f"${self.need.usd:.4f}")
        if tokens:
            spent.append(f"{self.spent.tokens:,} of its {tokens:,} tokens")
            need.append(f"{self.need.tokens:,} tokens")
        where = (f" Every answer received so far is kept in {self.folder}/cache.sqlite and the records written so "
                 f"far in {self.folder}/*.jsonl.partial." if self.folder is not None else "")
        raise_it = " and ".join(([f"--max-cost {usd * 2:g}"] if usd else [])
                                + ([f"--max-tokens-total {tokens * 2}"] if tokens else []))
        return (f"Budget reached: the run folder has spent {' and '.join(spent)}, and the next request ({self.who}) "
                f"could cost up to {' / '.join(need)}, which would pass it, so the run stopped before sending "
                f"it.{where} To continue, raise the budget (e.g. {raise_it}, or `budget:` in the recipe) and run "
                "the same command again: answers already received are read from the cache and not paid for again.")


class Budget:
    """The reservations of one run against a `limit`, `earlier` being what the folder's earlier runs spent."""

    def __init__(self, limit: Spend, earlier: Spend) -> None:
        self.limit = limit
        self.earlier = earlier
        self.paid = Spend()        # what this run's requests cost, settled as they came back
        self.reserved = Spend()    # the worst case of the requests on their way
        self.holds = 0             # how many requests are on their way
        self._reached: BudgetReached | None = None
        self._changed = asyncio.Event()

    @property
    def spent(self) -> Spend:
        return self.earlier + self.paid

    def _fits(self, need: Spend) -> bool:
        spent, reserved = self.spent, self.reserved
        usd, tokens = self.limit.usd, self.limit.tokens
        return ((not usd or spent.usd + reserved.usd + need.usd <= usd * (1 + 1e-12))
                and (not tokens or spent.tokens + reserved.tokens + need.tokens <= tokens))

    async def reserve(self, need: Spend, who: str) -> None:
        """Hold `need` for a request `who` (role and model) is about to send; raises `BudgetReached` when it can
        never fit."""
        while True:
            if self._reached is not None:
                raise BudgetReached(self.limit, self.spent, self._reached.need, self._reached.who)
            if self._fits(need):
                self.reserved += need
                self.holds += 1
                return
            if self.holds == 0:  # nothing on its way will give anything back: it never fits
                self._reached = BudgetReached(self.limit, self.spent, need, who)
                self._wake()
                raise BudgetReached(self.limit, self.spent, need, who)
            changed = self._changed
            await changed.wait()

    def settle(self, need: Spend, cost: Spend | None) -> None:
        """Give back the reservation `need`; `cost` is what the request really cost (None: it got no answer)."""
        self.holds -= 1
        self.reserved = Spend() if self.holds == 0 else Spend(self.reserved.usd - need.usd,
                                                              self.reserved.tokens - need.tokens)
        if cost is not None:
            self.paid += cost
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()


def check_prices(roles: dict[str, ProviderSpec | None], usd: float | None) -> None:
    """A dollar budget needs every role's price: a role whose price is unknown fails here, before any call (exit
    2), naming the role and its model."""
    if not usd:
        return
    from distill.engine.prices import price_info

    for role, spec in roles.items():
        if spec is not None and price_info(spec).price is None:
            raise InputError(
                f"budget.usd is set, but the {role}'s model ({spec.label()}) has no known price, so what its calls "
                f"cost cannot be counted against it. Give it a price ({role}: {{price: {{prompt_per_mtok: ..., "
                "completion_per_mtok: ...}}, dollars per million tokens), or budget tokens instead of dollars "
                "(budget: {tokens: N}, or --max-tokens-total N).")


def earlier_spend(history: dict[str, dict[str, Any]], usd: float | None) -> Spend:
    """What the folder's earlier runs spent, from its usage history (`UsageLedger.earlier`). With a dollar budget,
    a history that holds answers of unknown price cannot be counted: that fails here (exit 2)."""
    spent = Spend()
    for role, entry in history.items():
        cost = entry.get("cost_usd")
        if cost is None and usd:
            raise InputError(
                f"budget.usd is set, but this run folder holds {role} answers paid for at an unknown price in an "
                "earlier run, so what it spent cannot be counted. Budget tokens instead (budget: {tokens: N}, or "
                "--max-tokens-total N), or give this run its own folder (--out).")
        spent += Spend(float(cost or 0.0), int(entry.get("prompt_tokens") or 0)
                       + int(entry.get("completion_tokens") or 0))
    return spent
