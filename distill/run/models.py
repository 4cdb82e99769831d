"""The models a recipe may call: the teacher, the judge, the answering teacher and the quality gate (judge
rubrics and the reward model). Built by the runner from the config, each call dispatched by the run's executor
(in this process, or in Ray workers); recipes reach them as `ctx.teacher`, `ctx.judge`, `ctx.answerer`,
`ctx.gate` and never see a provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distill.engine.teacher import Teacher
    from distill.quality.gate import QualityGate


@dataclass
class Models:
    teacher: Teacher
    judge: Teacher | None = None
    answer_teacher: Teacher | None = None  # a recipe's separate answering model; the teacher when unset
    gate: QualityGate | None = None

    @property
    def answerer(self) -> Teacher:
        return self.answer_teacher or self.teacher

    @property
    def reward(self) -> Any:
        return self.gate.reward if self.gate is not None else None

    async def stop_batches(self) -> None:
        """End every batch dispatcher's work (batch mode): before the cache closes, whether the run ends or a
        fatal error stops it, so that no batch task outlives the run."""
        for teacher in {id(t): t for t in (self.teacher, self.judge, self.answer_teacher) if t}.values():
            await teacher.stop_batches()

    async def close(self) -> None:
        """Close the gate's reward model (the executor closes the providers it made) and the batch dispatchers."""
        await self.stop_batches()
        if self.gate is not None:
            await self.gate.close()
