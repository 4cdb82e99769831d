"""`distill compare RUN_A RUN_B --train`: does one run's data help a student more than the other's? The same
student is fine-tuned (SFT) on each run with the same budget (budget.py) and the same settings and seed; the base
student and both checkpoints answer the held-out questions (evaluate.py); each figure comes with its interval,
and the two trained students are compared question by question — the exact McNemar test and Newcombe's interval
for the difference (stats.py) — on the first measure that applies: the verifier's pass, all format constraints
met, or a win against the base student by the judge. Checkpoints are kept in OUT/train/<run>/ (a re-run reuses
them; a killed one resumes), answers in OUT/eval/cache.sqlite (a re-run asks nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from distill.eval.budget import by_examples, by_tokens, token_counter
from distill.eval.evaluate import Evaluation
from distill.eval.models import transformers_spec
from distill.eval.options import EvalSettings
from distill.eval.stats import paired
from distill.providers.spec import ProviderSpec
from distill.train.options import TrainOptions

ALPHA = 0.05


class CompareTrainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    student: str = Field(description="the student's source: a model folder, a .gguf file or a model id")
    examples: int | None = Field(None, ge=1, description="examples per run (default: the smaller run's size)")
    tokens: int | None = Field(None, ge=1, description="tokens per run instead of a number of examples")
    train: TrainOptions = TrainOptions()
    seed: int = 0
    eval: EvalSettings


def base_spec(source: str) -> ProviderSpec:
    from distill.providers.registry import provider_spec

    path = Path(source)
    if path.exists():
        return transformers_spec(path)
    return provider_spec({"provider": "transformers", "model": source})


def primary(entry: dict[str, Any]) -> tuple[str, list[bool | None]] | None:
    """The per-question result two students are compared on, and its name."""
    per = entry.get("per_question", {})
    if "pass" in per:
        return "verifier pass", per["pass"]
    if "followed" in per:
        return "all format constraints met", per["followed"]
    if "verdict" in per:
        return "win against the base student", [None if v is None or v == "unjudged" else v == "win"
                                                for v in per["verdict"]]
    return None


def compared(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    found_a, found_b = primary(a), primary(b)
    assert found_a is not None and found_b is not None
    both = [(x, y) for x, y in zip(found_a[1], found_b[1], strict=True) if x is not None and y is not None]
    result = paired([x for x, _ in both], [y for _, y in both])
    return {"a": a["label"], "b": b["label"], "measure": found_a[0], **result}


def verdict(p: dict[str, Any]) -> str:
    if p["difference"] is None:
        return "no question was answered by both students"
    if p["p_value"] < ALPHA and p["difference"] != 0:
        better, worse = (p["a"], p["b"]) if p["difference"] > 0 else (p["b"], p["a"])
        return (f"{better} helped more than {worse}: {p['measure']} differs by {abs(p['difference']):.3f} "
                f"(95% CI {p['ci95'][0]:+.3f} to {p['ci95'][1]:+.3f}, p = {p['p_value']:.3g})")
    return (f"no significant difference between {p['a']} and {p['b']} on {p['measure']}: "
            f"{p['difference']:+.3f} (95% CI {p['ci95'][0]:+.3f} to {p['ci95'][1]:+.3f}, p = {p['p_value']:.3g}"
            f", {p['questions']} questions)")


def _labels(runs: list[Path]) -> list[str]:
    names = [r.name for r in runs]
    return names if len(set(names)) == len(names) else [f"{i + 1}-{n}" for i, n in enumerate(names)]


async def compare_trained(runs: list[Path], settings: CompareTrainSettings, out: Path, base_dir: Path
                          ) -> dict[str, Any]:
    import asyncio

    from distill.train.checkpoint import check_trainable, train_checkpoint
    from distill.train.run_data import read_run

    labels = _labels(runs)
    data = {label: read_run(run, "sft") for label, run in zip(labels, runs, strict=True)}
    examples = {label: d.examples for label, d in data.items()}
    check_trainable(settings.train)
    tokens_used: dict[str, int] = {}
    if settings.tokens is not None:
        chosen, tokens_used = by_tokens(examples, settings.tokens, settings.seed, token_counter(settings.student))
    else:
        chosen = by_examples(examples, settings.examples, settings.seed)
    names: dict[str, ProviderSpec] = {"base": base_spec(settings.student)}
    evaluation = Evaluation(settings.eval.model_copy(update={"baseline": "base"} if settings.eval.judge else {}),
                            out / "eval", base_dir, names)  # checks the held-out file before any training
    trained = {}
    for label, run in zip(labels, runs, strict=True):
        model = out / "train" / label / "model"
        about = {**data[label].about(), "budget": {"examples": len(chosen[label]),
                                                     "tokens": tokens_used.get(label)}}
        done = await asyncio.to_thread(train_checkpoint, settings.student, chosen[label], settings.train, model,
                                       settings.seed, about)
        trained[label] = {"run": str(run), "checkpoint": str(model), "sha256": done["sha256"],
                          "reused": done["reused"], **done["train"]}
        names[label] = transformers_spec(model)
    result = await evaluation.run(["base", *labels])
    for entry in result["models"]:
        entry["label"] = "base student" if entry["model"] == "base" else f"trained on {entry['model']}"
    by_name = {m["model"]: m for m in result["models"]}
    between = compared(by_name[labels[0]], by_name[labels[1]])  # Evaluation refuses to run without a measure
    summary = {"runs": [str(r) for r in runs], "labels": labels, "student": settings.student,
               "budget": {"examples": {k: len(v) for k, v in chosen.items()}, "tokens": tokens_used or None},
               "settings": settings.model_dump(mode="json"), "train": trained, "evaluation": result,
               "paired": between, "vs_base": [compared(by_name[label], by_name["base"]) for label in labels],
               "verdict": verdict(between)}
    from distill.train.checkpoint import write_json_atomic

    write_json_atomic(out / "train_compare.json", summary)
    return summary
