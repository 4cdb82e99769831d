"""`RunContext`: everything a recipe needs — teachers, inputs, the output streams and counters — and nothing
about how they are built. Recipes receive it; they never construct providers or files themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from distill.config import RunConfig
from distill.engine.teacher import CallFailed, Teacher
from distill.engine.window import sliding_window
from distill.errors import InputError
from distill.io.inputs import InputRow, Inputs
from distill.run.folder import RunFolder
from distill.run.progress import Progress
from distill.run.records import make_rejection

T = TypeVar("T")


@dataclass
class StageCounts:
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": dict(sorted(self.rejected.items())), "failed": self.failed}


@dataclass
class RunContext:
    config: RunConfig
    teacher: Teacher
    judge: Teacher | None
    folder: RunFolder
    progress: Progress
    stages: dict[str, StageCounts] = field(default_factory=dict)
    extra_manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return self.config.seed

    def inputs(self) -> Iterator[InputRow]:
        if self.config.input is None:
            raise InputError("this recipe needs an `input:` (a JSONL file or a datasets dataset) or --input PATH")
        return Inputs(self.config.input, self.config.num).rows()

    def stage(self, name: str) -> StageCounts:
        return self.stages.setdefault(name, StageCounts())

    # --- outcomes -------------------------------------------------------------------------------------------
    def accept(self, order: int, stage: str, record: dict[str, Any]) -> None:
        self.folder.write("data", order, record)
        self.stage(stage).accepted += 1
        self.progress.count("accepted")

    def reject(self, order: int, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
               detail: Any = None) -> None:
        self.folder.write("rejected", order, make_rejection(stage=stage, reason=reason, item=item, raw=raw,
                                                            detail=detail))
        counts = self.stage(stage).rejected
        counts[reason] = counts.get(reason, 0) + 1
        self.progress.count("rejected")

    def fail(self, order: int, stage: str, item: dict[str, Any], error: CallFailed) -> None:
        self.folder.write("failed", order, {"stage": stage, "item": item, "error": str(error.error),
                                            "attempts": error.attempts})
        self.stage(stage).failed += 1
        self.progress.count("failed")

    async def map(self, items: Iterable[T], worker: Callable[[T], Awaitable[None]], width: int | None = None
                  ) -> None:
        """Run `worker` over `items` in a sliding window wide enough to keep every teacher busy."""
        if width is None:
            width = 2 * (self.teacher.spec.max_concurrency + (self.judge.spec.max_concurrency if self.judge else 0))

        async def step(item: T) -> None:
            await worker(item)
            self.progress.advance()

        await sliding_window(items, step, width)
