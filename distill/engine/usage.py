"""Counters of what the teachers cost: requests sent, retries, cache hits, failures, tokens and money."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from distill.providers.base import Completion
from distill.providers.spec import Price

PILOT_ONLY = ("cached_prompt_tokens", "cached_completion_tokens", "seconds", "timed_calls", "first_sent", "last_answer")


@dataclass
class RoleUsage:
    requests: int = 0          # HTTP requests / generations actually sent, retries included
    retries: int = 0
    cache_hits: int = 0
    answered: int = 0          # calls that got an answer this run (first try or after retries)
    failed: int = 0            # calls whose retries ran out
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True    # False once an answer came from a model whose price is unknown
    retry_reasons: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0         # a gauge for the live display; not written to the manifest
    rejected_prompts: int = 0  # refused as too long for the model's context (the item is rejected)
    capabilities: dict[str, object] = field(default_factory=dict)  # what the endpoint accepts (server_traits.py)
    batched: int = 0           # answers that came through a batch API, billed at its price (prices.batch_price)
    batch_price_factor: float | None = None  # that price relative to the immediate one (0.5: half), if batched
    stop_echoes: int = 0       # replies empty at a stop string matched at their start, asked again (stop_echo.py)
    concurrency: int | None = None  # calls at once the endpoint was cut down to after timeouts (concurrency.py)
    # for a pilot's measurements (run/pilot.py), not written to the manifest: the tokens of answers read from the
    # cache, and the seconds that answered calls took (retries included) and how many were timed
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    seconds: float = 0.0
    timed_calls: int = 0
    first_sent: float | None = None   # time.monotonic() when the first timed request was sent, and its last answer
    last_answer: float | None = None

    def add_answer(self, completion: Completion, price: Price | None) -> None:
        self.answered += 1
        self.prompt_tokens += completion.usage.prompt_tokens
        self.completion_tokens += completion.usage.completion_tokens
        if price is None:
            self.cost_known = False
        else:
            self.cost_usd += (completion.usage.prompt_tokens * price.prompt_per_mtok
                              + completion.usage.completion_tokens * price.completion_per_mtok) / 1e6

    def add_cached(self, completion: Completion) -> None:
        self.cached_prompt_tokens += completion.usage.prompt_tokens
        self.cached_completion_tokens += completion.usage.completion_tokens

    def timed(self, begun: float, ended: float) -> None:
        self.seconds += ended - begun
        self.timed_calls += 1
        self.first_sent = begun if self.first_sent is None else min(self.first_sent, begun)
        self.last_answer = ended if self.last_answer is None else max(self.last_answer, ended)

    @property
    def cost(self) -> float | None:
        """Dollars spent by this role in this run; None when a price is unknown (never a made-up 0.0)."""
        return self.cost_usd if self.cost_known else None

    def add_retry(self, reason: str) -> None:
        self.retries += 1
        self.retry_reasons[reason] = self.retry_reasons.get(reason, 0) + 1


@dataclass
class Usage:
    roles: dict[str, RoleUsage] = field(default_factory=dict)

    def role(self, name: str) -> RoleUsage:
        return self.roles.setdefault(name, RoleUsage())

    def to_dict(self) -> dict[str, dict[str, object]]:
        out = {}
        for name, r in self.roles.items():
            d = asdict(r)
            for hidden in ("in_flight", "cost_known", *PILOT_ONLY):
                del d[hidden]
            if d["concurrency"] is None:  # not cut: the manifest stays as it was
                del d["concurrency"]
            d["cost_usd"] = None if r.cost is None else round(r.cost_usd, 6)
            out[name] = d
        return out

    def totals(self) -> RoleUsage:
        """Every role added up (teacher, judge, answer, reward): what the summary line and the display show."""
        total = RoleUsage()
        for r in self.roles.values():
            for name in ("requests", "retries", "cache_hits", "answered", "failed", "prompt_tokens",
                         "completion_tokens", "in_flight", "batched"):
                setattr(total, name, getattr(total, name) + getattr(r, name))
            total.cost_usd += r.cost_usd
            total.cost_known = total.cost_known and r.cost_known
            for reason, n in r.retry_reasons.items():
                total.retry_reasons[reason] = total.retry_reasons.get(reason, 0) + n
        return total
