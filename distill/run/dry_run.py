"""`distill run --dry-run`: what a run would send, how many calls and roughly how many tokens. Calls nobody."""

from __future__ import annotations

from distill.config import RunConfig
from distill.io.inputs import Inputs
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
    price = cfg.teacher.price
    if price is not None:
        cost = (avg_prompt * calls * price.prompt_per_mtok + max_new * calls * price.completion_per_mtok) / 1e6
        lines.append(f"cost: at most ~${cost:.4f}")
    for i, messages in enumerate(prompts[:shown]):
        lines.append(f"\n--- prompt {i + 1} ---")
        lines += [f"[{m['role']}]\n{m['content']}" for m in messages]
    return "\n".join(lines)

