"""Reward models as filters: a scorer maps a (prompt, response) conversation to named scores.

* `transformers`: a sequence-classification model loaded by path or id (see `reward_transformers.py`).
* `openai`: a served reward model behind an OpenAI-compatible endpoint, e.g. NVIDIA's Nemotron reward models,
  which answer a chat completion whose last turn is the assistant's response with the attribute scores as the
  message text: "helpfulness:3.1,correctness:3.3,coherence:3.8,complexity:1.2,verbosity:1.5". A bare number is
  read as a single `reward` score.

Scores are cached like teacher answers: a re-run scores nothing twice.
"""

from __future__ import annotations

import math
import re
from typing import Any, Protocol

from distill.engine.cache import CallCache, call_key
from distill.engine.teacher import Teacher
from distill.providers.base import GenerationParams, Message
from distill.quality.replies import MAX_REPLY_CHARS, UnreadableReply
from distill.run.reply_guard import reading

_PAIR = re.compile(r"(?<![\w\-])([A-Za-z_][\w\-]{0,63})\s{0,8}[:=]\s{0,8}"  # a name starts at a word start
                   r"(-?\d{1,12}(?:\.\d{1,12})?(?:[eE]-?\d{1,3})?)(?![\d.]*\d)")  # not a prefix of a longer number


class RewardScorer(Protocol):
    async def score(self, messages: list[Message]) -> dict[str, float]: ...

    async def close(self) -> None: ...


def parse_reward_text(text: str) -> dict[str, float]:
    pairs = _PAIR.findall(text[:MAX_REPLY_CHARS])  # linear: names start at a word start, repeats are bounded
    scores = {name: float(value) for name, value in pairs} if pairs else {"reward": _bare(text.strip())}
    if not all(math.isfinite(v) for v in scores.values()):
        raise ValueError(f"cannot read reward scores from {text[:200]!r}")
    return scores


def _bare(text: str) -> float:
    if len(text) > 40 or not re.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text):
        raise ValueError(f"cannot read reward scores from {text[:200]!r}")
    return float(text)


class ServedReward:
    def __init__(self, teacher: Teacher) -> None:
        self.teacher = teacher

    async def score(self, messages: list[Message]) -> dict[str, float]:
        completion = await self.teacher.complete(messages, GenerationParams(n=1, max_tokens=1))
        raw = completion.choices[0].text
        with reading(raw):
            try:
                return parse_reward_text(raw)
            except ValueError as exc:
                raise UnreadableReply("reward_unparseable", f"reward {self.teacher.label}: {exc}", raw) from None

    async def close(self) -> None:
        await self.teacher.close()


class CachedScorer:
    """Wraps an in-process scorer with the run's call cache."""

    def __init__(self, inner: Any, identity: dict[str, Any], cache: CallCache) -> None:
        self.inner = inner
        self.identity = identity
        self.cache = cache

    async def score(self, messages: list[Message]) -> dict[str, float]:
        key = call_key(self.identity, messages, {}, 0)
        hit = self.cache.get_raw(key)
        if hit is not None:
            return dict(hit)
        scores = await self.inner.score(messages)
        await self.cache.put_raw(key, "reward", scores)
        return scores  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.inner.close()
