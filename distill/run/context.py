"""`RunContext`: everything a recipe needs — teachers, inputs, the output streams and counters — and nothing
about how they are built. Recipes receive it; they never construct providers or files themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from distill.config import RunConfig
from distill.engine.item_log import CURRENT, ItemLog, note_event, note_failure
from distill.engine.teacher import CallFailed, PromptRejected, Teacher
from distill.engine.usage import Usage
from distill.engine.window import sliding_window
from distill.errors import InputError
from distill.io.inputs import InputRow, Inputs
from distill.run.folder import RunFolder
from distill.run.progress import Progress
from distill.quality.gate import QualityGate
from distill.quality.replies import UnreadableReply
from distill.quality.select import ScoreTable, distribution, select
from distill.run.records import acceptance_problem, make_rejection

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
    gate: QualityGate | None = None
    answer_teacher: Teacher | None = None  # a recipe's separate answering model; the teacher when unset
    stages: dict[str, StageCounts] = field(default_factory=dict)
    extra_manifest: dict[str, Any] = field(default_factory=dict)
    scores: ScoreTable = field(default_factory=ScoreTable)
    usage: Usage = field(default_factory=Usage)
    fingerprint: bytes = b""  # see run/fingerprint.py; keys the item logs `map(memo=...)` keeps

    @property
    def answerer(self) -> Teacher:
        return self.answer_teacher or self.teacher

    @property
    def seed(self) -> int:
        return self.config.seed

    def inputs(self) -> Iterator[InputRow]:
        if self.config.input is None:
            raise InputError("this recipe needs an `input:` (a JSONL file or a datasets dataset) or --input PATH")
        return Inputs(self.config.input, self.config.num).rows()

    def stage(self, name: str) -> StageCounts:
        return self.stages.setdefault(name, StageCounts())

    def passed(self, stage: str) -> None:
        """Count an item through a stage that writes no record of its own (kept in the item's log)."""
        note_event("passed", stage)
        self.stage(stage).accepted += 1

    def tally(self, section: str, key: str, n: float = 1) -> None:
        """Add to a recipe's own manifest counter (`manifest[section][key]`); kept in the item's log, so a replayed
        item counts again."""
        note_event("tally", section, key, n)
        counts = self.extra_manifest.setdefault(section, {})
        counts[key] = counts.get(key, 0) + n

    # --- outcomes -------------------------------------------------------------------------------------------
    def accept(self, order: int, stage: str, record: dict[str, Any]) -> None:
        problem = acceptance_problem(record)  # the same checks for every recipe: records/acceptance_problem
        if problem is not None:
            self.reject(order, stage, problem, record)
            return
        note_event("accept", order, stage, record)
        self.folder.write("data", order, record)
        self.stage(stage).accepted += 1
        self.progress.count("accepted")
        if self.gate is not None:  # every accepted candidate's scores: for the histograms and for select:
            rules = self.gate.select.rules if self.gate.select else []
            groups = {r.group_by: str(_lookup(record, r.group_by)) for r in rules if r.group_by}
            self.scores.add(record.get("meta", {}).get("scores", {}), groups, order)

    @property
    def submits(self) -> bool:
        """Whether candidates must go through `submit` (a grading gate, or `turns:` to extend them)."""
        return (self.gate is not None and self.gate.grades) or self.config.turns > 1

    async def submit(self, order: int, stage: str, record: dict[str, Any], *, reference: str | None = None
                     ) -> None:
        """Send a candidate record through the quality gate (judge rubrics, reward model), then accept it with
        its scores or reject it; a selection, if configured, runs when every candidate is scored. With `turns:`
        N > 1 the record first becomes an N-turn conversation (recipes/multi_turn.py)."""
        if self.config.turns > 1:
            from distill.recipes import multi_turn

            extended = await multi_turn.extend(self, order, stage, record)
            if extended is None:
                return
            record = extended
        gate = self.gate
        if gate is None or not gate.grades or acceptance_problem(record):
            self.accept(order, stage, record)  # (a record failing the shared checks is rejected there, unjudged)
            return
        user = next(m["content"] for m in record["messages"] if m["role"] == "user")
        prompt = [m for m in record["messages"] if m["role"] != "assistant"]
        try:
            if self.config.turns > 1:
                from distill.recipes import multi_turn

                result = await multi_turn.assess(gate, record, reference)
            else:
                result = await gate.assess(user, record["output"], reference=reference, messages=prompt)
        except UnreadableReply as exc:
            self.reject(order, "quality", exc.reason, record, raw=exc.raw, detail=str(exc))
            return
        except CallFailed as exc:
            self.fail(order, "quality", record, exc)
            return
        meta = record.setdefault("meta", {})
        meta.setdefault("scores", {}).update(result.scores)
        if result.rationales:
            meta["rationales"] = result.rationales
        meta.setdefault("stages", []).append("quality")
        self.accept(order, "quality", record)

    async def submit_pair(self, order: int, stage: str, prompt: list[dict[str, str]], first: str, second: str,
                          meta: dict[str, Any]) -> None:
        """Judge two responses in both orders; agreeing verdicts give a preference pair, the rest are ties."""
        assert self.gate is not None
        instruction = next(m["content"] for m in prompt if m["role"] == "user")
        item = {"prompt": prompt, "first": first, "second": second, "meta": meta}
        try:
            cmp = await self.gate.compare(instruction, first, second)
        except UnreadableReply as exc:
            self.reject(order, "pairwise", exc.reason, item, raw=exc.raw, detail=str(exc))
            return
        except CallFailed as exc:
            self.fail(order, "pairwise", item, exc)
            return
        verdict = {"verdicts": cmp.verdicts, "rationales": cmp.rationales}
        if cmp.winner == "tie":
            self.reject(order, "pairwise", "pairwise_tie", item, detail=verdict)
            return
        chosen, rejected = (first, second) if cmp.winner == "first" else (second, first)
        self.add_pair(order, {
            "prompt": prompt, "chosen": prompt + [{"role": "assistant", "content": chosen}],
            "rejected": prompt + [{"role": "assistant", "content": rejected}],
            "meta": {**meta, "pairwise": verdict}})

    def add_pair(self, order: int, pair: dict[str, Any]) -> None:
        problem = acceptance_problem(pair)  # the shared checks, as for records
        if problem is not None:
            self.reject(order, "pairwise", problem, pair)
            return
        note_event("pair", order, pair)
        self.folder.write("pairs", order, pair)
        self.stage("pairwise").accepted += 1

    def run_selection(self) -> list[bool] | None:
        """Apply `select:` to every accepted candidate; move the dropped ones to rejected.jsonl."""
        if self.gate is None:
            return None
        self.extra_manifest["scores"] = {name: distribution(col) for name, col in self.scores.columns.items()}
        if self.gate.select is None:
            return None
        keep, reasons, stats = select(self.scores, self.gate.select)
        data = self.folder.streams["data"]
        counts = self.stage("select")
        for i, ok in enumerate(keep):
            if ok:
                counts.accepted += 1
                continue
            record = data.read(i)
            self.folder.write("rejected", data.orders[i], make_rejection(
                stage="select", reason=reasons[i] or "select", item=record))
            counts.rejected[reasons[i] or "select"] = counts.rejected.get(reasons[i] or "select", 0) + 1
        self.progress.counts["accepted"] -= keep.count(False)
        self.progress.counts["rejected"] += keep.count(False)
        self.extra_manifest["selection"] = stats
        return keep

    def reject(self, order: int, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
               detail: Any = None) -> None:
        note_event("reject", order, stage, reason, item, raw, detail)
        self.folder.write("rejected", order, make_rejection(stage=stage, reason=reason, item=item, raw=raw,
                                                            detail=detail))
        counts = self.stage(stage).rejected
        counts[reason] = counts.get(reason, 0) + 1
        self.progress.count("rejected")

    def fail(self, order: int, stage: str, item: dict[str, Any], error: CallFailed) -> None:
        if isinstance(error, PromptRejected):  # refused for good (too long for the context): a rejection
            self.reject(order, stage, error.reason, item, detail=str(error.error))
            return
        note_failure()
        self.folder.write("failed", order, {"stage": stage, "item": item, "error": str(error.error),
                                            "attempts": error.attempts})
        self.stage(stage).failed += 1
        self.progress.count("failed")

    async def map(self, items: Iterable[T], worker: Callable[[T], Awaitable[None]], width: int | None = None,
                  fast: Callable[[T], bool] | None = None, memo: Callable[[T], tuple[int, bytes]] | None = None,
                  scope: str = "items") -> None:
        """Run `worker` over `items` in a sliding window wide enough to keep every teacher busy.

        `fast(item)` may finish an item synchronously (answers already cached) and return True.
        `memo(item)`, for recipes whose items are independent and whose every effect goes through accept / reject /
        fail / add_pair / passed / tally (no state of their own), returns the item's position and bytes that
        identify it: each finished item's outcomes are kept (under `scope`, with the run's fingerprint), and a
        later run with the same fingerprint replays them without rendering a prompt or reading an answer."""
        if width is None:
            width = 2 * (self.teacher.spec.max_concurrency + (self.judge.spec.max_concurrency if self.judge else 0))
        cache = self.teacher.cache
        Entry = tuple[Any, int, bytes]  # (item, position, digest)

        def keep(entry: Entry, log: ItemLog) -> None:
            if entry[2] and not log.failed:
                cache.remember(scope, entry[1], entry[2], orjson.dumps(log.to_json()))

        async def step(entry: Entry) -> None:
            log = None
            if entry[2]:
                log = ItemLog()
                CURRENT.set(log)  # this task's own context
            await worker(entry[0])
            self.progress.advance()
            if log is not None:
                keep(entry, log)

        def quick(entry: Entry) -> bool:
            item, position, digest = entry
            if digest:
                stored = cache.recall(scope, position, digest)
                if stored is not None:
                    self._replay(orjson.loads(stored))
                    self.progress.advance()
                    return True
            if fast is None:
                return False
            log = ItemLog() if digest else None
            token = CURRENT.set(log)
            try:
                done = fast(item)
            finally:
                CURRENT.reset(token)
            if done:
                if log is not None:
                    keep(entry, log)
                self.progress.advance()
            return done

        def keyed(items: Iterable[T]) -> Iterator[Entry]:
            for item in items:
                if memo is None:
                    yield item, 0, b""
                else:
                    position, identity = memo(item)
                    yield item, position, hashlib.sha256(self.fingerprint + identity).digest()

        await sliding_window(keyed(items), step, width, quick if (fast is not None or memo is not None) else None)

    def _replay(self, log: dict[str, Any]) -> None:
        """Write a finished item's outcomes again, exactly as its first run did, and count its calls as cached."""
        for kind, *args in log["events"]:
            if kind == "accept":
                self.accept(*args)
            elif kind == "reject":
                self.reject(*args)
            elif kind == "pair":
                self.add_pair(*args)
            elif kind == "tally":
                self.tally(*args)
            elif kind == "passed":
                self.passed(*args)
        for role, n in log["calls"].items():
            self.usage.role(role).cache_hits += n


def _lookup(record: dict[str, Any], path: str) -> Any:
    """`meta.seed_id` -> record["meta"]["seed_id"] (None when absent)."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
