"""Magpie (Xu et al. 2024, arXiv 2406.08464): instructions with no seed at all. An aligned model is sent only
its chat template's pre-query prefix (the text up to where a user's message begins) as a raw completion, so it
writes a user query itself; the query is filtered, tagged, deduplicated and then answered as a normal chat turn.

The prefix comes from the model's own template (GGUF `tokenizer.chat_template`, the tokenizer config, or the
server's rendering — see recipes/magpie/pre_query.py), so it needs a teacher with raw completions: the embedded model,
`transformers`, or an OpenAI-compatible server with /v1/completions (vLLM, llama-server, llama-cpp-python's
server). A server that cannot render its template (llama-cpp-python's `python -m llama_cpp.server` has no
/apply-template) takes it from `chat_template`: a family name, a .jinja file or the model's .gguf
(recipes/magpie/chat_templates.py); without it the run stops before any call saying so (exit 2). A teacher without raw
completions stops the run with a message (exit 1) at its first query.

Defaults follow the paper and its released code: queries at temperature 1.0, top_p 1.0; answers greedy
(temperature 0, top_p 1.0) from the same model; difficulty and input-quality tags on the five-point scales of the
Magpie datasets (very easy .. very hard, very poor .. excellent); the filtered releases' rules: input quality at
least "good", incomplete queries (ending in ":") and repetitive ones dropped, English only, duplicates removed.
Differences: tags come from one judge call per query (the paper used one call per tag, with Llama-3-8B-Instruct
as the tagger); duplicates are found by word 3-gram MinHash (Jaccard >= 0.8) instead of the paper's sentence
embedding nearest-neighbour distance; language is a dependency-free heuristic (text/query_checks.py), not a
classifier; there is no reward-model difference filter (add `reward:` and `select:` for one); max_tokens are
ours (512 for a query, 1024 for an answer), and the query count is `count` (or --num), not 4M.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar, get_args

from pydantic import BaseModel, field_validator

from distill.engine.in_order import InOrder
from distill.providers.base import Completion
from distill.recipes.base import Estimate, Recipe
from distill.recipes.magpie import chat_templates
from distill.recipes.magpie.options import Difficulty, MagpieOptions, Quality
from distill.recipes.magpie.pre_query import SENTINEL, PreQuery, pre_query
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Rejected, Stage
from distill.text.dedup import Deduplicator
from distill.text.query_checks import query_rejection

DIFFICULTY: list[str] = list(get_args(Difficulty))
QUALITY: list[str] = list(get_args(Quality))


class Tags(BaseModel):
    """The tag judge's reply (prompts/magpie/tag.j2): the schema sent and the reading, in any case and spacing."""

    difficulty: Difficulty
    quality: Quality

    @field_validator("*", mode="before")
    @classmethod
    def _label(cls, value: Any) -> str:
        return str(value).strip().lower()


QUERY: Stage[str] = Stage("query")  # a raw completion of the pre-query prefix; its reader: the options' checks
TAG: Stage[Tags] = Stage("tag", "magpie/tag.j2", role="judge", reply=Tags, schema_name="magpie_tags",
                         truncated=None, invalid="tag_unparseable")
ANSWER: Stage[str] = Stage("answer", role="answerer", empty="empty")  # the query itself is the prompt


class Magpie(Recipe):
    name = "magpie"
    summary = "Magpie: user queries drawn from the pre-query template alone, then answered"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = MagpieOptions
    options: MagpieOptions

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        system = [{"role": "system", "content": self.options.system}] if self.options.system else []
        return [system + [{"role": "user", "content": f"(the model writes this turn; raw prompt = the text "
                                                      f"before {SENTINEL} in its chat template)"}]]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        count = cfg.num or self.options.count
        out = Estimate(candidates=count).add("teacher", count).add("answer", count)
        return out.add("judge", count) if self.options.tags else out

    async def run(self) -> None:
        ctx, opts = self.ctx, self.options
        cfg = ctx.config
        template = chat_templates.load(opts.chat_template, cfg._base, cfg.path_policy()) if opts.chat_template \
            else None  # read and compiled before any call: a bad file stops the run with nothing paid
        self.pq: PreQuery = await pre_query(ctx.teacher, opts.system, template)
        self.dedup = Deduplicator(threshold=opts.near_duplicate_threshold, near=opts.dedup == "near")
        self.turns = InOrder()
        self.query = replace(QUERY, read=partial(
            screened, min_words=opts.min_words, max_words=opts.max_words, language=opts.language,
            max_repetition=opts.max_repetition, drop_incomplete=opts.drop_incomplete))
        count = ctx.config.num or opts.count
        ctx.extra_manifest["magpie"] = {"pre_query_template": self.pq.prefix, "stop": self.pq.stop,
                                        "chat_template": self.pq.source, "queries": count}
        await ctx.map(range(count), self._one)
        if opts.dedup != "off":
            ctx.extra_manifest["dedup"] = self.dedup.stats

    async def _one(self, i: int) -> None:
        ctx, opts = self.ctx, self.options
        item: dict[str, Any] = {"index": i}
        params = ctx.sampling(self.query, opts.query, seed=ctx.seed * 1_000_003 + i,
                              stop=(opts.query.stop or []) + self.pq.stop or None)
        reply = await ctx.call(order_key(i), "query", item, ctx.teacher.complete_raw(self.pq.prefix, params, sample=i))
        async with self.turns.turn(i):  # the dedup index sees queries in index order, whatever order they came
            query = self._screen(i, item, reply) if reply is not None else None  # (a failed query takes its turn)
        if query is not None:
            await self._answer(i, query)

    def _screen(self, i: int, item: dict[str, Any], reply: Completion) -> str | None:
        ctx, opts = self.ctx, self.options
        order = order_key(i)
        item["query"] = reply.choices[0].text.strip()
        read = ctx.read(self.query, reply, order, item)
        if not read:
            return None
        query = read[0].value
        if opts.dedup != "off":
            dup = self.dedup.seen(query)
            if dup:
                ctx.reject(order, "dedup", f"{dup}_duplicate", item)
                return None
        return query

    async def _answer(self, i: int, query: str) -> None:
        ctx, opts = self.ctx, self.options
        order, item = order_key(i), {"index": i, "query": query}
        system = [{"role": "system", "content": opts.system}] if opts.system and opts.answer_with_system else []
        prompt = system + [{"role": "user", "content": query}]  # the model's query is sent as it is
        calls = [ctx.answerer.complete(prompt, ctx.sampling(ANSWER, opts.answer))]
        if opts.tags:
            calls.append((ctx.judge or ctx.teacher).complete(TAG.messages(query=query),
                                                             ctx.sampling(TAG, opts.tag_generation, n=1)))
        results: list[Any] = await asyncio.gather(*calls, return_exceptions=True)  # both end and are cached
        with ctx.guard(order, "answer", item) as call:
            call.check(results)
        if call.stopped:
            return
        scores: dict[str, float] = {}
        tags: dict[str, str] = {}
        if opts.tags:
            read = ctx.read(TAG, results[1], order, item)
            if not read:
                return
            tags = read[0].value.model_dump()
            scores = {"magpie.difficulty": DIFFICULTY.index(tags["difficulty"]) + 1,
                      "magpie.quality": QUALITY.index(tags["quality"]) + 1}
            if opts.min_quality and QUALITY.index(tags["quality"]) < QUALITY.index(opts.min_quality):
                ctx.reject(order, "tag", "low_quality", {**item, "tags": tags})
                return
            if opts.min_difficulty and DIFFICULTY.index(tags["difficulty"]) < DIFFICULTY.index(opts.min_difficulty):
                ctx.reject(order, "tag", "too_easy", {**item, "tags": tags})
                return
        answers = ctx.read(ANSWER, results[0], order, item)
        if not answers:
            return
        answer = answers[0].text
        meta = {"recipe": self.name, "index": i, "teacher": ctx.teacher.spec.short_name(),
                "stages": ["query", "tag", "answer"] if opts.tags else ["query", "answer"], "scores": scores,
                **self.reasoning_meta(answers[0].choice)}
        if tags:
            meta["tags"] = tags
        if opts.system:
            meta["system"] = opts.system
        record = make_record(instruction=query, output=answer, meta=meta,
                             system=opts.system if opts.keep_system else None)
        await ctx.submit(order, "answer", record)


def screened(text: str, **checks: Any) -> str:
    """A drawn query that passes the filters (text/query_checks.py), else `Rejected` with the filter's reason."""
    reason = query_rejection(text, **checks)
    if reason:
        raise Rejected(reason)
    return text
