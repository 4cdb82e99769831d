"""Knowledge-specific QA grounded in the user's documents: chunk with overlap (sized to the teacher's context),
generate several QA pairs of varied kinds per chunk, then check each pair against its chunk — supported by it
(faithfulness), standalone, answerable — and optionally require a verbatim quote (RAFT); exact and
near-duplicate questions and benchmark-overlapping questions are removed; then the quality gate. Optionally
render RAFT examples: the question with its oracle chunk (probability p) and distractor chunks as context.

Defaults: ~300-word chunks with 50 words overlap (RAFT uses 512 tokens), 4 pairs per chunk of the kinds
factual, yes/no, multi-step reasoning and comparison (Nemotron-CC's diverse-QA idea), one judge call per pair
answering the three checks together in JSON (InstructLab and NeMo ask separate calls; one call is cheaper and
keeps each verdict), RAFT p = 1.0 with 3 distractors when enabled (the RAFT code's defaults).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, ClassVar

from pydantic import BaseModel

from distill.engine.in_order import InOrder
from distill.errors import InputError
from distill.io.documents import Chunk, chunk_words, read_documents
from distill.recipes.base import Estimate, Recipe
from distill.recipes.knowledge_qa.options import KnowledgeOptions
from distill.recipes.knowledge_qa.parse import CHECKS, Checks, quotes_chunk
from distill.recipes.shared.qa_pairs_parse import QAPair, parse_pairs
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Answer, Stage
from distill.text.bounded_list import OVERFLOW_REASON, bounded
from distill.text.decontam import Decontaminator
from distill.text.dedup import Deduplicator

GENERATE = Stage("generate", "knowledge_qa/generate.j2", read=parse_pairs, truncated=None)  # a cut list: last pair off
CHECK: Stage[Checks] = Stage("check", "knowledge_qa/check.j2", role="judge", reply=Checks, schema_name="checks",
                             truncated=None, invalid="judge_unparseable")
FAILED_CHECK = {"supported": "unfaithful", "standalone": "not_standalone", "answerable": "not_answerable"}


class KnowledgeQA(Recipe):
    name = "knowledge_qa"
    summary = "QA pairs grounded in your documents, checked for faithfulness"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = KnowledgeOptions
    options: KnowledgeOptions

    def _chunks(self, cfg: Any, context: int | None) -> list[Chunk]:
        opts = self.options
        size = opts.chunk_words
        if context:  # leave room for the prompt frame (~300 tokens) and the reply; ~0.75 words per token
            room = int((context - (opts.generation.max_tokens or 768) - 300) * 0.75)
            if room < 50:
                raise InputError(f"options.generation.max_tokens leaves no room for a document chunk in the "
                                 f"teacher's {context}-token context")
            size = min(size, room)
        docs = read_documents(cfg.resolve(opts.documents), cfg.path_policy(), "options.documents")
        chunks = [c for doc, text in docs for c in chunk_words(doc, text, size, min(opts.overlap_words, size // 2))]
        return chunks[: cfg.num] if cfg.num else chunks

    def _variables(self, chunk: Chunk) -> dict[str, Any]:
        return {"chunk": chunk.text, "count": self.options.pairs_per_chunk, "types": self.options.kinds,
                "quote": self.options.require_quote}

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        return [GENERATE.messages(**self._variables(c)) for c in self._chunks(cfg, None)[:limit]]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        chunks = len(self._chunks(cfg, None))
        pairs = chunks * self.options.pairs_per_chunk
        return Estimate(candidates=pairs, about=True, basis=f"{self.options.pairs_per_chunk} pairs per chunk, "
                        "each checked by one judge call").add("teacher", chunks).add("judge", pairs)

    async def run(self) -> None:
        ctx, opts = self.ctx, self.options
        self.chunks = self._chunks(ctx.config, ctx.teacher.context_tokens)
        self.dedup = Deduplicator(threshold=opts.near_duplicate_threshold)
        paths = [ctx.config.resolve(p) for p in opts.decontaminate]
        self.decontam = Decontaminator.from_files(paths) if paths else None
        self.turns = InOrder()
        ctx.extra_manifest["knowledge"] = {"documents": len({c.doc for c in self.chunks}),
                                           "chunks": len(self.chunks)}
        await ctx.map(list(enumerate(self.chunks)), self._chunk)
        ctx.extra_manifest["dedup"] = self.dedup.stats
        if self.decontam is not None:
            ctx.extra_manifest["decontamination"] = self.decontam.report()

    async def _chunk(self, entry: tuple[int, Chunk]) -> None:
        i, chunk = entry
        replies = await self.ctx.ask(GENERATE, order_key(i), {"doc": chunk.doc, "chunk": chunk.index},
                                     variables=self._variables(chunk), params=self.options.generation)
        async with self.turns.turn(i):  # the dedup index sees chunks in order, whatever order replies came in
            jobs = self._screen(i, chunk, replies[0]) if replies else []  # (a failed chunk still takes its turn)
        await asyncio.gather(*jobs)

    def _screen(self, i: int, chunk: Chunk, reply: Answer[list[QAPair]]) -> list[Any]:
        """A chunk's pairs, without the contaminated, duplicate and unquoted ones: return the checks to run."""
        ctx, opts = self.ctx, self.options
        item = {"doc": chunk.doc, "chunk": chunk.index}
        kept = bounded(reply.value[:-1] if reply.cut else reply.value, opts.pairs_per_chunk)  # a cut-off last pair
        pairs = kept.items
        if not pairs:
            ctx.reject(order_key(i), "generate", "no_pairs_parsed", item, raw=reply.choice.text)
            return []
        if kept.overflow():
            ctx.reject(order_key(i), "generate", OVERFLOW_REASON, item, detail=kept.overflow())
        jobs = []
        for j, pair in enumerate(pairs):
            order = order_key(i, j + 1)
            pitem = {**item, "kind": pair.kind, "question": pair.question, "answer": pair.answer}
            if self.decontam is not None and self.decontam.contaminated(pair.question):
                ctx.reject(order, "decontaminate", "benchmark_overlap", pitem)
                continue
            dup = self.dedup.seen(pair.question)
            if dup:
                ctx.reject(order, "dedup", f"{dup}_duplicate_question", pitem)
                continue
            if opts.require_quote and not quotes_chunk(pair.answer, chunk.text):
                ctx.reject(order, "quote", "no_verbatim_quote", pitem)
                continue
            jobs.append(self._check(order, i, chunk, pair, pitem))
        return jobs

    async def _check(self, order: str, i: int, chunk: Chunk, pair: QAPair, pitem: dict[str, Any]) -> None:
        ctx = self.ctx
        verdicts = await ctx.ask(CHECK, order, pitem, variables={"chunk": chunk.text, "question": pair.question,
                                                                  "answer": pair.answer},
                                 temperature=0.0, max_tokens=64, n=1)
        if not verdicts:
            return
        checks = verdicts[0].value.passed()
        failed = [k for k in CHECKS if not checks[k]]
        if failed:
            ctx.reject(order, "check", FAILED_CHECK[failed[0]], pitem, raw=verdicts[0].choice.text, detail=checks)
            return
        context = self._raft_context(i, chunk) if self.options.raft else ""
        meta = {"recipe": self.name, "doc": chunk.doc, "chunk": chunk.index, "kind": pair.kind, "checks": checks,
                "teacher": ctx.teacher.spec.short_name(), "stages": ["generate", "check"], "scores": {}}
        if self.options.raft:
            meta["raft"] = {"oracle_included": chunk.text in context}
        record = make_record(instruction=pair.question, input=context, output=pair.answer, meta=meta)
        await ctx.submit(order, "check", record)

    def _raft_context(self, i: int, chunk: Chunk) -> str:
        raft = self.options.raft
        assert raft is not None
        rng = random.Random(f"{self.ctx.seed}:raft:{i}")
        others = [c.text for k, c in enumerate(self.chunks) if k != i]
        docs = rng.sample(others, min(raft.distractors, len(others)))
        if rng.random() < raft.p:
            docs.insert(rng.randrange(len(docs) + 1), chunk.text)
        return "\n\n".join(f"<DOCUMENT>{d}</DOCUMENT>" for d in docs)
