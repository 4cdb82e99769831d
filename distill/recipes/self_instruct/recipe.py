"""self-instruct (Wang et al. 2022): bootstrap new instructions from seed tasks, identify classification tasks,
generate instances (output-first for classification, input-first otherwise), filter, then the quality gate.

Faithful by default to the paper's code: 8 in-context instructions (6 human seeds + 2 accepted machine ones,
fewer while few exist), a numbered list left open at 9, decoding temperature 0.7 / top_p 0.5 / presence penalty
2 / max 1024 tokens with the stop sequences "\\n\\n", "\\n16", "16.", "16 .", 5 prompts at a time, replies cut
by the length limit discarded, the same instruction filters and the ROUGE-L > 0.7 novelty rule applied
sequentially; classification identification at temperature 0 with 3 tokens; instances at temperature 0 with
presence penalty 1.5, at most 5 per task. Deliberate differences, each switchable:
* chat models, not GPT-3 completions: the list is sent as a user turn and the reply is read as its continuation;
  a reply's lead-in, reasoning block, markdown and closing remarks are not tasks (`parse.py`), and a
  reply the "\\n\\n" stop cut down to its lead-in ("Sure! Here are more tasks:" and a blank line) is asked once
  more without that stop (counted in the manifest as `asked_again_without_blank_line_stop`);
* our own, shorter few-shot demonstrations for stages 2 and 3 (10 and 4+3 worked tasks instead of 31, 11, 16),
  so the prompts fit small local teachers;
* the 5 prompts run as a sliding window read in order, not as batches that wait for their slowest reply (see
  `shared/bootstrap_window.py`), so a prompt shows machine instructions from replies up to 20 prompts before it
  (`pool_lag`, default 4 x `in_flight`) where a batch showed those up to 5 before; `pool_lag: 5` restores that;
* str.capitalize() is not applied (it lower-cases "SQL", "Python"); `capitalize_quirk: true` restores it.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel

from distill.io.seed_tasks import SeedTask, load_seed_tasks
from distill.providers.base import Choice, Completion, GenerationParams
from distill.recipes.base import Estimate, Recipe
from distill.recipes.self_instruct.options import SelfInstructOptions
from distill.recipes.self_instruct.parse import (
    RawInstance,
    conflicting,
    instance_rejection,
    parse_input_first,
    parse_output_first,
)
from distill.recipes.shared.bootstrap_window import Window, bootstrap_window
from distill.recipes.shared.instruction_filters import clean_instruction, instruction_rejection
from distill.recipes.shared.numbered_list_parse import parse_numbered
from distill.recipes.shared.yes_no_verdict import read_verdict
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.stage import Stage
from distill.text.bounded_list import OVERFLOW_REASON, bounded
from distill.text.rouge_novelty import NoveltyFilter

BOOTSTRAP, CLASSIFY, INSTANCES = 0, 1, 2  # order-key stages
LIST_END = 16  # the paper's bootstrap list ends before task 16 (the default stops hold "16.")
COUNTS = "self_instruct_counts"  # tallies (`ctx.tally`, so a replayed task counts again)
COUNTS_BOOTSTRAP = "self_instruct_bootstrap"  # replies cut to a lead-in by the "\n\n" stop and asked again

# the bootstrap list's calls are made by the window (shared/bootstrap_window.py); classify and instances through
# ctx.ask, their replies read by the recipe (a verdict's reading needs its finish reason; cut-off instances
# lose their last one)
GENERATE_TASKS: Stage[str] = Stage("bootstrap", "self_instruct/bootstrap.j2")
CLASSIFY_TASK: Stage[str] = Stage("classify", "self_instruct/is_classification.j2", truncated=None)
WRITE_INSTANCES: dict[bool, Stage[str]] = {  # by whether the task is a classification
    False: Stage("instances", "self_instruct/instances_input_first.j2", truncated=None),
    True: Stage("instances", "self_instruct/instances_output_first.j2", truncated=None)}


class SelfInstruct(Recipe):
    name = "self_instruct"
    summary = "self-instruct: bootstrap instructions from seed tasks, then instances, filters and the gate"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = SelfInstructOptions
    options: SelfInstructOptions

    def _seeds(self, cfg: Any) -> list[SeedTask]:
        seeds = load_seed_tasks(cfg.resolve(self.options.seeds))
        if self.options.classification_seeds_only:
            seeds = [s for s in seeds if s.is_classification]
        return seeds

    def _prompt(self, seed: int, seeds: list[SeedTask], machine: list[dict[str, Any]], slot: int
                ) -> list[dict[str, str]]:
        rng = random.Random(f"{seed}:bootstrap:{slot}")
        picked = [m["instruction"] for m in rng.sample(machine, min(self.options.machine_demos, len(machine)))]
        total = self.options.human_demos + self.options.machine_demos
        humans = rng.sample([s.instruction for s in seeds], min(total - len(picked), len(seeds)))
        demos = [clean_instruction(t, self.options.capitalize_quirk) for t in humans + picked]
        rng.shuffle(demos)
        return GENERATE_TASKS.messages(instructions=demos, classification=self.options.classification_seeds_only)

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        seeds = self._seeds(cfg)
        return [self._prompt(cfg.seed, seeds, [], k) for k in range(min(limit, self.options.in_flight))]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        target = cfg.num or self.options.num_instructions
        listed = 15 - self.options.human_demos - self.options.machine_demos  # numbers up to 15 (the stop is "16")
        kept = max(1, listed // 2)
        prompts = max(self.options.in_flight, -(-target // kept))
        return Estimate(candidates=target * self.options.max_instances, about=True,
                        basis=f"{kept} of a bootstrap reply's {listed} new instructions kept; then one "
                              "classification call and one instances call per instruction"
                        ).add("teacher", prompts + 2 * target)

    async def run(self) -> None:
        ctx = self.ctx
        target = ctx.config.num or self.options.num_instructions
        seeds = self._seeds(ctx.config)
        novelty = NoveltyFilter(self.options.rouge_threshold, frequency_hint=[s.instruction for s in seeds])
        for s in seeds:
            novelty.add(s.instruction)
        machine = await self._bootstrap(seeds, novelty, target)
        # each instruction's instances are independent of the others: kept as item logs, so a re-run replays them
        ctx.extra_manifest[COUNTS] = {}
        ctx.progress.phase("instances", len(machine))
        await ctx.map(list(enumerate(machine)), self._task, width=2 * ctx.teacher.spec.max_concurrency,
                      memo=lambda entry: (entry[0], orjson.dumps(entry[1])))
        classification = int(ctx.extra_manifest.pop(COUNTS).get("classification", 0))
        ctx.extra_manifest["self_instruct"] = {"seeds": len(seeds), "instructions": len(machine),
                                               "target": target, "classification_tasks": classification}
        ctx.target("instructions", len(machine), target,
                   stopped=f"{self.options.patience} bootstrap prompts in a row added none: options.patience, after "
                           f"{ctx.extra_manifest['bootstrap_prompts']} prompts")

    async def _bootstrap(self, seeds: list[SeedTask], novelty: NoveltyFilter, target: int) -> list[dict[str, Any]]:
        ctx, opts = self.ctx, self.options
        machine: list[dict[str, Any]] = []
        first_number = opts.human_demos + opts.machine_demos + 1
        asked = max(1, LIST_END - first_number)  # the prompt's list continues to item LIST_END - 1

        lag = max(opts.pool_lag or 4 * opts.in_flight, opts.in_flight)

        def prompt(slot: int) -> list[dict[str, str]]:
            # the instructions of replies 0 .. slot - lag (of reply 0 from in_flight on; none before): what the window
            # has read when it makes this prompt without holding back, so a prompt made later (near the target, or
            # as patience runs out) is the same prompt, and a larger target's first prompts are a smaller one's
            seen = max(0, slot - lag) if slot >= opts.in_flight else -1
            return self._prompt(ctx.seed, seeds, [m for m in machine if m["prompt"] <= seen], slot)

        def handle(choice: Choice, slot: int) -> list[Any]:
            item = {"prompt": slot}
            if choice.finish_reason == "length":
                ctx.reject(order_key(slot, 0, BOOTSTRAP), "bootstrap", "truncated_response", item, raw=choice.text)
                return []
            read = bounded(parse_numbered(choice.text, first_number), asked)
            candidates = read.items
            if not candidates:
                ctx.reject(order_key(slot, 0, BOOTSTRAP), "bootstrap", "no_instructions_parsed", item,
                           raw=choice.text)
            if read.overflow():
                ctx.reject(order_key(slot, 0, BOOTSTRAP), "bootstrap", OVERFLOW_REASON, item, detail=read.overflow())
            for j, raw in enumerate(candidates):
                if len(machine) >= target:
                    break
                self._consider(raw, slot, j, novelty, machine)
            return []

        window = Window("bootstrap", opts.in_flight, opts.pool_lag or 4 * opts.in_flight, opts.patience, target)
        params = ctx.sampling(GENERATE_TASKS, opts.bootstrap)
        relaxed = params.merged(stop=[s for s in params.stop or [] if s != "\n\n"])

        asked_again: set[str] = set()

        def again(messages: list[dict[str, str]], reply: Completion) -> GenerationParams | None:
            """A chat model's lead-in ("Sure! Here are more tasks:") or reasoning block is followed by a blank
            line, where the paper's "\\n\\n" stop cuts the list off: such a reply is asked once more without
            that stop. Decided by the reply alone, so a re-run reads the same two cached answers."""
            choice = reply.choices[0]
            if relaxed.stop == params.stop or choice.finish_reason == "length" or bounded(parse_numbered(
                    choice.text, first_number), asked).items:
                return None
            if messages[-1]["content"] not in asked_again:
                asked_again.add(messages[-1]["content"])
                ctx.tally(COUNTS_BOOTSTRAP, "asked_again_without_blank_line_stop")
            return relaxed

        ctx.extra_manifest["bootstrap_prompts"] = await bootstrap_window(
            ctx, window, params, prompt, lambda: len(machine), handle, again)
        return machine

    def _consider(self, raw: str, slot: int, j: int, novelty: NoveltyFilter,
                  machine: list[dict[str, Any]]) -> None:
        ctx, opts = self.ctx, self.options
        order = order_key(slot, j + 1, BOOTSTRAP)
        text = clean_instruction(raw, opts.capitalize_quirk)
        item = {"prompt": slot, "candidate": text}
        reason = instruction_rejection(text, min_words=opts.min_words, max_words=opts.max_words,
                                       blacklist=tuple(opts.blacklist)) if text else "empty"
        if reason:
            ctx.reject(order, "bootstrap", reason, item, raw=raw)
            return
        kept, score, nearest = novelty.offer(text, exact_score=True)
        if not kept:
            ctx.reject(order, "bootstrap", "rouge_l_above_threshold", item, raw=raw,
                       detail={"rouge_l": round(score, 4), "similar_to": nearest})
            return
        machine.append({"instruction": text, "prompt": slot, "rouge_l_max_seen": round(score, 4)})
        ctx.passed("bootstrap")

    async def _task(self, entry: tuple[int, dict[str, Any]]) -> None:
        i, task = entry
        ctx, opts = self.ctx, self.options
        instruction = task["instruction"]
        item = {"task": i, "instruction": instruction}
        verdicts = await ctx.ask(CLASSIFY_TASK, order_key(i, 0, CLASSIFY), item, variables={"instruction": instruction},
                                 params=opts.classify)
        if not verdicts:
            return
        verdict = verdicts[0].choice
        with ctx.reading(order_key(i, 0, CLASSIFY), "classify", item, verdict.text) as read:
            is_clf = read_verdict(verdict.text, verdict.finish_reason)
        if read.stopped:
            return
        ctx.passed("classify")
        if is_clf:
            ctx.tally(COUNTS, "classification")
        params = opts.instances.merged(max_tokens=opts.classification_max_tokens) if is_clf else opts.instances
        replies = await ctx.ask(WRITE_INSTANCES[is_clf], order_key(i, 0, INSTANCES), item,
                                variables={"instruction": instruction}, params=params)
        if not replies:
            return
        choice = replies[0].choice
        with ctx.reading(order_key(i, 0, INSTANCES), "instances", item, choice.text) as read:
            found = (parse_output_first if is_clf else parse_input_first)(choice.text)
        if read.stopped:
            return
        if replies[0].cut and found:
            found = found[:-1]  # the last instance was cut off
        kept = bounded(found, opts.max_instances)
        if kept.overflow():
            ctx.reject(order_key(i, 0, INSTANCES), "instances", OVERFLOW_REASON, item, detail=kept.overflow())
        await self._emit(i, task, is_clf, kept.items, choice.text)

    async def _emit(self, i: int, task: dict[str, Any], is_clf: bool, found: list[RawInstance], raw: str) -> None:
        ctx = self.ctx
        item = {"task": i, "instruction": task["instruction"], "is_classification": is_clf}
        if conflicting(found):
            ctx.reject(order_key(i, 0, INSTANCES), "instances", "conflicting_outputs", item, raw=raw)
            return
        good: list[RawInstance] = []
        for j, inst in enumerate(found):
            reason = instance_rejection(inst)
            if reason:
                ctx.reject(order_key(i, j + 1, INSTANCES), "instances", reason,
                           {**item, "input": inst.input, "output": inst.output})
            elif inst not in good:
                good.append(inst)
        if not good:
            ctx.reject(order_key(i, 0, INSTANCES), "instances", "no_instances", item, raw=raw)
            return
        if len(good) > self.options.max_instances:
            rng = random.Random(f"{ctx.seed}:instances:{i}")
            good = rng.sample(good, self.options.max_instances)
        jobs = []
        for j, inst in enumerate(good):
            meta = {"recipe": self.name, "task": i, "instance": j, "is_classification": is_clf,
                    "prompt": task["prompt"], "rouge_l_max_seen": task["rouge_l_max_seen"],
                    "teacher": ctx.teacher.spec.short_name(), "stages": ["bootstrap", "classify", "instances"],
                    "scores": {}}
            record = make_record(instruction=task["instruction"], input=inst.input, output=inst.output, meta=meta)
            jobs.append(ctx.submit(order_key(i, 100 + j, INSTANCES), "instances", record))
        await asyncio.gather(*jobs)
