"""LAB (Sudalairaj et al. 2024, as implemented by InstructLab SDG): taxonomy-driven generation. Every leaf of the
taxonomy generates from its own seed examples only, so diversity comes from the tree, not from one pool.

* freeform skills: N new questions per seed (default 30), each prompt showing that one seed question as the
  example, as InstructLab does -> duplicate questions of the leaf dropped -> question judge (keep 1) -> answer ->
  pair judge 1-3 (keep >= 2);
* grounded skills: new contexts per seed (the seed's context as the example) -> questions per context (3, the
  seed question as the example) -> duplicate (context, question) pairs dropped -> question judge, which sees the
  context and must find the question answerable from it alone -> answer -> pair judge. The judges write their
  rationale before the score, as InstructLab's do;
* knowledge: the leaf's documents chunked (default ~1000 words, shrunk to fit the teacher's context) -> Q/A pairs
  for every (chunk, seed context) pair, the seed context and its three Q/A as the example (a chunk with nothing
  to ask about, such as an index, may say so: "nothing_to_ask") -> duplicate questions dropped -> faithfulness
  (keep YES) -> relevancy (keep 2 of 2) -> question quality (keep 1 of 1).
* mixing: skills and knowledge as chat records; knowledge also rendered RAFT-style (with p = 0.4 the gold chunk
  plus 3 distractor chunks, else 4 distractors, shuffled; a leaf with a single chunk has no distractors, so its
  RAFT rows hold the gold chunk alone, as InstructLab falls back to). Every record has `meta.leaf`; `select:` with
  `group_by: meta.leaf` caps or balances per leaf (pair scores are in `meta.scores["lab.pair"]`).

Differences from InstructLab SDG, on purpose: our own prompts and few-shot demos (the public faithfulness demo
labels an unsupported claim YES; ours labels it NO); no spell-checked copy of each chunk (InstructLab's `full`
pipeline generates from the original and a spell-checked chunk); foundational_skills leaves are generated like
compositional ones (InstructLab skips them); question generation samples at temperature 0.7 where InstructLab
uses 0 (one long list per prompt either way). `knowledge_pairing: rotate` gives each chunk one seed context in
turn, for 1/N of the generation calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from functools import partial
from typing import Any, ClassVar, TypeVar

import orjson
from pydantic import BaseModel

from distill.io.documents import chunk_words
from distill.quality.replies import UnreadableReply
from distill.recipes.base import Estimate, Recipe
from distill.recipes.lab.judges import (
    faithful,
    pair_ok,
    question_ok,
    relevant,
    standalone,
)
from distill.recipes.lab.options import LabOptions
from distill.recipes.lab.parse import parse_contexts, parse_questions
from distill.recipes.shared.qa_pairs_parse import parse_pairs
from distill.run.folder import order_key
from distill.run.guard import settle
from distill.run.records import make_record
from distill.run.reply_guard import reading
from distill.run.stage import Reject, Stage
from distill.taxonomy.model import Leaf, SeedQA
from distill.taxonomy.validate import load_taxonomy
from distill.text.bounded_list import OVERFLOW_REASON, bounded
from distill.text.dedup import normalized

NOTHING_TO_ASK = "NOTHING TO ASK"  # knowledge_generate.j2's reply for a chunk with no content to ask about
COUNTS = "lab_counts"  # per-leaf tallies (`ctx.tally`, so a replayed job counts again), folded into lab_leaves


def job_identity(entry: tuple[int, tuple[Any, ...]]) -> tuple[int, bytes]:
    """A job's position and everything its records depend on besides the configuration: its leaf's whole content
    (seeds, knowledge examples, documents) and which seed it starts from."""
    position, (method, _li, leaf, si, _seed) = entry
    blob = orjson.dumps([method.__name__, dataclasses.asdict(leaf), si], default=str)
    return position, blob


T = TypeVar("T")

# the generators' stages (a cut-off list reply loses its last question; contexts and pairs are kept as read)
FREEFORM = Stage("questions", "lab/freeform_questions.j2", read=parse_questions, truncated=None)
CONTEXTS = Stage("contexts", "lab/grounded_contexts.j2", read=parse_contexts, truncated=None)
GROUNDED = Stage("questions", "lab/grounded_questions.j2", read=parse_questions, truncated=None)
KNOWLEDGE = Stage("knowledge", "lab/knowledge_generate.j2", read=parse_pairs, truncated=None)
ANSWER: Stage[str] = Stage("answer", "lab/answer.j2", empty="empty_answer", truncated="truncated_answer")


class Lab(Recipe):
    name = "lab"
    summary = "LAB taxonomy-driven generation: skills and knowledge leaves, each from its own seeds"
    Options: ClassVar[type[BaseModel]] = LabOptions
    options: LabOptions

    def _leaves(self, cfg: Any) -> list[Leaf]:
        """The taxonomy's leaves, every file read inside the config's files root (`RunConfig.path_policy`)."""
        return load_taxonomy(cfg.resolve(self.options.taxonomy), cfg.path_policy(), named_by="options.taxonomy")

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        leaves = self._leaves(cfg)
        out = []
        for leaf in leaves[:limit]:
            if leaf.kind == "freeform":
                out.append(self._freeform_prompt(leaf, leaf.seeds[0]))
            elif leaf.kind == "grounded":
                out.append(self._contexts_prompt(leaf))
        return out

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        """From the taxonomy: skills ask for at most `questions_per_seed` (`contexts_per_seed` x
        `questions_per_context`) questions per seed, each judged, answered and judged again; knowledge asks for
        `pairs_per_chunk` pairs per (chunk, seed context), each checked by three judges."""
        o, out = self.options, Estimate(about=True, basis="every question the prompts ask for is listed and new")
        for leaf in self._leaves(cfg):
            if leaf.kind == "knowledge":
                examples = min(len(leaf.knowledge), o.max_seeds_per_leaf or len(leaf.knowledge))
                chunks = sum(len(chunk_words(name, text, o.chunk_words, 0)) for name, text in leaf.documents)
                units = chunks * (examples if o.knowledge_pairing == "all" else 1)
                out.add("teacher", units).add("judge", 3 * units * o.pairs_per_chunk)
                out.candidates += units * o.pairs_per_chunk
                continue
            seeds = len(leaf.seeds[: o.max_seeds_per_leaf])
            if leaf.kind == "freeform":
                questions = seeds * o.questions_per_seed
                out.add("teacher", seeds)
            else:
                questions = seeds * o.contexts_per_seed * o.questions_per_context
                out.add("teacher", seeds + seeds * o.contexts_per_seed)
            out.add("teacher", questions).add("judge", 2 * questions)
            out.candidates += questions
        return out

    async def run(self) -> None:
        ctx = self.ctx
        self.leaves = self._leaves(ctx.config)
        self.judge = ctx.judge or ctx.teacher
        jobs: list[tuple[Any, ...]] = []
        for li, leaf in enumerate(self.leaves):  # one job per leaf: duplicates are dropped across the whole leaf
            jobs.append((self._knowledge if leaf.kind == "knowledge" else self._skills, li, leaf, 0, None))
        ctx.extra_manifest[COUNTS] = {}
        await ctx.map(list(enumerate(jobs)), lambda entry: entry[1][0](*entry[1][1:]), memo=job_identity)
        counts = ctx.extra_manifest.pop(COUNTS)
        ctx.extra_manifest["lab_leaves"] = {leaf.path: {"kind": leaf.kind, **{
            what: int(counts.get(f"{leaf.path}\t{what}", 0)) for what in ("generated", "accepted", "rejected")}}
            for leaf in self.leaves}

    def _count(self, leaf: Leaf, what: str, n: int = 1) -> None:
        self.ctx.tally(COUNTS, f"{leaf.path}\t{what}", n)

    # --- shared helpers --------------------------------------------------------------------------------
    @staticmethod
    def _skill_key(li: int, si: int, j: int) -> str:
        """Leaf, then skills (0) before knowledge (1), then seed, then question (0: the seed's own outcomes)."""
        return order_key((li, 0, si), j)

    @staticmethod
    def _knowledge_key(li: int, k: int, e: int, j: int, raft: bool = False) -> str:
        """Leaf, knowledge (1), chunk, seed context, pair (0: the generation's own outcomes), then the plain row
        before its RAFT row. Structured, so no number of chunks, contexts or pairs can reach another's key."""
        return order_key((li, 1, k), (e, j, int(raft)))

    def _rejecter(self, leaf: Leaf) -> Reject:
        """`ctx.reject` for a stage's rejections: counted against the leaf, the leaf named in the item."""
        def reject(order: str, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
                   detail: Any = None) -> None:
            self._reject(leaf, order, stage, reason, item, raw, detail)
        return reject

    def _reject(self, leaf: Leaf, order: str, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
                detail: Any = None) -> None:
        self._count(leaf, "rejected")
        self.ctx.reject(order, stage, reason, {"leaf": leaf.path, **item}, raw=raw, detail=detail)

    def _unreadable(self, leaf: Leaf, order: str, item: dict[str, Any], exc: UnreadableReply) -> None:
        """A LAB judge's reply that cannot be read: rejected under `judge` and counted against its leaf."""
        self._reject(leaf, order, "judge", exc.reason, item, exc.raw)

    def _unreadable_at(self, leaf: Leaf, order: str, stage: str, item: dict[str, Any], exc: UnreadableReply) -> None:
        self._reject(leaf, order, stage, exc.reason, item, exc.raw)

    def _freeform_prompt(self, leaf: Leaf, seed: SeedQA) -> list[dict[str, str]]:
        """One seed question as the example (InstructLab's way); each seed of the leaf gets its own prompt."""
        return FREEFORM.messages(task=leaf.task, examples=[seed.question], count=self.options.questions_per_seed)

    def _contexts_prompt(self, leaf: Leaf, seed: SeedQA | None = None) -> list[dict[str, str]]:
        """The seed's own context as the one example."""
        seed = seed or next(s for s in leaf.seeds if s.context)
        return CONTEXTS.messages(task=leaf.task, examples=[seed.context], count=self.options.contexts_per_seed)

    # --- skills ------------------------------------------------------------------------------------------
    async def _skills(self, li: int, leaf: Leaf, _si: int, _seed: Any) -> None:
        """Every seed's questions, then one pass in seed order that drops the leaf's duplicate questions (for
        grounded skills, a duplicate is the same question about the same context), then judges and answers."""
        seeds = leaf.seeds[: self.options.max_seeds_per_leaf]
        ask = self._freeform if leaf.kind == "freeform" else self._grounded
        groups = await asyncio.gather(*(ask(li, leaf, si, seed) for si, seed in enumerate(seeds)))
        seen: set[str] = set()
        jobs = []
        for si, questions in enumerate(groups):
            for j, (question, context) in enumerate(questions):
                key = normalized(question if context is None else f"{context}\n{question}")
                if key in seen:
                    self._reject(leaf, self._skill_key(li, si, j + 1), "dedup", "duplicate_question",
                                 {"seed": si, "question": question, "context": context})
                    continue
                seen.add(key)
                jobs.append(self._one_skill(li, leaf, si, j, question, context))
        await asyncio.gather(*jobs)

    async def _freeform(self, li: int, leaf: Leaf, si: int, seed: SeedQA) -> list[tuple[str, str | None]]:
        base = self._skill_key(li, si, 0)
        replies = await self.ctx.ask(FREEFORM, base, {"leaf": leaf.path, "seed": si},
                                     messages=self._freeform_prompt(leaf, seed), params=self.options.generation,
                                     reject=self._rejecter(leaf))
        if not replies:
            return []
        reply = replies[0]
        questions = reply.value[:-1] if reply.cut else reply.value
        kept = self._bounded(leaf, base, "questions", questions, self.options.questions_per_seed, {"seed": si})
        return self._generated(li, leaf, si, [(q, None) for q in kept], reply.choice.text)

    async def _grounded(self, li: int, leaf: Leaf, si: int, seed: SeedQA) -> list[tuple[str, str | None]]:
        base = self._skill_key(li, si, 0)
        replies = await self.ctx.ask(CONTEXTS, base, {"leaf": leaf.path, "seed": si},
                                     messages=self._contexts_prompt(leaf, seed), params=self.options.generation,
                                     reject=self._rejecter(leaf))
        if not replies:
            return []
        contexts = self._bounded(leaf, base, "contexts", replies[0].value, self.options.contexts_per_seed,
                                 {"seed": si})
        examples = [seed.question]
        sampled = self.ctx.sampling(GROUNDED, self.options.generation)

        async def questions_for(c: int, context: str) -> list[tuple[str, str | None]]:
            prompt = GROUNDED.messages(task=leaf.task, context=context, examples=examples,
                                       count=self.options.questions_per_context)
            r = await self.ctx.teacher.complete(prompt, sampled)
            with reading(r.choices[0].text):
                questions = parse_questions(r.choices[0].text)
            return [(q, context) for q in self._bounded(leaf, base, "questions", questions,
                                                        self.options.questions_per_context,
                                                        {"seed": si, "context": c})]

        with self.ctx.guard(base, "questions", {"leaf": leaf.path, "seed": si},
                            partial(self._unreadable_at, leaf, base, "questions", {"seed": si})) as call:
            groups = await settle(*(questions_for(c, x) for c, x in enumerate(contexts)))
        if call.stopped:
            return []
        return self._generated(li, leaf, si, [q for g in groups for q in g], replies[0].choice.text)

    def _bounded(self, leaf: Leaf, order: str, stage: str, items: list[T], asked: int, item: dict[str, Any]
                 ) -> list[T]:
        """The items a list reply may give (`bounded`); a reply with more is rejected once, with the count."""
        read = bounded(items, asked)
        if read.overflow():
            self._reject(leaf, order, stage, OVERFLOW_REASON, item, detail=read.overflow())
        return read.items

    def _generated(self, li: int, leaf: Leaf, si: int, questions: list[tuple[str, str | None]], raw: str
                   ) -> list[tuple[str, str | None]]:
        if not questions:
            self._reject(leaf, self._skill_key(li, si, 0), "questions", "no_questions_parsed", {"seed": si}, raw)
        self._count(leaf, "generated", len(questions))
        return questions

    async def _one_skill(self, li: int, leaf: Leaf, si: int, j: int, question: str, context: str | None) -> None:
        ctx, order = self.ctx, self._skill_key(li, si, j + 1)
        item = {"seed": si, "question": question, "context": context}
        unreadable = partial(self._unreadable, leaf, order, item)
        with ctx.guard(order, "skill", {"leaf": leaf.path, **item}, unreadable) as call:
            ok, qscore, raw = await question_ok(self.judge, leaf.task, question, context)
            if not ok:
                self._reject(leaf, order, "question_judge", "question_judge_0", item, raw)
                return
            reply = await ctx.teacher.complete(ANSWER.messages(task=leaf.task, question=question, context=context,
                                                               examples=leaf.seeds[:3]),
                                               ctx.sampling(ANSWER, self.options.answer))
            answers = ctx.read(ANSWER, reply, order, item, reject=self._rejecter(leaf))
            if not answers:
                return
            answer = answers[0].text
            ok, pscore, raw = await pair_ok(self.judge, leaf.task, question, answer, context)
            if not ok:
                self._reject(leaf, order, "pair_judge", "pair_judge_below_2", {**item, "answer": answer}, raw)
                return
        if call.stopped:
            return
        meta = {"recipe": self.name, "leaf": leaf.path, "leaf_kind": leaf.kind, "seed": si, "form": "qa",
                "teacher": ctx.teacher.spec.short_name(), "stages": ["questions", "question_judge", "answer",
                                                                     "pair_judge"],
                "scores": {"lab.question": qscore, "lab.pair": pscore}, **self.reasoning_meta(answers[0].choice)}
        user = question if context is None else f"{context}\n\n{question}"
        self._count(leaf, "accepted")
        await ctx.submit(order, "pair_judge", make_record(instruction=user, output=answer, meta=meta))

    # --- knowledge ---------------------------------------------------------------------------------------
    async def _knowledge(self, li: int, leaf: Leaf, _si: int, _seed: Any) -> None:
        examples = min(len(leaf.knowledge), self.options.max_seeds_per_leaf or len(leaf.knowledge))
        size = self.options.chunk_words
        context = self.ctx.teacher.context_tokens
        if context:  # room for the reply, the prompt frame and the longest example (~0.75 words per token)
            example = max(len(s.context.split()) + sum(len(f"{q.question} {q.answer}".split()) for q in s.qa[:3])
                          for s in leaf.knowledge[:examples])
            room = context - (self.options.generation.max_tokens or 1024) - 400 - int(example / 0.75)
            size = max(50, min(size, int(room * 0.75)))
        chunks = [c.text for name, text in leaf.documents for c in chunk_words(name, text, size, 0)]
        units = [(k, e) for k in range(len(chunks)) for e in (
            range(examples) if self.options.knowledge_pairing == "all" else [k % examples])]
        seen: set[str] = set()
        results = await asyncio.gather(*(self._chunk_pairs(li, leaf, k, e, chunks[k]) for k, e in units))
        jobs = []
        # in (chunk, seed context) order: which duplicate stays is fixed
        for (k, e), pairs in zip(units, results, strict=True):
            chunk = chunks[k]
            for j, pair in enumerate(pairs):
                order = self._knowledge_key(li, k, e, j + 1)
                key = normalized(pair.question)
                if key in seen:
                    self._reject(leaf, order, "dedup", "duplicate_question", {"question": pair.question})
                    continue
                seen.add(key)
                jobs.append(self._one_knowledge(li, leaf, k, e, j, chunk, chunks, pair))
        await asyncio.gather(*jobs)

    async def _chunk_pairs(self, li: int, leaf: Leaf, k: int, e: int, chunk: str) -> list[Any]:
        example = leaf.knowledge[e]
        base = self._knowledge_key(li, k, e, 0)
        replies = await self.ctx.ask(KNOWLEDGE, base, {"leaf": leaf.path, "chunk": k, "seed_context": e},
                                     variables={"domain": leaf.task, "outline": leaf.outline, "chunk": chunk,
                                                "example_context": example.context, "examples": example.qa[:3],
                                                "count": self.options.pairs_per_chunk},
                                     params=self.options.generation, reject=self._rejecter(leaf))
        if not replies:
            return []
        text = replies[0].choice.text
        pairs = self._bounded(leaf, base, "knowledge", replies[0].value, self.options.pairs_per_chunk,
                              {"chunk": k, "seed_context": e})
        if not pairs:
            nothing = NOTHING_TO_ASK in text.upper()
            self._reject(leaf, base, "knowledge", "nothing_to_ask" if nothing else "no_pairs_parsed",
                         {"chunk": k, "seed_context": e}, text)
        self._count(leaf, "generated", len(pairs))
        return pairs

    async def _one_knowledge(self, li: int, leaf: Leaf, k: int, e: int, j: int, chunk: str,
                             chunks: list[str], pair: Any) -> None:
        ctx, order = self.ctx, self._knowledge_key(li, k, e, j + 1)
        item = {"chunk": k, "question": pair.question, "answer": pair.answer}
        unreadable = partial(self._unreadable, leaf, order, item)
        with ctx.guard(order, "knowledge_judges", {"leaf": leaf.path, **item}, unreadable) as call:
            checks = (("faithfulness", lambda: faithful(self.judge, chunk, pair.answer)),
                      ("relevancy", lambda: relevant(self.judge, pair.question, pair.answer)),
                      ("question_quality", lambda: standalone(self.judge, pair.question)))
            for stage, check in checks:  # in order; the first failing judge decides
                ok, _, raw = await check()
                if not ok:
                    self._reject(leaf, order, stage, f"{stage}_failed", item, raw)
                    return
        if call.stopped:
            return
        meta = {"recipe": self.name, "leaf": leaf.path, "leaf_kind": "knowledge", "chunk": k,
                "teacher": ctx.teacher.spec.short_name(), "stages": ["generate", "faithfulness", "relevancy",
                                                                     "question_quality"], "scores": {}}
        self._count(leaf, "accepted")
        await ctx.submit(order, "knowledge", make_record(instruction=pair.question, output=pair.answer,
                                                         meta={**meta, "form": "qa"}))
        rng = random.Random(f"{ctx.seed}:lab-raft:{order}")
        others = [c for i, c in enumerate(chunks) if i != k]
        gold = rng.random() < self.options.raft_p or not others  # no distractors: the gold chunk alone
        docs = rng.sample(others, min(len(others), self.options.raft_distractors + (0 if gold else 1)))
        if gold:
            docs.append(chunk)
        rng.shuffle(docs)
        context = "\n\n".join(f"Document:\n{d}" for d in docs)
        await ctx.submit(self._knowledge_key(li, k, e, j + 1, raft=True), "knowledge", make_record(
            instruction=pair.question, input=context, output=pair.answer,
            meta={**meta, "form": "raft", "gold_included": gold}))
