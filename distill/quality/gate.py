"""The quality gate: grade a candidate with the judge's rubrics and the reward model, and hand back its scores.

Score columns: `judge.<rubric>` per rubric, and `reward` (one logit / one number) or `reward.<attribute>`.
A reply that cannot be read raises `UnreadableReply` — the caller rejects the record and keeps the raw reply — once
every other aspect's call has ended (each one answered, cached and counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distill.providers.base import Message
from distill.quality.config import QualitySpec, SelectSpec
from distill.quality.judge import Comparison, Judge
from distill.quality.reward import RewardScorer
from distill.quality.rubrics import Rubric, load_rubric
from distill.run.guard import settle


@dataclass
class Assessment:
    scores: dict[str, float] = field(default_factory=dict)
    rationales: dict[str, str] = field(default_factory=dict)


class QualityGate:
    def __init__(self, spec: QualitySpec, judge: Judge | None, reward: RewardScorer | None,
                 select: SelectSpec | None) -> None:
        self.spec = spec
        self.judge = judge
        self.reward = reward
        self.select = select
        self.rubrics: list[Rubric] = [load_rubric(r) for r in spec.rubrics()]

    @property
    def grades(self) -> bool:
        return bool(self.rubrics) or self.reward is not None

    async def assess(self, instruction: str, response: str, *, reference: str | None = None,
                     messages: list[Message] | None = None) -> Assessment:
        out = Assessment()
        jobs: list[Any] = []
        if self.judge is not None:
            jobs += [self.judge.grade(instruction, response, r, reference) for r in self.rubrics]
        if self.reward is not None:
            convo = messages or [{"role": "user", "content": instruction}]
            jobs.append(self.reward.score(convo + [{"role": "assistant", "content": response}]))
        results = await settle(*jobs)  # one unreadable aspect never leaves the others' calls running
        for rubric, grade in zip(self.rubrics if self.judge else [], results, strict=False):  # the reward's is last
            out.scores[f"judge.{rubric.name}"] = grade.score
            out.rationales[rubric.name] = grade.rationale
        if self.reward is not None:
            scores: dict[str, float] = results[-1]
            if list(scores) == ["reward"]:
                out.scores["reward"] = scores["reward"]
            else:
                out.scores.update({f"reward.{k}": v for k, v in scores.items()})
        return out

    async def compare(self, instruction: str, first: str, second: str) -> Comparison:
        assert self.judge is not None
        return await self.judge.compare(instruction, first, second, self.spec.pairwise_criteria)

    async def close(self) -> None:
        if self.reward is not None:
            await self.reward.close()
