"""Evol-Instruct (WizardLM, Xu et al. 2023): evolve instructions over rounds, eliminate failed evolutions,
answer the survivors in separate calls, then the quality gate.

Each root instruction is a chain: in round k its current instruction gets one operation chosen uniformly from
the operation set (in-depth: add constraints, deepen, concretize, increase reasoning, complicate input; or
in-breadth). The evolution is eliminated when it copies the evolving prompt's words, when an LLM comparison finds
it equal to its parent, or when its answer is a short "sorry" refusal or only stop words; an eliminated item goes
back unchanged and is evolved again next round, as in the paper. A surviving evolution becomes the next round's
instruction, so difficulty escalates; every survivor (all rounds, like WizardLM's mixed generations) is a
record. Chains run independently in the sliding window, which gives the same result as the paper's epochs
without waiting on the slowest item of a round.

Defaults follow the paper and its released code: 4 rounds, teacher temperature 1.0, top_p 0.95, max 2048
tokens for evolution and answers; answers are separate calls whose prompt is the instruction alone (optionally
from `answer_teacher:`); the root instructions are answered and mixed into the data as round 0 (`keep_roots`,
as WizardLM's released data holds its Alpaca seeds). Additions, not in the paper: a complexity judge rates every
instruction 1-10 (and says whether it is an instruction at all) so the manifest can show escalation per round,
and, while it runs (`difficulty: true`), two more eliminations make difficulty rise as Evol-Instruct intends:
an in-depth evolution (depth and code frames) rated no harder than its parent ("not_harder"), and any
evolution the judge reads as an answer or solution rather than a rewritten instruction
("answered_not_rewritten"); an unreadable rating eliminates too ("difficulty_unparseable"). In-breadth and
"easier" evolutions are not required to be harder. `require_harder: false` restores the paper's eliminations
only. "complicate input" is included (the paper has it; the released code does not); the frames are our own
wording.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Any, ClassVar

from pydantic import BaseModel

from distill.io.inputs import InputRow
from distill.quality.judge import read_verdict
from distill.quality.replies import UnreadableReply, find_json_object, parse_score
from distill.recipes.base import Estimate, Recipe
from distill.recipes.evol_instruct.elimination import answer_rejection, evolution_rejection, parse_equality
from distill.recipes.evol_instruct.operations import Operation, choose, directions, operations
from distill.recipes.evol_instruct.options import EvolOptions
from distill.recipes.evol_instruct.stages import ANSWER, DIFFICULTY, EQUALITY, EVOLVE
from distill.recipes.shared.rewrite_parse import parse_rewrite
from distill.run.folder import order_key
from distill.run.records import make_record
from distill.run.reply_guard import reading
from distill.run.stage import model_for

HARDER_FRAMES = ("depth", "code")  # in-depth evolutions must come out harder; breadth and easier need not
_KIND = re.compile(r"\bkind\W{0,4}(instruction|answer)\b", re.IGNORECASE)


COUNTS = "evol_counts"  # per-round tallies (`ctx.tally`, so a replayed root counts again), folded into rows


def round_rows(counts: dict[str, float], rounds: int) -> list[dict[str, Any]]:
    """The manifest's per-round table from the tallies `r<round>.<what>`."""
    rows = []
    for rnd in range(rounds + 1):
        prefix = f"r{rnd}."
        mine = {k[len(prefix):]: v for k, v in counts.items() if k.startswith(prefix)}
        eliminated = {k[len("eliminated."):]: int(v) for k, v in mine.items() if k.startswith("eliminated.")}
        rated = int(mine.get("rated", 0))
        rows.append({"round": rnd, "attempts": int(mine.get("attempts", 0)), "survived": int(mine.get("survived", 0)),
                     "eliminated": dict(sorted(eliminated.items())),
                     "mean_difficulty": round(mine.get("difficulty", 0) / rated, 3) if rated else None,
                     "rated": rated})
    return rows


class EvolInstruct(Recipe):
    name = "evol_instruct"
    summary = "Evol-Instruct: evolve instructions over rounds with elimination, answer separately"
    grows_with_num = True  # a larger num adds items after the same first ones (`target:`, run/target.py)
    Options: ClassVar[type[BaseModel]] = EvolOptions
    options: EvolOptions

    @staticmethod
    def _root_text(row: InputRow) -> str:
        return row.instruction if not row.input else f"{row.instruction}\n{row.input}"

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        ops = operations(self.options.operation_set, self.options.operations)
        return [choose(ops, cfg.seed, r.index, 1).messages(self._root_text(r)) for r in islice(rows, limit)]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        o = self.options
        checks = o.rounds * (o.equality_check + o.difficulty) + o.difficulty  # and the root's difficulty
        return (Estimate(candidates=rows * (o.rounds + o.keep_roots)).add("teacher", rows * o.rounds)
                .add("answer", rows * (o.rounds + o.keep_roots)).add("judge", rows * checks))

    async def run(self) -> None:
        self.ops = operations(self.options.operation_set, self.options.operations)
        self.directions = directions(self.ops)
        self.ctx.extra_manifest[COUNTS] = {}
        await self.ctx.map(self.ctx.inputs(), self._chain, memo=InputRow.identity)
        counts = self.ctx.extra_manifest.pop(COUNTS)
        rows = self.ctx.extra_manifest["evol_rounds"] = round_rows(counts, self.options.rounds)
        per_root = self.options.rounds + self.options.keep_roots
        self.ctx.target("instructions", sum(r["survived"] for r in rows), int(counts.get("roots", 0)) * per_root,
                        stopped="an eliminated evolution is tried again only in the next round")

    def _rated(self, rnd: int, difficulty: float | None) -> None:
        if difficulty is not None:
            self.ctx.tally(COUNTS, f"r{rnd}.rated")
            self.ctx.tally(COUNTS, f"r{rnd}.difficulty", difficulty)

    def _eliminate(self, rnd: int, root: int, reason: str, item: dict[str, Any], raw: str | None = None) -> None:
        self.ctx.tally(COUNTS, f"r{rnd}.eliminated.{reason}")
        self.ctx.reject(order_key(root, rnd), f"round_{rnd}", reason, item, raw=raw)

    async def _rate(self, instruction: str) -> tuple[float | None, str | None, str]:
        """(difficulty 1-10, kind "instruction" / "answer", raw reply); None where the reply does not say."""
        reply = await model_for(self.ctx, DIFFICULTY.role).complete(
            DIFFICULTY.messages(instruction=instruction),
            self.ctx.sampling(DIFFICULTY, temperature=0.0, max_tokens=200, n=1))
        raw = reply.choices[0].text
        with reading(raw):  # called inside a guard: what the reader raises rejects the item
            try:  # a rating cut off at max_tokens is no rating (quality/judge.py)
                score: float | None = read_verdict(reply.choices[0], "score", lambda t: parse_score(t, (1, 10)),
                                                   "difficulty")[0]
            except UnreadableReply:
                score = None
            obj = find_json_object(raw)
            kind = obj.get("kind") if obj else None
            if not isinstance(kind, str):
                m = _KIND.search(raw)
                kind = m.group(1) if m else None
            kind = kind.strip().lower() if kind else None
        return score, kind if kind in ("instruction", "answer") else None, raw

    async def _difficulty(self, instruction: str) -> float | None:
        if not self.options.difficulty:
            return None
        return (await self._rate(instruction))[0]  # unreadable: counted as unrated

    async def _chain(self, row: InputRow) -> None:
        ctx, opts = self.ctx, self.options
        ctx.tally(COUNTS, "roots")
        root_text = self._root_text(row)
        with ctx.guard(order_key(row.index, 0), "difficulty", {"index": row.index, "instruction": root_text}) as call:
            root_difficulty = await self._difficulty(root_text)
        if call.stopped:
            return
        self._rated(0, root_difficulty)
        lineage: list[dict[str, Any]] = [{"round": 0, "id": f"e{row.index}-0", "operation": None,
                                          "difficulty": root_difficulty}]
        if opts.keep_roots and not await self._root_record(row, root_text, root_difficulty, lineage):
            return
        current, parent_id, parent_difficulty = root_text, lineage[0]["id"], root_difficulty
        for rnd in range(1, opts.rounds + 1):
            op = choose(self.ops, ctx.seed, row.index, rnd)
            item = {"root_index": row.index, "round": rnd, "operation": op.name, "parent_id": parent_id,
                    "parent": current}
            with ctx.guard(order_key(row.index, rnd), f"round_{rnd}", item) as call:
                step = await self._evolve(rnd, row.index, current, op, item, parent_difficulty)
            if call.stopped:
                return
            if step is None:
                continue  # eliminated: the same instruction is evolved again next round
            evolved, answer, difficulty, reasoning = step
            node = {"round": rnd, "id": f"e{row.index}-{rnd}", "operation": op.name, "difficulty": difficulty}
            lineage.append(node)
            meta = {"recipe": self.name, "root_index": row.index, "root": root_text, "id": node["id"],
                    "parent_id": parent_id, "round": rnd, "operation": op.name, "difficulty": difficulty,
                    "lineage": list(lineage), "teacher": ctx.teacher.spec.short_name(),
                    "answer_teacher": ctx.answerer.spec.short_name(), "stages": ["evolve", "answer"], "scores": {},
                    **reasoning}
            record = make_record(instruction=evolved, output=answer, meta=meta)
            await ctx.submit(order_key(row.index, rnd), f"round_{rnd}", record)
            current, parent_id, parent_difficulty = evolved, node["id"], difficulty

    async def _root_record(self, row: InputRow, root_text: str, difficulty: float | None,
                           lineage: list[dict[str, Any]]) -> bool:
        """Answer the root and keep it as a round-0 record; False if the chain must stop (a failed call)."""
        ctx = self.ctx
        item = {"root_index": row.index, "round": 0, "instruction": root_text}
        ctx.tally(COUNTS, "r0.attempts")
        answers = await ctx.ask(ANSWER, order_key(row.index, 0), item,
                                messages=[{"role": "user", "content": root_text}], params=self.options.answer)
        if not answers:
            return False
        choice, answer = answers[0].choice, answers[0].text
        with ctx.reading(order_key(row.index, 0), "round_0", item, choice.text) as read:
            reason = answer_rejection(answer) or ("truncated_answer" if answers[0].cut else None)
        if read.stopped:
            return False
        if reason:
            self._eliminate(0, row.index, reason, item, choice.text)
            return True
        ctx.tally(COUNTS, "r0.survived")
        meta = {"recipe": self.name, "root_index": row.index, "root": root_text, "id": lineage[0]["id"],
                "parent_id": None, "round": 0, "operation": None, "difficulty": difficulty,
                "lineage": list(lineage), "teacher": ctx.teacher.spec.short_name(),
                "answer_teacher": ctx.answerer.spec.short_name(), "stages": ["answer"], "scores": {},
                **self.reasoning_meta(choice)}
        await ctx.submit(order_key(row.index, 0), "round_0", make_record(instruction=root_text, output=answer,
                                                                         meta=meta))
        return True

    async def _evolve(self, rnd: int, root: int, current: str, op: Operation, item: dict[str, Any],
                      parent_difficulty: float | None = None
                      ) -> tuple[str, str, float | None, dict[str, Any]] | None:
        ctx, opts = self.ctx, self.options
        ctx.tally(COUNTS, f"r{rnd}.attempts")
        # a new seed and sample index per round: an instruction evolved again after an elimination must not
        # get the cached (failed) evolution back
        params = ctx.sampling(EVOLVE, opts.evolve, seed=ctx.seed * 7919 + rnd)
        reply = await model_for(ctx, EVOLVE.role).complete(op.messages(current), params, sample=rnd)
        choice = reply.choices[0]
        with reading(choice.text):  # (inside the round's guard)
            evolved = parse_rewrite(choice.text)
            reason = evolution_rejection(evolved, current, self.directions) if evolved else None
        if choice.finish_reason == "length" or not evolved:
            self._eliminate(rnd, root, "truncated_evolution" if evolved else "empty_evolution", item, choice.text)
            return None
        item = {**item, "evolved": evolved}
        if reason:
            self._eliminate(rnd, root, reason, item, choice.text)
            return None
        if opts.equality_check:
            verdict = await model_for(ctx, EQUALITY.role).complete(
                EQUALITY.messages(first=current, second=evolved),
                ctx.sampling(EQUALITY, temperature=0.0, max_tokens=24, n=1))
            with reading(verdict.choices[0].text):
                equal = parse_equality(verdict.choices[0].text)
            if equal is None:
                self._eliminate(rnd, root, "equality_unparseable", item, verdict.choices[0].text)
                return None
            if equal:
                self._eliminate(rnd, root, "equal_to_parent", item, verdict.choices[0].text)
                return None
        difficulty = None
        if opts.difficulty:
            difficulty, kind, raw = await self._rate(evolved)
            if opts.require_harder:
                reason = None
                if kind is None or difficulty is None:
                    reason = "difficulty_unparseable"
                elif kind == "answer":
                    reason = "answered_not_rewritten"
                elif op.frame in HARDER_FRAMES and parent_difficulty is not None and difficulty <= parent_difficulty:
                    reason = "not_harder"
                if reason:
                    self._eliminate(rnd, root, reason, {**item, "difficulty": difficulty,
                                                        "parent_difficulty": parent_difficulty}, raw)
                    return None
        answer_reply = await model_for(ctx, ANSWER.role).complete([{"role": "user", "content": evolved}],
                                                                  ctx.sampling(ANSWER, opts.answer))
        answer_choice = answer_reply.choices[0]
        answer = answer_choice.text.strip()
        with reading(answer_choice.text):
            reason = answer_rejection(answer) or ("truncated_answer" if answer_choice.finish_reason == "length"
                                                  else None)
        if reason:
            self._eliminate(rnd, root, reason, item, answer_choice.text)
            return None
        ctx.tally(COUNTS, f"r{rnd}.survived")
        self._rated(rnd, difficulty)
        return evolved, answer, difficulty, self.reasoning_meta(answer_choice)
