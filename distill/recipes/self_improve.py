"""Self-improvement: the student makes its own training data, is fine-tuned on it, and samples the next
iteration's data from the new checkpoint — measured on a held-out split after every iteration.

Each iteration n = 1..N: sample k answers per prompt from the current student -> build SFT answers and
preference pairs (`self_improve_pairs.py`, one rule per mode) -> train with TRL from the current student
(`distill/train/`) -> save `iterations/<n>/model/` with `model.done` written last -> evaluate on the held-out
split -> iteration n+1 samples from that checkpoint. Iteration 0 is the configured student, evaluated first.

Modes: `self_reward` (Self-Rewarding LMs, Yuan et al. 2024), `verified` (STaR, ReST-EM, rejection-sampling
fine-tuning), `spin` (SPIN, Chen et al. 2024). Differences from the papers:
* self_reward: our own wording of the additive 5-point rubric; the paper's seed SFT on human-written judging
  data (EFT) is not done; pairs are made per prompt from the judged samples like the paper (highest vs lowest,
  equal scores dropped); the student writes new prompts only with `new_prompts:` (the paper always does).
* verified: ReST-EM fine-tunes each iteration from the base model; we continue from the last checkpoint, as
  STaR's later variants and RFT do. Pairs (first correct vs first incorrect) are used only with `method: dpo`.
* spin: one own answer per prompt as in the paper, trained with TRL's DPO loss (SPIN's logistic loss is the
  same form) from the current checkpoint; the paper's separate reference-model schedule is DPO's.
* the student trains on CPU/GPU in this process; LoRA (`train.lora`) is merged into each saved checkpoint.
Every answer is cached under its checkpoint's identity (the sha256 of the saved files), so no answer from an
old checkpoint is reused for a new one, and a re-run repeats no call and no finished training: a kill during
training goes on from that checkpoint's last trainer checkpoint (`train.save_steps`). Training and evaluation are
the code `distill train` and `distill eval` use (`distill/train/`, `distill/eval/`).
"""

from __future__ import annotations

import asyncio
import random
import sys
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from distill.engine.call_failure import CallFailed
from distill.engine.teacher import Teacher
from distill.errors import InputError
from distill.eval.answers import answers
from distill.eval.pass_rate import pass_rate
from distill.eval.verifiers import Verifier, VerifierOptions
from distill.eval.win_rate import win_rate
from distill.io.inputs import InputRow, Inputs
from distill.prompts import render
from distill.providers.base import GenerationParams
from distill.recipes import self_improve_pairs as pairs
from distill.recipes.base import Estimate, Recipe
from distill.recipes.self_improve_eval import EvalOptions
from distill.recipes.shared.rewrite_parse import parse_rewrite
from distill.run.folder import order_key
from distill.run.guard import settle
from distill.run.records import acceptance_problem, make_record
from distill.run.reply_guard import reading
from distill.train.options import TrainOptions


class SelfImproveOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["self_reward", "verified", "spin"] = "verified"
    iterations: int = Field(2, ge=1, le=50)
    samples: int = Field(4, ge=1, le=64, description="answers sampled per prompt (k); spin uses the first")
    sample: GenerationParams = GenerationParams(temperature=0.7, top_p=0.95, max_tokens=256)
    answer_field: str = Field("answer", description="the input column with the reference answer (verified, spin)")
    answer_format: str | None = Field(None, description="a line appended to every prompt, e.g. how to end")
    verifier: VerifierOptions | None = Field(None, description="verified mode's checker (default kind: math); "
                                             "in the other modes, evaluation uses it when set")
    drop_truncated: bool = Field(True, description="drop answers cut off at max_tokens")
    keep: int = Field(4, ge=1, description="verified: at most this many distinct correct answers per prompt")
    min_score: float = Field(4.0, ge=0, le=5, description="self_reward: the best answer is SFT data from this score")
    judge_samples: int = Field(3, ge=1, le=16, description="self_reward: rubric judgements averaged per answer")
    judge: GenerationParams = GenerationParams(temperature=0.7, top_p=0.95, max_tokens=256)
    new_prompts: int = Field(0, ge=0, description="self_reward: prompts the student writes per iteration "
                                                  "(self-instruct style, from 3 input examples each)")
    train: TrainOptions = TrainOptions()
    eval: EvalOptions | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SelfImproveOptions:
        if self.mode == "verified" and self.verifier is None:
            self.verifier = VerifierOptions()
        if self.new_prompts and self.mode != "self_reward":
            raise ValueError(f"new_prompts: the student's own prompts have no reference answer, which mode "
                             f"{self.mode} needs; use it with mode: self_reward")
        return self


class SelfImprove(Recipe):
    name = "self_improve"
    summary = "self-improvement: the student samples, judges or verifies, trains (TRL) and repeats"
    Options: ClassVar[type[BaseModel]] = SelfImproveOptions
    options: SelfImproveOptions

    def _messages(self, row: InputRow) -> list[dict[str, str]]:
        text = render("self_improve/prompt.j2", instruction=row.instruction, input=row.input,
                      answer_format=self.options.answer_format or "")
        return [{"role": "user", "content": text}]

    def preview(self, cfg: Any, rows: Any, limit: int) -> list[list[dict[str, str]]]:
        return [self._messages(r) for r in islice(rows, limit)]

    def estimate(self, cfg: Any, rows: int) -> Estimate:
        """Each iteration: one call per new prompt and one per prompt for its k samples, and in self_reward the
        student's judge call (judge_samples) per sample; the held-out split answered before the first iteration
        and after each, and without a verifier every later answer compared with iteration 0's in both orders."""
        o = self.options
        prompts = rows + o.new_prompts
        est = Estimate().add("teacher", o.iterations * o.new_prompts).add("teacher", o.iterations * prompts, o.samples)
        if o.mode == "self_reward":
            est.add("teacher", o.iterations * prompts * o.samples, o.judge_samples)
        held = len(self._held_out(cfg))
        est.add("teacher", (o.iterations + 1) * held)
        return est.add("judge", 2 * o.iterations * held) if o.verifier is None else est

    # --- the loop ---------------------------------------------------------------------------------------------
    async def run(self) -> None:
        ctx, opts = self.ctx, self.options
        spec = ctx.teacher.spec
        if spec.provider != "transformers":
            raise InputError("self_improve trains the student in this process: teacher: must be "
                             f"`provider: transformers` (a model folder or .gguf), not {spec.provider!r}")
        from distill.train.checkpoint import student_source

        base_dir = ctx.config._base
        self.verifier = Verifier(opts.verifier, base_dir) if opts.verifier else None
        rows = list(ctx.inputs())
        held = self._held_out(ctx.config)
        report: dict[str, Any] = {"mode": opts.mode, "method": opts.train.method, "iterations": []}
        ctx.extra_manifest["self_improve"] = report
        root = ctx.folder.path / "iterations"
        student, source = ctx.teacher, student_source(spec)
        base_answers = None
        entry: dict[str, Any] = {"iteration": 0, "checkpoint": source}
        if held:
            entry["eval"], base_answers = await self._evaluate(student, held, None)
            self._say(0, _eval_line(entry["eval"]))
        report["iterations"].append(entry)
        self._write(root / "0" / "eval.json", entry)
        for n in range(1, opts.iterations + 1):
            entry = {"iteration": n, "sampled_from": report["iterations"][-1]["checkpoint"]}
            prompts = rows + await self._own_prompts(student, rows, n)
            built = await self._sample(student, prompts, n)
            examples, stats = self._data(prompts, built, n, root / str(n))
            entry.update(stats)
            if not examples:
                entry["train"] = {"skipped": f"no {opts.train.method} examples this iteration"}
                entry["checkpoint"] = report["iterations"][-1]["checkpoint"]
                self._say(n, "no training data: the student stays as it was")
            else:
                self._say(n, f"training ({opts.train.method}, {len(examples)} examples)")
                model_dir = root / str(n) / "model"
                done = await self._train(source, examples, model_dir, n)
                entry["train"] = {**done["train"], "reused": done["reused"]}
                entry["checkpoint"], entry["checkpoint_sha256"] = str(model_dir), done["sha256"]
                previous = student
                student, source = await self._student(model_dir, done["sha256"]), str(model_dir)
                if previous is not ctx.teacher:  # the last checkpoint's model: nothing samples from it again
                    await ctx.executor.release(previous.spec)
            if held:
                entry["eval"], _ = await self._evaluate(student, held, base_answers)
                self._say(n, _eval_line(entry["eval"]))
            report["iterations"].append(entry)
            self._write(root / str(n) / "eval.json", entry)

    async def _train(self, source: str, examples: list[dict[str, Any]], model_dir: Path, n: int) -> dict[str, Any]:
        """Iteration n's checkpoint (`train.checkpoint`); a failed training stops the run with one paragraph, the
        run folder kept for the same command to resume."""
        from distill.train.checkpoint import train_checkpoint
        from distill.train.failure import TrainingFailed

        try:
            return await asyncio.to_thread(train_checkpoint, source, examples, self.options.train, model_dir,
                                           self.ctx.seed + n)
        except TrainingFailed as exc:
            folder = self.ctx.folder.path
            raise TrainingFailed(
                f"self_improve: iteration {n}: {exc} The run stopped: every answer received so far is kept in "
                f"{folder / 'cache.sqlite'}, the records written so far in {folder}/*.jsonl.partial and this "
                f"iteration's training data in {model_dir.parent}; change options.train and run the same command "
                "again (answers already received are not requested again).") from None

    def _say(self, n: int, text: str) -> None:
        print(f"self_improve: iteration {n}: {text}", file=sys.stderr, flush=True)

    def _write(self, path: Path, data: Any) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))

    async def _student(self, model_dir: Path, sha: str) -> Teacher:
        """A teacher for the new checkpoint. Its cache identity carries the checkpoint's sha256."""
        base = self.ctx.teacher
        name = f"self_improve@{sha[:16]}"
        spec = base.spec.model_copy(update={"path": str(model_dir), "model": name})
        provider = await self.ctx.executor.provider(spec)
        return Teacher(base.role, provider, base.cache, base.usage, base.defaults)

    def _held_out(self, cfg: Any) -> list[InputRow]:
        e = self.options.eval
        if e is None:
            return []
        from distill.io.inputs import InputSpec

        inputs = Inputs(InputSpec(path=str(cfg.resolve(e.path)), field=e.field, input_field=None),
                        e.limit)
        inputs.check()
        return list(inputs.rows())

    async def _evaluate(self, student: Teacher, held: list[InputRow], base: Any) -> tuple[dict[str, Any], Any]:
        e = self.options.eval
        assert e is not None
        prompts = [self._messages(r) for r in held]
        replies = await answers(student, prompts, e.max_tokens or self.options.sample.max_tokens)
        if self.verifier is not None:
            return pass_rate(self.verifier, held, replies, e.answer_field), replies
        if base is None:
            return {"metric": "win_rate_vs_iteration_0", "note": "iteration 0 is the baseline"}, replies
        judge = self.ctx.judge or self.ctx.teacher  # a fixed judge, so that iterations compare
        return await win_rate(judge, held, replies, base, self.options.judge.max_tokens), replies

    # --- prompts and samples ------------------------------------------------------------------------------------
    async def _own_prompts(self, student: Teacher, rows: list[InputRow], n: int) -> list[InputRow]:
        """`new_prompts` tasks written by the student from three input examples each (deterministic by seed)."""
        opts, out = self.options, []
        if not opts.new_prompts or not rows:
            return []
        rng = random.Random(self.ctx.seed * 1000 + n)
        params = student.params(**opts.sample.model_dump(exclude_none=True)).merged(n=1)
        jobs = []
        for i in range(opts.new_prompts):
            shown = rng.sample(rows, min(3, len(rows)))
            prompt = [{"role": "user", "content": render("self_improve/new_prompt.j2",
                                                         examples=[r.instruction for r in shown])}]
            jobs.append(student.complete(prompt, params, sample=i))
        for i, reply in enumerate(await asyncio.gather(*jobs, return_exceptions=True)):
            if isinstance(reply, CallFailed):
                continue
            if isinstance(reply, BaseException):
                raise reply
            with self.ctx.reading(order_key((n, len(rows) + i)), "new_prompt", {"iteration": n, "new_prompt": i},
                                  reply.choices[0].text) as read:
                text = parse_rewrite(reply.choices[0].text)
            if read.stopped:
                continue
            if text and reply.choices[0].finish_reason != "length":
                out.append(InputRow(len(rows) + i, text, "", {"generated": True, "iteration": n}))
        return out

    async def _sample(self, student: Teacher, prompts: list[InputRow], n: int) -> dict[int, pairs.Built]:
        built: dict[int, pairs.Built] = {}
        self.ctx.progress.phase(f"iteration {n}: sample", len(prompts))
        params = student.params(**self.options.sample.model_dump(exclude_none=True)).merged(n=self.options.samples)

        async def one(row: InputRow) -> None:
            result = await self._one(student, params, row, n)
            if result is not None:
                built[row.index] = result

        await self.ctx.map(prompts, one)
        return built

    async def _one(self, student: Teacher, params: GenerationParams, row: InputRow, n: int) -> pairs.Built | None:
        ctx, opts = self.ctx, self.options
        item = {"iteration": n, "index": row.index, "instruction": row.instruction}
        at = (n, row.index)
        messages = self._messages(row)
        completion = await ctx.call(order_key(at), "sample", item, student.complete(messages, params))
        if completion is None:
            return None
        samples = []
        for j, choice in enumerate(completion.choices):
            if choice.finish_reason == "length" and opts.drop_truncated:
                ctx.reject(order_key(at, j + 1), "sample", "truncated", item, raw=choice.text)
            elif not choice.text.strip():
                ctx.reject(order_key(at, j + 1), "sample", "empty", item, raw=choice.text)
            elif problem := acceptance_problem({"output": choice.text}):  # never training data, as never a record
                ctx.reject(order_key(at, j + 1), "sample", problem, item, raw=choice.text)
            else:
                samples.append(pairs.Sample(j, choice.text.strip()))
        reference = row.source.get(opts.answer_field)
        reference = str(reference) if reference is not None else None
        if opts.mode == "verified":
            assert self.verifier is not None
            checked = []
            for s in samples:
                with ctx.reading(order_key(at, s.index + 1), "verify", item, s.text) as read:
                    s.answer = self.verifier.answer(s.text)
                    s.correct = self.verifier.check(s.text, reference, row.source)
                if read.stopped:
                    continue
                checked.append(s)
                if not s.correct:
                    ctx.reject(order_key(at, s.index + 1), "verify", "wrong_answer", item, raw=s.text,
                               detail={"answer": s.answer, "expected": reference})
            result = pairs.verified(checked, opts.keep)
        elif opts.mode == "spin":
            if reference is None:
                ctx.reject(order_key(at), "sample", "no_reference_answer", item)
                return None
            result = pairs.spin(reference, samples)
        else:
            with ctx.guard(order_key(at), "judge", item) as call:
                await self._judge(student, row, samples)
            if call.stopped:
                return None
            result = pairs.self_reward(samples, opts.min_score)
        self._outcomes(row, messages, samples, result, n, reference)
        return result

    async def _judge(self, student: Teacher, row: InputRow, samples: list[pairs.Sample]) -> None:
        """The student scores each of its samples: the mean of `judge_samples` readable rubric scores."""
        opts = self.options
        params = student.params(**opts.judge.model_dump(exclude_none=True)).merged(n=opts.judge_samples)

        async def score(s: pairs.Sample) -> None:
            prompt = [{"role": "user", "content": render("self_improve/judge.j2", instruction=row.instruction,
                                                         answer=s.text)}]
            try:
                reply = await student.complete(prompt, params)
            except CallFailed:
                return
            with reading(reply.choices[0].text):  # what the reader raises rejects the row (`_one`'s guard)
                found = [v for v in (pairs.rubric_score(c.text) for c in reply.choices) if v is not None]
            s.score = round(sum(found) / len(found), 4) if found else None

        await settle(*(score(s) for s in samples))

    def _outcomes(self, row: InputRow, messages: list[dict[str, str]], samples: list[pairs.Sample],
                  result: pairs.Built, n: int, reference: str | None) -> None:
        """Records (this iteration's SFT answers), the pair, and the reason for no pair."""
        ctx = self.ctx
        base_meta = {"recipe": self.name, "mode": self.options.mode, "iteration": n, "index": row.index}
        for s in result.sft:
            meta = {**base_meta, "sample": s.index, "stages": ["sample", "build"],
                    "scores": {"self_reward": s.score} if s.score is not None else {},
                    **({"answer": s.answer, "expected": reference} if s.answer is not None else {})}
            ctx.accept(order_key((n, row.index), s.index + 1), "build",
                       make_record(instruction=row.instruction, input=row.input, output=s.text, meta=meta))
        if result.chosen is not None and result.rejected is not None:
            ctx.add_pair(order_key((n, row.index)), {
                "prompt": messages, "chosen": messages + [{"role": "assistant", "content": result.chosen}],
                "rejected": messages + [{"role": "assistant", "content": result.rejected}],
                "meta": {**base_meta, **result.meta}})
        elif samples:
            ctx.tally("self_improve_no_pair", result.no_pair or "unknown")
        if not result.sft and self.options.train.method == "sft":
            ctx.reject(order_key((n, row.index)), "build", "no_training_answer", {**base_meta,
                       "instruction": row.instruction})

    def _data(self, prompts: list[InputRow], built: dict[int, pairs.Built], n: int, folder: Path
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """This iteration's training examples in TRL's conversational form, kept in `iterations/<n>/`."""
        sft, dpo, margins = [], [], []
        for row in prompts:
            b = built.get(row.index)
            if b is None:
                continue
            prompt = self._messages(row)
            sft += [{"prompt": prompt, "completion": [{"role": "assistant", "content": s.text}]} for s in b.sft]
            if b.chosen is not None and b.rejected is not None:
                dpo.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": b.chosen}],
                            "rejected": [{"role": "assistant", "content": b.rejected}]})
                margins.append(b.meta.get("margin"))
        folder.mkdir(parents=True, exist_ok=True)
        for name, rows in (("sft.jsonl", sft), ("pairs.jsonl", dpo)):
            (folder / name).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
        scored = [m for m in margins if m is not None]
        stats = {"prompts": len(prompts), "prompts_sampled": len(built), "sft_examples": len(sft),
                 "pairs": len(dpo), "mean_margin": round(sum(scored) / len(scored), 4) if scored else None}
        if self.options.mode == "verified":
            stats["prompts_with_a_correct_answer"] = sum(1 for b in built.values() if b.sft)
        return (sft if self.options.train.method == "sft" else dpo), stats


def _eval_line(ev: dict[str, Any]) -> str:
    if ev.get("pass_rate") is not None:
        return f"pass rate {ev['passed']}/{ev['total']} = {ev['pass_rate']:.3f} (95% CI {ev['ci95'][0]:.3f}-" \
               f"{ev['ci95'][1]:.3f})"
    if ev.get("win_rate") is not None:
        from distill.publish.card_self_improve import win_counts

        return f"win rate vs iteration 0 {ev['win_rate']:.3f} ({win_counts(ev)}; 95% CI {ev['ci95'][0]:.3f}-" \
               f"{ev['ci95'][1]:.3f})"
    return ev.get("note", "evaluated")
