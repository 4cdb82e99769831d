"""`distill run --dry-run`: what a run would send, how many calls each model gets and roughly how many tokens.
Calls nobody."""

from __future__ import annotations

from distill.config import RunConfig
from distill.engine.prices import cost, price_info
from distill.errors import InputError
from distill.io.inputs import Inputs
from distill.providers.spec import ProviderSpec
from distill.recipes.base import Estimate, unimplemented
from distill.run.runner import check_inputs, out_dir, validate_options
from distill.yaml_source import YamlSource

JUDGE_REPLY_TOKENS = 300  # a judge's reply: a JSON score and a short rationale


def dry_run(cfg: RunConfig, src: YamlSource | None, shown: int = 2) -> str:
    cls, options = validate_options(cfg, src)
    if missing := unimplemented(cls):  # only your own module:Class gets here without them (recipes/registry.py)
        raise InputError(f"recipe {cfg.recipe} does not implement {', '.join(missing)}, which --dry-run needs "
                         "(recipes/base.py says what each returns)")
    rows = check_inputs(cfg) or 0
    recipe = cls(None, options)  # a preview needs no teacher and no run folder
    prompts = recipe.preview(cfg, Inputs(cfg.input, cfg.num).rows() if cfg.input else iter(()), max(shown, 20))
    own = recipe.estimate(cfg, rows)
    est = with_run_stages(cfg, own)
    avg_prompt = sum(len(m["content"]) for p in prompts for m in p) / max(1, len(prompts)) / 4
    max_new = own.max_tokens or cfg.generation.max_tokens or 512
    lines = [f"recipe {cfg.recipe} | teacher {cfg.teacher.label()} | {rows} input rows | out {out_dir(cfg)}"]
    word = "about" if est.about else "up to"
    for role, spec in (("teacher", cfg.teacher), ("answer", cfg.answer_teacher), ("judge", cfg.judge or cfg.teacher)):
        requests, samples = est.requests.get(role, 0), est.samples.get(role, 0)
        if spec is None or (role != "teacher" and not requests):
            continue
        judging = role == "judge"
        prompt_tokens = (avg_prompt + (max_new if judging else 0)) * requests
        completion_tokens = (JUDGE_REPLY_TOKENS if judging else max_new) * samples
        label = "" if role == "teacher" else f" ({spec.label()})"
        more = f", {samples} samples" if samples != requests else ""
        lines.append(f"{role} calls{label}: {word} {requests}{more}{_gate_note(est, role)}")
        lines.append(f"  tokens (estimate, chars/4): ~{int(prompt_tokens):,} prompt + up to {int(completion_tokens):,} "
                     "completion")
        lines.append(_cost_line(role, spec, prompt_tokens, completion_tokens))
    if cfg.reward is not None:
        lines.append(f"reward scores ({cfg.reward.label()}): {word} {est.candidates}")
    if est.about and est.basis:
        lines.append(f"(\"about\": depends on what the replies yield; assumed {est.basis})")
    for i, messages in enumerate(prompts[:shown]):
        lines.append(f"\n--- prompt {i + 1} ---")
        lines += [f"[{m['role']}]\n{m['content']}" for m in messages]
    return "\n".join(lines)


def with_run_stages(cfg: RunConfig, est: Estimate) -> Estimate:
    """The recipe's own calls, each role under the model that answers it, plus what every recipe can add: more
    turns (`turns:`) and the quality gate's judge calls per candidate."""
    out = Estimate(candidates=est.candidates, about=est.about, basis=est.basis)
    for role, requests in est.requests.items():
        answered_by = role if (role == "answer" and cfg.answer_teacher) or (role == "judge" and cfg.judge) else (
            "teacher")
        out.requests[answered_by] = out.requests.get(answered_by, 0) + requests
        out.samples[answered_by] = out.samples.get(answered_by, 0) + est.samples[role]
    if cfg.turns > 1:  # each later turn: the teacher writes the user's message, the answerer replies
        extra = est.candidates * (cfg.turns - 1)
        out.add("teacher", extra).add("answer" if cfg.answer_teacher else "teacher", extra)
    per_candidate = len(cfg.quality.rubrics()) + (2 if cfg.quality.pairwise else 0) if cfg.quality else 0
    out.gate = per_candidate
    if per_candidate:
        out.add("judge", per_candidate * est.candidates * cfg.turns)
    return out


def _gate_note(est: Estimate, role: str) -> str:
    return f" ({est.gate} per candidate)" if role == "judge" and est.gate else ""


def _cost_line(role: str, spec: ProviderSpec, prompt_tokens: float, completion_tokens: float) -> str:
    info = price_info(spec)
    spent = cost(info.price, prompt_tokens, completion_tokens)
    if spent is None:
        return f"{role} cost: unknown (no price for {spec.label()}; set `price:` to see one)"
    if spec.batch:  # billed at the batch API's price (engine/prices.py)
        from distill.engine.prices import batch_factor

        factor = batch_factor(spec.model_copy(update={"price": info.price}))
        return f"{role} cost: at most ~${spent * factor:.4f} ({info.source} price x {factor:g} in batch mode)"
    return f"{role} cost: at most ~${spent:.4f} ({info.source} price)"
