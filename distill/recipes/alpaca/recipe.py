"""Alpaca (Taori et al. 2023): instruction, input and output generated together, many tasks per call.

Faithful by default to the released generation code: 3 seed demonstrations per prompt (seeds only, no machine
demos), a prompt asking for 20 tasks with the demos numbered 1-3 and item 4 left open, decoding temperature 1.0 /
top_p 1.0 / max 3072 tokens with stop sequences "\\n20", "20." (so at most 16 new tasks per call), the incomplete
last item dropped when a reply hits the length limit, self-instruct's filters plus the blacklist words video,
audio, music, flowchart, diagram, and ROUGE-L > 0.7 novelty against the pool. Differences: a chat turn instead of
a completion prompt, our own wording of the requirements, no logit bias against end-of-text (chat servers
end turns themselves), and 5 prompts as a sliding window read in order instead of batches of 5 that wait for
their slowest reply (`shared/bootstrap_window.py`; the same prompts, so the same dataset, only sooner).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

from pydantic import BaseModel

from distill.io.seed_tasks import SeedTask, load_seed_tasks
from distill.providers.base import Choice
from distill.recipes.alpaca.options import AlpacaOptions
from distill.recipes.alpaca.parse import AlpacaItem, parse_alpaca
from distill.recipes.base import Estimate, Recipe
from distill.recipes.shared.bootstrap_window import Window, bootstrap_window
from distill.recipes.shared.instruction_filters import (
    clean_instruction,
    instruction_rejection,
)
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Stage
from distill.text.bounded_list import OVERFLOW_REASON, bounded
from distill.text.rouge_novelty import NoveltyFilter

# its calls are made by the bootstrap window (shared/bootstrap_window.py), which hands each reply to the recipe
GENERATE: Stage[str] = Stage("generate", "alpaca/generate.j2")


class Alpaca(Recipe):
    name = "alpaca"
    summary = "Alpaca: instruction, input and output generated together"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = AlpacaOptions
    options: AlpacaOptions

    def _prompt(self, seed: int, seeds: list[SeedTask], slot: int) -> list[dict[str, str]]:
        rng = random.Random(f"{seed}:alpaca:{slot}")
        demos = [{"instruction": s.instruction, "input": s.instances[0].input, "output": s.instances[0].output}
                 for s in rng.sample(seeds, min(self.options.demos, len(seeds)))]
        return GENERATE.messages(demos=demos, num_tasks=self.options.tasks_per_prompt)

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        seeds = load_seed_tasks(cfg.resolve(self.options.seeds))
        return [self._prompt(cfg.seed, seeds, k) for k in range(min(limit, self.options.in_flight))]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        target = cfg.num or self.options.num_instructions
        listed = self.options.tasks_per_prompt - self.options.demos - 1  # the last one is cut by the stop
        kept = max(1, listed // 2)
        return Estimate(candidates=target, about=True, basis=f"{kept} of a reply's {listed} new tasks kept"
                        ).add("teacher", max(self.options.in_flight, -(-target // kept)))

    async def run(self) -> None:
        ctx, opts = self.ctx, self.options
        target = ctx.config.num or opts.num_instructions
        seeds = load_seed_tasks(ctx.config.resolve(opts.seeds))
        novelty = NoveltyFilter(opts.rouge_threshold, frequency_hint=[s.instruction for s in seeds])
        for s in seeds:
            novelty.add(s.instruction)
        accepted = 0

        def handle(choice: Choice, slot: int) -> list[Any]:
            nonlocal accepted
            items = parse_alpaca(choice.text, opts.demos + 1)
            if choice.finish_reason == "length" and items:
                items = items[:-1]  # the last item was cut off
            read = bounded(items, opts.tasks_per_prompt - opts.demos)  # the prompt numbers the list to the end
            items = read.items
            if not items:
                ctx.reject(order_key(slot), "generate", "no_items_parsed",
                           {"prompt": slot}, raw=choice.text)
            if read.overflow():
                ctx.reject(order_key(slot), "generate", OVERFLOW_REASON, {"prompt": slot}, detail=read.overflow())
            jobs = []
            for j, it in enumerate(items):
                if accepted >= target:
                    break
                job = self._consider(it, slot, j, novelty)
                if job is not None:
                    accepted += 1
                    jobs.append(job)
            return jobs

        params = ctx.sampling(GENERATE, opts.generation)
        window = Window("generate", opts.in_flight, opts.pool_lag or 4 * opts.in_flight, opts.patience, target)
        prompts = await bootstrap_window(ctx, window, params, lambda slot: self._prompt(ctx.seed, seeds, slot),
                                         lambda: accepted, handle)
        ctx.extra_manifest["alpaca"] = {"seeds": len(seeds), "instructions": accepted, "target": target,
                                        "prompts": prompts}
        ctx.target("instructions", accepted, target,
                   stopped=f"{opts.patience} prompts in a row added none: options.patience, after {prompts} prompts")

    def _consider(self, it: AlpacaItem | str, slot: int, j: int, novelty: NoveltyFilter) -> Any:
        ctx = self.ctx
        order = order_key(slot, j + 1)
        if isinstance(it, str):
            ctx.reject(order, "generate", "unparseable_item", {"prompt": slot}, raw=it)
            return None
        text = clean_instruction(it.instruction)
        item = {"prompt": slot, "instruction": text, "input": it.input, "output": it.output}
        reason = instruction_rejection(text, blacklist=tuple(self.options.blacklist)) if text else "empty"
        if reason is None and not it.output.strip():
            reason = "empty_output"
        if reason:
            ctx.reject(order, "generate", reason, item)
            return None
        kept, score, nearest = novelty.offer(text, exact_score=True)
        if not kept:
            ctx.reject(order, "generate", "rouge_l_above_threshold", item,
                       detail={"rouge_l": round(score, 4), "similar_to": nearest})
            return None
        meta = {"recipe": self.name, "prompt": slot, "item": j, "rouge_l_max_seen": round(score, 4),
                "teacher": ctx.teacher.spec.short_name(), "stages": ["generate"], "scores": {}}
        record = make_record(instruction=text, input=it.input, output=it.output.strip(), meta=meta)
        return ctx.submit(order, "generate", record)
