"""The dataset card (README.md with YAML front matter) of a run: what the data is, how it was made, what was
thrown away and why, and how to make it again. Written into the run folder and pushed with the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from distill.prompts import prompts_dir
from distill.quality.select import histogram

PROMPT_FOLDERS = {"respond": ["respond"], "self_instruct": ["self_instruct"], "alpaca": ["alpaca"],
                  "evol_instruct": ["evol_instruct"], "personas": ["personas", "math_qa"]}
TASK_CATEGORY = {"math_qa": "question-answering", "knowledge_qa": "question-answering"}


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "10M<n<100M"


def front_matter(manifest: dict[str, Any], *, license: str, configs: list[dict[str, Any]]) -> dict[str, Any]:
    recipe = manifest["recipe"]
    return {
        "license": license,
        "language": ["en"],
        "task_categories": [TASK_CATEGORY.get(recipe, "text-generation")],
        "tags": ["synthetic", "distill", recipe.replace("_", "-")],
        "size_categories": [size_category(manifest["counts"]["accepted"])],
        "annotations_creators": ["machine-generated"],
        "pretty_name": manifest["name"],
        "configs": configs,
    }


def _templates(manifest: dict[str, Any]) -> list[Path]:
    folders = list(PROMPT_FOLDERS.get(manifest["recipe"], [manifest["recipe"]]))
    cfg = manifest["config"]
    if cfg.get("quality"):
        folders.append("judge")
    if (cfg.get("turns") or 1) > 1:
        folders.append("multi_turn")
    root = prompts_dir()
    return [p for f in folders for p in sorted((root / f).glob("*.j2"))]


def body(manifest: dict[str, Any], *, repo_id: str | None, config_name: str, split: str,
         report: dict[str, Any] | None = None, image: str | None = None, fmt: str | None = None,
         thinking: dict[str, Any] | None = None, evaluations: list[dict[str, Any]] | None = None) -> str:
    cfg = manifest["config"]
    teacher = manifest["teacher"]
    lines = [f"# {manifest['name']}", "",
             f"Synthetic instruction data made with [distill](https://pypi.org/project/distill/) "
             f"{manifest['distill_version']}, recipe **{manifest['recipe']}**.", ""]
    if cfg.get("description"):
        lines += [cfg["description"], ""]
    if repo_id:
        lines += ["```python", "from datasets import load_dataset", "",
                  f'ds = load_dataset("{repo_id}", "{config_name}", split="{split}")', "```", ""]
    lines += _format(fmt, thinking)
    lines += ["## How it was generated", "",
              f"- Teacher: `{teacher.get('kind')}` model `{teacher.get('model') or teacher.get('source')}`",
              f"- Judge: {_model(manifest.get('judge'))}",
              f"- Reward model: {_model(cfg.get('reward'))}",
              f"- Seed: {manifest['seed']}",
              f"- Generation parameters: `{json.dumps(cfg.get('generation') or {}, sort_keys=True)}`",
              f"- Recipe options: `{json.dumps(cfg.get('options') or {}, sort_keys=True)}`"]
    if cfg.get("quality"):
        lines.append(f"- Quality gate: `{json.dumps(cfg['quality'], sort_keys=True)}`")
    if cfg.get("select"):
        lines.append(f"- Selection: `{json.dumps(cfg['select'], sort_keys=True)}`")
    lines += ["", "## What was kept and what was dropped", "",
              f"{manifest['counts']['accepted']} records accepted, {manifest['counts']['rejected']} rejected, "
              f"{manifest['counts']['failed']} failed (teacher errors after retries).", "",
              *_shortfall(manifest),
              "| stage | accepted | rejected (reason: count) | failed |", "|---|---|---|---|"]
    for stage, c in manifest["stages"].items():
        reasons = ", ".join(f"{k}: {v}" for k, v in c["rejected"].items()) or "-"
        lines.append(f"| {stage} | {c['accepted']} | {reasons} | {c['failed']} |")
    lines += _scores(manifest) + _hygiene(manifest) + _usage(manifest)
    if report:  # the data report's headline figures and overview image (distill/report/)
        from distill.report.card_section import card_lines

        lines += card_lines(report, image)
    if evaluations:  # students trained on this data, measured (distill eval, distill compare --train)
        from distill.publish.card_eval import evaluation_lines

        lines += evaluation_lines(evaluations)
    lines += ["", "## Known limitations", "",
              "This data was written by a language model and filtered automatically. It can contain factual "
              "errors, outdated or biased statements, and answers that sound confident but are wrong; filters "
              "and judges reduce these problems but do not remove them. The teacher's own style and blind spots "
              "carry over to models trained on it. Check the license of the teacher model's outputs before "
              "using the data commercially.", "",
              "## Reproduce", "", "```bash", manifest.get("command") or f"distill run RECIPE.yaml  # recipe "
              f"{manifest['recipe']}", "```", "", "The resolved recipe:", "", "```yaml",
              yaml.safe_dump(cfg, sort_keys=False).strip(), "```"]
    templates = _templates(manifest)
    if templates:
        lines += ["", "## Prompt templates", ""]
        own = cfg.get("prompts") or {}
        for t in templates:
            name = f"{t.parent.name}/{t.name}"
            path, label = t, f"prompts/{name}"
            if name in own and Path(own[name]).is_file():  # the user's replacement was rendered instead
                path, label = Path(own[name]), f"prompts/{name} (replaced by {Path(own[name]).name})"
            lines += [f"<details><summary><code>{label}</code></summary>", "",
                      "```jinja", path.read_text(encoding="utf-8").strip(), "```", "", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _format(fmt: str | None, thinking: dict[str, Any] | None) -> list[str]:
    """The pushed data's format, and where the thinking is with its token statistics (the reasoning formats)."""
    if fmt is None:
        return []
    from distill.publish.reasoning_formats import WHERE

    out = ["## Format", "", f"Exported with `distill push --format {fmt}`."]
    if fmt in WHERE:
        out[-1] += f" The teacher's thinking is {WHERE[fmt]}."
    if thinking and thinking["with_thinking"]:
        out += ["", f"{thinking['with_thinking']} records hold thinking, {thinking['without_thinking']} do not. "
                "Lengths in tokens (words and punctuation marks; subword tokenizers give about 1.2-1.4x as many):",
                "", "| part | records | mean | median | p5 | p95 | min | max |", "|---|---|---|---|---|---|---|---|"]
        for part in ("thinking", "answer"):
            t = thinking[f"{part}_tokens"]
            out.append(f"| {part} | {t['count']} | {t['mean']:g} | {t['median']:g} | {t['p5']:g} | {t['p95']:g} | "
                       f"{t['min']} | {t['max']} |")
    return [*out, ""]


def _shortfall(manifest: dict[str, Any]) -> list[str]:
    """The line saying the recipe stopped short of its target (run/shortfall.py), when it did; and accepted records
    against `target:` (run/target.py), when the run had one."""
    from distill.run.shortfall import shortfall_line
    from distill.run.target import target_summary

    line = shortfall_line(manifest)
    aimed = target_summary(manifest)  # `target:` N accepted records (run/target.py)
    return ([f"**Stopped short of the target:** {line}", ""] if line else []) + ([aimed + ".", ""] if aimed else [])


def _model(spec: Any) -> str:
    if not spec:
        return "none"
    model = spec.get("model") or spec.get("source") or spec.get("path")
    return f"`{spec.get('kind') or spec.get('provider')}` model `{model}`"


def _scores(manifest: dict[str, Any]) -> list[str]:
    scores = manifest.get("scores") or {}
    if not scores:
        return []
    out = ["", "## Score distributions", "", "| score | count | mean | min | max | histogram |",
           "|---|---|---|---|---|---|"]
    for name, d in scores.items():
        if not d.get("count"):
            continue
        hist = histogram(d)
        out.append(f"| {name} | {d['count']} | {d['mean']} | {d['min']} | {d['max']} | "
                   f"{', '.join(f'{k}: {v}' for k, v in hist.items())} |")
    if manifest.get("selection"):
        sel = manifest["selection"]
        out += ["", f"Selection ({sel['mode']}): kept {sel['kept']} of {sel['candidates']}; " +
                "; ".join(f"{r['rule']}: {r['passed']} passed" for r in sel["rules"])]
    return out


def _hygiene(manifest: dict[str, Any]) -> list[str]:
    out = []
    for key, title in (("dedup", "Deduplication"), ("decontamination", "Decontamination"),
                       ("turns", "Conversations built, by number of turns")):
        if manifest.get(key):
            out += ["", f"## {title}", "", "```json", json.dumps(manifest[key], indent=2, sort_keys=True), "```"]
    out += _tool_use(manifest.get("tool_use"))
    if manifest.get("evol_rounds"):
        out += ["", "## Evolution rounds", "", "| round | attempts | survived | eliminated | mean difficulty |",
                "|---|---|---|---|---|"]
        for r in manifest["evol_rounds"]:
            elim = ", ".join(f"{k}: {v}" for k, v in r["eliminated"].items()) or "-"
            out.append(f"| {r['round']} | {r['attempts']} | {r['survived']} | {elim} | {r['mean_difficulty']} |")
    if manifest.get("self_improve"):
        from distill.publish.card_self_improve import iteration_lines

        out += iteration_lines(manifest["self_improve"])
    return out


def _tool_use(summary: Any) -> list[str]:
    """The tool_use recipe's tools (each record's `tools` column holds the ones its example offered) and its mix
    of categories: how many examples each had and how many were accepted."""
    if not isinstance(summary, dict) or not isinstance(summary.get("tools"), list):
        return []
    calling = summary.get("calling", "text")
    how = ("the API's own tool calling" if calling == "native" else
           "tools described in the prompt, calls read from the reply") + (
        " (detected)" if summary.get("calling_detected") else "")
    out = ["", "## Tools", "", f"Calls made by the teacher with {how}. A tool whose result is `run` is the "
           "user's own function, executed with the validated arguments; `simulated` results were written by the "
           "teacher from the tool's schema.", "", "| tool | description | results |", "|---|---|---|"]
    for tool in summary["tools"]:
        if isinstance(tool, dict):
            desc = str(tool.get("description") or "").replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{tool.get('name')}` | {desc} | {tool.get('results', '')} |")
    mix = summary.get("category_mix")
    if isinstance(mix, dict) and mix:
        out += ["", "## Category mix", "", "| category | examples | accepted |", "|---|---|---|"]
        out += [f"| {name} | {c.get('examples', 0)} | {c.get('accepted', 0)} |" for name, c in mix.items()
                if isinstance(c, dict)]
    return out


def _usage(manifest: dict[str, Any]) -> list[str]:
    out = ["", "## Cost", "",
           "| role | calls answered | cached | retries | prompt tokens | completion tokens | cost USD |",
           "|---|---|---|---|---|---|---|"]
    for role, u in manifest["usage"].items():
        out.append(f"| {role} | {u['answered']} | {u['cache_hits']} | {u['retries']} | {u['prompt_tokens']} | "
                   f"{u['completion_tokens']} | {_cost(u)} |")
    return out


def _cost(u: dict[str, Any]) -> str:
    """A role's cost, saying when (some of) it was billed at a batch API's price rather than the immediate one."""
    spent, batched, factor = u["cost_usd"], u.get("batched") or 0, u.get("batch_price_factor")
    if spent is None:
        return "unknown"
    if not batched or factor is None:
        return str(spent)
    if batched < u["answered"]:
        return f"${_usd(spent)}: {batched} of {u['answered']} answers at batch price ({factor:.0%} of immediate)"
    if factor == 0:
        return f"${_usd(spent)} at batch price (free)"
    return f"${_usd(spent)} at batch price ({factor:.0%} of ${_usd(spent / factor)} immediate)"


def _usd(amount: float) -> str:
    return f"{amount:.6f}".rstrip("0").rstrip(".")


def render_card(manifest: dict[str, Any], *, license: str = "other", repo_id: str | None = None,
                config_name: str = "default", split: str = "train",
                configs: list[dict[str, Any]] | None = None, report: dict[str, Any] | None = None,
                image: str | None = "report.png", fmt: str | None = None,
                thinking: dict[str, Any] | None = None, evaluations: list[dict[str, Any]] | None = None) -> str:
    """The card's text, with every secret distill was given and every secret of the manifest's config masked by
    value wherever it is quoted ("Reproduce" command line, resolved recipe, report figures)."""
    from distill.secrets import mask, register_config

    register_config(manifest.get("config"))
    configs = configs if configs is not None else [
        {"config_name": config_name, "data_files": [{"split": split, "path": f"data/{config_name}/{split}-*"}]}]
    meta = yaml.safe_dump(front_matter(manifest, license=license, configs=configs), sort_keys=False)
    return mask(f"---\n{meta}---\n\n" + body(manifest, repo_id=repo_id, config_name=config_name, split=split,
                                              report=report, image=image, fmt=fmt, thinking=thinking,
                                              evaluations=evaluations))


def parse_front_matter(text: str) -> dict[str, Any]:
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    return yaml.safe_load(text[3:end]) or {} if end > 0 else {}
