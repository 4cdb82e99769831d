"""`RunContext`: what a recipe sees, and nothing about how it is built.

It joins three parts the runner makes:
* `models` (`run/models.py`): the teacher, judge, answering teacher and quality gate a recipe may call;
* `outcomes` (`run/outcomes.py`): the recorder of accepted / rejected / failed records, pairs and counters, which
  applies each work item's events when the item finishes and replays stored item logs;
* `executor` (`executors/`): where calls run and how work items are scheduled (`local`, `ray`).

Recipes call `ctx.teacher.complete(...)`, `ctx.accept / reject / fail / add_pair / passed / tally`,
`ctx.submit(...)` (through the quality gate), `ctx.call(...)` and `ctx.guard(...)` (calls whose failure becomes
the item's outcome, run/guard.py), `ctx.reading(...)` (reading a reply: what the reader raises rejects the item,
run/reply_guard.py), `ctx.ask(STAGE, ...)` (one stage's call from template to parsed answers, run/stage.py) and
`ctx.map(...)` (run independent work items).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from distill.config import RunConfig
from distill.engine.call_failure import CallFailed
from distill.engine.item_log import CURRENT, ItemLog
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.errors import InputError
from distill.executors.base import Executor
from distill.io.inputs import InputRow, Inputs
from distill.providers.base import Completion, GenerationParams, Message
from distill.quality.gate import QualityGate
from distill.quality.replies import UnreadableReply
from distill.quality.select import ScoreTable
from distill.run.folder import RunFolder
from distill.run.guard import CallGuard
from distill.run.models import Models
from distill.run.outcomes import Outcomes, StageCounts
from distill.run.progress import Progress
from distill.run.records import acceptance_problem
from distill.run.stage import Answer, Reject, Stage, ask, read, sampling
from distill.text.artefacts import user_texts

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["RunContext", "StageCounts"]


@dataclass
class RunContext:
    config: RunConfig
    models: Models
    outcomes: Outcomes
    executor: Executor
    fingerprint: bytes = b""  # see run/fingerprint.py; keys the item logs `map(memo=...)` keeps
    item_logs: bool = True  # False (a pilot, run/pilot.py): `map` neither replays nor keeps item logs

    # --- the models ---------------------------------------------------------------------------------------
    @property
    def teacher(self) -> Teacher:
        return self.models.teacher

    @property
    def judge(self) -> Teacher | None:
        return self.models.judge

    @property
    def answer_teacher(self) -> Teacher | None:
        return self.models.answer_teacher

    @property
    def answerer(self) -> Teacher:
        return self.models.answerer

    @property
    def gate(self) -> QualityGate | None:
        return self.models.gate

    # --- the run --------------------------------------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.config.seed

    def inputs(self) -> Iterator[InputRow]:
        if self.config.input is None:
            raise InputError("this recipe needs an `input:` (a JSONL file or a datasets dataset) or --input PATH")
        return Inputs(self.config.input, self.config.num).rows()

    @property
    def folder(self) -> RunFolder:
        return self.outcomes.folder

    @property
    def progress(self) -> Progress:
        return self.outcomes.progress

    @property
    def usage(self) -> Usage:
        return self.outcomes.usage

    @property
    def stages(self) -> dict[str, StageCounts]:
        return self.outcomes.stages

    @property
    def extra_manifest(self) -> dict[str, Any]:
        return self.outcomes.extra_manifest

    @property
    def scores(self) -> ScoreTable:
        return self.outcomes.scores

    def stage(self, name: str) -> StageCounts:
        return self.outcomes.stage(name)

    # --- outcomes -------------------------------------------------------------------------------------------
    def accept(self, order: str, stage: str, record: dict[str, Any]) -> None:
        self.outcomes.accept(order, stage, record)

    def reject(self, order: str, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
               detail: Any = None) -> None:
        self.outcomes.reject(order, stage, reason, item, raw, detail)

    def fail(self, order: str, stage: str, item: dict[str, Any], error: CallFailed) -> None:
        self.outcomes.fail(order, stage, item, error)

    def add_pair(self, order: str, pair: dict[str, Any]) -> None:
        self.outcomes.add_pair(order, pair)

    def passed(self, stage: str) -> None:
        """Count an item through a stage that writes no record of its own (kept in the item's log)."""
        self.outcomes.passed(stage)

    def tally(self, section: str, key: str, n: float = 1) -> None:
        """Add to a recipe's own manifest counter (`manifest[section][key]`); kept in the item's log, so a replayed
        item counts again."""
        self.outcomes.tally(section, key, n)

    def target(self, what: str, made: int, target: int, stopped: str | None = None) -> None:
        """Report that the recipe made `made` of the `target` `what` it set out to make (`stopped`: why it ended
        short). Kept in the manifest as `target`; a run short of it says so on the console and in the card, and
        `distill run` exits 1 when it made nothing (run/shortfall.py)."""
        self.extra_manifest["target"] = {"what": what, "made": made, "target": target,
                                         **({"stopped": stopped} if stopped and made < target else {})}

    def run_selection(self) -> list[bool] | None:
        return self.outcomes.run_selection()

    def guard(self, order: str, stage: str, item: dict[str, Any],
              on_unreadable: Callable[[UnreadableReply], None] | None = None) -> CallGuard:
        """`with ctx.guard(order, stage, item) as call:` around calls whose failure ends the item: an unreadable
        reply rejects `item`, a call out of retries fails it, and `call.stopped` tells the caller (run/guard.py)."""
        return CallGuard(self, order, stage, item, on_unreadable)

    def reading(self, order: str, stage: str, item: dict[str, Any], raw: str,
                on_unreadable: Callable[[UnreadableReply], None] | None = None) -> CallGuard:
        """`with ctx.reading(order, stage, item, raw) as read:` around the code that turns the reply `raw` into
        data (parsing, extracting, comparing answers): whatever it raises rejects `item` with the exception's
        class name as reason and the start of `raw` kept, `read.stopped` is True and the run goes on — on a
        fresh reply and on a cached one alike (run/reply_guard.py). Calls inside, and `on_unreadable`, behave as in
        `ctx.guard`."""
        return CallGuard(self, order, stage, item, on_unreadable, raw=raw)

    async def call(self, order: str, stage: str, item: dict[str, Any], work: Awaitable[R]) -> R | None:
        """Await `work` (a teacher call, a grading) and return its result; when the reply cannot be read, reject
        `item` with the reply's reason and raw text, and when the call ran out of retries, record `item` as
        failed — then return None, and the caller stops there. (`work` itself must not return None; for several
        calls, or a result that may be None, use `ctx.guard`.)

            completion = await ctx.call(order, "respond", item, ctx.teacher.complete(messages, params))
            if completion is None:
                return
        """
        with self.guard(order, stage, item):
            return await work
        return None

    @property
    def submits(self) -> bool:
        """Whether candidates must go through `submit` (a grading gate, or `turns:` to extend them)."""
        return (self.gate is not None and self.gate.grades) or self.config.turns > 1

    async def submit(self, order: str, stage: str, record: dict[str, Any], *, reference: str | None = None
                     ) -> None:
        """Send a candidate record through the quality gate (judge rubrics, reward model), then accept it with
        its scores or reject it; a selection, if configured, runs when every candidate is scored. With `turns:`
        N > 1 the record first becomes an N-turn conversation (run/multi_turn.py)."""
        if self.config.turns > 1:
            from distill.run import multi_turn

            extended = await multi_turn.extend(self, order, stage, record)
            if extended is None:
                return
            record = extended
        gate = self.gate
        if gate is None or not gate.grades or acceptance_problem(record):
            self.accept(order, stage, record)  # (a record failing the shared checks is rejected there, unjudged)
            return
        if self.config.turns > 1:
            from distill.run import multi_turn

            grading = multi_turn.assess(gate, record, reference)
        else:
            user = next(m["content"] for m in record["messages"] if m["role"] == "user")
            prompt = [m for m in record["messages"] if m["role"] != "assistant"]
            grading = gate.assess(user, record["output"], reference=reference, messages=prompt)
        result = await self.call(order, "quality", record, grading)
        if result is None:
            return
        meta = record.setdefault("meta", {})
        meta.setdefault("scores", {}).update(result.scores)
        if result.rationales:
            meta["rationales"] = result.rationales
        meta.setdefault("stages", []).append("quality")
        self.accept(order, "quality", record)

    async def submit_pair(self, order: str, stage: str, prompt: list[dict[str, str]], first: str, second: str,
                          meta: dict[str, Any]) -> None:
        """Judge two responses in both orders; agreeing verdicts give a preference pair, the rest are ties."""
        assert self.gate is not None
        instruction = next(m["content"] for m in prompt if m["role"] == "user")
        item = {"prompt": prompt, "first": first, "second": second, "meta": meta}
        cmp = await self.call(order, "pairwise", item, self.gate.compare(instruction, first, second))
        if cmp is None:
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

    # --- stages ---------------------------------------------------------------------------------------------
    async def ask(self, stage: Stage[T], order: str, item: dict[str, Any], *,
                  variables: Mapping[str, Any] | None = None, messages: Sequence[Message] | None = None,
                  system: str | None = None, params: GenerationParams | None = None,
                  sampled: GenerationParams | None = None, sample: int = 0, at: Callable[[int], str] | None = None,
                  reject: Reject | None = None, **overrides: Any) -> list[Answer[T]] | None:
        """One call of `stage`: its template rendered with `variables` (or `messages` as given), the role's
        sampling merged with `params` and `overrides`, the call made through the guard, and each choice checked
        (empty, cut off) and read — the answers read, or None when the call failed (run/stage.py).

            answers = await ctx.ask(SOLVE, order, item, variables={"problem": p}, params=opts.solve, n=8)
        """
        return await ask(self, stage, order, item, variables=variables, messages=messages, system=system,
                         params=params, sampled=sampled, sample=sample, at=at, reject=reject, **overrides)

    def sampling(self, stage: Stage[Any], params: GenerationParams | None = None, **overrides: Any
                 ) -> GenerationParams:
        """The sampling `ask` uses for `stage`: the role's defaults, `params`, then `overrides` (run/stage.py)."""
        return sampling(self, stage, params, **overrides)

    def read(self, stage: Stage[T], completion: Completion, order: str, item: dict[str, Any], *,
             at: Callable[[int], str] | None = None, reject: Reject | None = None) -> list[Answer[T]]:
        """`ask`'s reading of a reply already received (a cached one): the answers, the rest rejected."""
        return read(self, stage, completion, order, item, at=at, reject=reject)

    # --- work items -----------------------------------------------------------------------------------------
    def batch_width(self) -> int:
        """In batch mode, enough items for several full batches of each batch-mode model: every ready item
        queues its call, so batches are full when sent and several are in flight (the HTTP `max_concurrency`
        does not bound a batch). 0 otherwise."""
        models = {id(m): m for m in (self.teacher, self.judge, self.answer_teacher) if m is not None}
        return sum(m.batch_capacity for m in models.values())

    async def map(self, items: Iterable[T], worker: Callable[[T], Awaitable[None]], width: int | None = None,
                  fast: Callable[[T], bool] | None = None, memo: Callable[[T], tuple[int, bytes]] | None = None,
                  scope: str = "items") -> None:
        """Run `worker` over `items` through the executor, in a window wide enough to keep every teacher busy.

        Each item's outcomes are recorded in its item log and applied when it finishes (`run/outcomes.py`).
        `fast(item)` may finish an item synchronously (answers already cached) and return True; it must report
        no outcome when it returns False. `memo(item)`, for recipes whose items are independent and whose every
        effect goes through the outcome calls (no state of their own), returns the item's position and bytes
        that identify it: each finished item's log is kept (under `scope`, with the run's fingerprint), and a
        later run with the same fingerprint replays it without rendering a prompt or reading an answer."""
        if not self.item_logs:
            memo = None
        if width is None:
            width = 2 * (self.teacher.spec.max_concurrency + (self.judge.spec.max_concurrency if self.judge else 0))
        width = max(width, self.batch_width())
        cache, outcomes, progress = self.teacher.cache, self.outcomes, self.progress
        Entry = tuple[Any, int, bytes]  # (item, position, digest)

        def finish(entry: Entry, log: ItemLog) -> None:
            outcomes.apply(log.events)
            progress.advance()
            if entry[2] and not log.failed:
                cache.remember(scope, entry[1], entry[2], orjson.dumps(log.to_json()))

        async def step(entry: Entry) -> None:
            log = ItemLog(user_texts(entry[0]))
            token = CURRENT.set(log)
            try:
                await worker(entry[0])
            finally:
                CURRENT.reset(token)
            finish(entry, log)

        def quick(entry: Entry) -> bool:
            item, position, digest = entry
            if digest:
                stored = cache.recall(scope, position, digest)
                if stored is not None:
                    outcomes.replay(orjson.loads(stored))
                    progress.advance()
                    return True
            if fast is None:
                return False
            log = ItemLog(user_texts(item))
            token = CURRENT.set(log)
            try:
                done = fast(item)
            finally:
                CURRENT.reset(token)
            if done:
                finish(entry, log)
            return done

        def keyed(items: Iterable[T]) -> Iterator[Entry]:
            for item in items:
                if memo is None:
                    yield item, 0, b""
                else:
                    position, identity = memo(item)
                    yield item, position, hashlib.sha256(self.fingerprint + identity).digest()

        await self.executor.run(keyed(items), step, width, quick if (fast is not None or memo is not None) else None)
