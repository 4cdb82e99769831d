"""One evaluation: every model answers the held-out questions (greedy, cached in OUT/cache.sqlite), then each
measure that fits is taken — a verifier's pass rate, the format constraints the rows name, a judge's win rate
against the baseline — and the result is written to OUT/eval.json. Models are loaded one at a time and closed
before the next, so two in-process models never share the memory. Everything named (models, verifier function,
constraints) is checked before the first call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from distill.engine.cache import CallCache
from distill.engine.teacher import Teacher
from distill.engine.usage import Usage
from distill.errors import InputError
from distill.eval.answers import Reply, answers
from distill.eval.heldout import HeldOut, read_heldout
from distill.eval.instructions import followed, if_rates
from distill.eval.models import model_spec
from distill.eval.options import EvalSettings
from distill.eval.pass_rate import passes, rate
from distill.eval.verifiers import Verifier
from distill.eval.win_rate import outcomes, tally
from distill.providers.base import GenerationParams
from distill.providers.spec import ProviderSpec


def _write(path: Path, data: Any) -> None:
    from distill.train.checkpoint import write_json_atomic

    write_json_atomic(path, data)


class Evaluation:
    def __init__(self, settings: EvalSettings, out: Path, base: Path, names: dict[str, ProviderSpec] | None = None
                 ) -> None:
        self.settings = settings
        self.out = out
        self.held: HeldOut = read_heldout(settings)
        self.verifier = Verifier(settings.verifier, base, "--function") if settings.verifier else None
        self.judge = model_spec(settings.judge) if settings.judge else None
        self.baseline = model_spec(settings.baseline) if settings.baseline else None
        self.names = names or {}
        if self.verifier is None and self.judge is None and not any(self.held.constraints):
            raise InputError(f"nothing to measure on {settings.heldout}: give a verifier (--verifier math|exact|"
                             f"regex|function), a judge and a baseline (--judge, --baseline), or rows with a "
                             f"`{settings.constraints_field}` column of format constraints")
        self.usage = Usage()

    def spec(self, name: str) -> ProviderSpec:
        return self.names[name] if name in self.names else model_spec(name)

    async def _answers(self, cache: CallCache, name: str, spec: ProviderSpec, role: str) -> list[Reply]:
        from distill.providers.registry import create_provider

        teacher = Teacher(role, create_provider(spec), cache, self.usage.role(role), GenerationParams())
        try:
            return await answers(teacher, self.held.prompts(), self.settings.max_tokens)
        finally:
            await teacher.close()

    async def run(self, models: list[str]) -> dict[str, Any]:
        specs = {name: self.spec(name) for name in models}
        self.out.mkdir(parents=True, exist_ok=True)
        cache = CallCache(self.out / "cache.sqlite")
        try:
            replies = {name: await self._answers(cache, name, spec, f"model {i + 1}")
                       for i, (name, spec) in enumerate(specs.items())}
            base = None
            if self.baseline is not None:
                assert self.settings.baseline is not None
                base = replies.get(self.settings.baseline) or await self._answers(
                    cache, self.settings.baseline, self.baseline, "baseline")
            verdicts = await self._judged(cache, replies, base)
        finally:
            cache.close()
        result = {"heldout": self.settings.heldout, "questions": len(self.held.rows),
                  "settings": self.settings.model_dump(mode="json"),
                  "models": [self._measured(name, specs[name], replies[name], verdicts.get(name)) for name in specs],
                  "calls": {role: {"requests": u.requests, "cache_hits": u.cache_hits, "answered": u.answered,
                                   "failed": u.failed} for role, u in self.usage.roles.items()}}
        _write(self.out / "eval.json", result)
        return result

    async def _judged(self, cache: CallCache, replies: dict[str, list[Reply]], base: list[Reply] | None
                      ) -> dict[str, list[str | None]]:
        if self.judge is None or base is None:
            return {}
        from distill.providers.registry import create_provider

        judge = Teacher("judge", create_provider(self.judge), cache, self.usage.role("judge"), GenerationParams())
        try:
            return {name: await outcomes(judge, self.held.rows, mine, base, self.settings.judge_max_tokens,
                                         "eval/compare.j2") for name, mine in replies.items()}
        finally:
            await judge.close()

    def _measured(self, name: str, spec: ProviderSpec, replies: list[Reply], verdicts: list[str | None] | None
                  ) -> dict[str, Any]:
        got = [r for r in replies if r is not None]
        entry: dict[str, Any] = {"model": name, "spec": spec.label(), "answered": len(got),
                                 "truncated": sum(1 for r in got if r[1])}
        per: dict[str, Any] = {}
        if self.verifier is not None:
            results = passes(self.verifier, self.held.rows, replies, self.settings.answer_field)
            entry["pass_rate"] = rate(results)
            per["pass"] = results
        if any(self.held.constraints):
            entry["instruction_following"] = if_rates(self.held.constraints, replies)
            per["followed"] = [None if r is None else all(r) for r in followed(self.held.constraints, replies)]
        if verdicts is not None:
            entry["win_rate"] = {**tally(verdicts, "win_rate_vs_baseline"), "baseline": self.settings.baseline}
            per["verdict"] = verdicts
        entry["per_question"] = per
        return entry
