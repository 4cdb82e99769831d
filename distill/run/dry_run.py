"""`distill run --dry-run`: what a run would send, how many calls and roughly how many tokens. Calls nobody."""

from __future__ import annotations

from distill.config import RunConfig
from distill.engine.prices import cost, price_info
from distill.io.inputs import Inputs
from distill.providers.spec import ProviderSpec
from distill.run.runner import check_inputs, out_dir, validate_options
from distill.yaml_source import YamlSource


def dry_run(cfg: RunConfig, src: YamlSource | None, shown: int = 2) -> str:
    cls, options = validate_options(cfg, src)
    rows = check_inputs(cfg) or 0
    recipe = cls(None, options)  # a preview needs no teacher and no run folder
    prompts = recipe.preview(cfg, Inputs(cfg.input, cfg.num).rows() if cfg.input else iter(()), max(shown, 20))
    calls = recipe.estimate_calls(rows or cfg.num or 0)
    avg_prompt = sum(len(m["content"]) for p in prompts for m in p) / max(1, len(prompts)) / 4
    max_new = cfg.generation.max_tokens or 512
    lines = [f"recipe {cfg.recipe} | teacher {cfg.teacher.label()} | {rows} input rows | out {out_dir(cfg)}",
             f"teacher calls: up to {calls}",
             f"tokens (estimate, chars/4): ~{int(avg_prompt * calls):,} prompt + up to {max_new * calls:,} "
             f"completion"]
    lines.append(_cost_line("teacher", cfg.teacher, avg_prompt * calls, max_new * calls))
    lines += _other_roles(cfg, calls, avg_prompt, max_new)
    for i, messages in enumerate(prompts[:shown]):
        lines.append(f"\n--- prompt {i + 1} ---")
        lines += [f"[{m['role']}]\n{m['content']}" for m in messages]
    return "\n".join(lines)



def _cost_line(role: str, spec: ProviderSpec, prompt_tokens: float, completion_tokens: float) -> str:
    info = price_info(spec)
    spent = cost(info.price, prompt_tokens, completion_tokens)
    if spent is None:
        return f"{role} cost: unknown (no price for {spec.label()}; set `price:` to see one)"
    return f"{role} cost: at most ~${spent:.4f} ({info.source} price)"


def _other_roles(cfg: RunConfig, calls: int, avg_prompt: float, max_new: int) -> list[str]:
    """The judge's, answerer's and reward model's calls, so a dry run counts every role, not only the teacher."""
    out = []
    per_candidate = len(cfg.quality.rubrics()) + (2 if cfg.quality.pairwise else 0) if cfg.quality else 0
    if per_candidate:
        judge = cfg.judge or cfg.teacher
        judge_calls = per_candidate * calls
        judge_tokens = 300  # the judge's reply (a JSON score and a short rationale)
        out.append(f"judge calls ({judge.label()}): up to {judge_calls} ({per_candidate} per candidate)")
        out.append(_cost_line("judge", judge, (avg_prompt + max_new) * judge_calls, judge_tokens * judge_calls))
    if cfg.answer_teacher is not None:
        out.append(f"answer calls ({cfg.answer_teacher.label()}): up to {calls}")
        out.append(_cost_line("answer", cfg.answer_teacher, avg_prompt * calls, max_new * calls))
    if cfg.reward is not None:
        out.append(f"reward scores ({cfg.reward.label()}): up to {calls}")
    return out
