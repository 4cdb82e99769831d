"""Evaluations as tables (the console, the dataset card, the compare page): one row per model, one column per
measure, every figure with its 95% interval. A run's evaluations are the JSON files in RUN/evaluations/, written
by `distill eval` (when a model is a checkpoint trained on the run) and `distill compare --train`; the card of
the run shows each of them (`distill/eval/recording.py` writes the card again after one is added)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = "evaluations"


def _ci(low: float, high: float) -> str:
    return f"[{low:.3f}, {high:.3f}]"


def pass_cell(ev: dict[str, Any] | None) -> str:
    if not ev or ev.get("pass_rate") is None:
        return "-"
    return f"{ev['pass_rate']:.3f} ({ev['passed']}/{ev['total']}) {_ci(*ev['ci95'])}"


def if_cell(ev: dict[str, Any] | None) -> str:
    if not ev or ev.get("prompt_rate") is None:
        return "-"
    return (f"{ev['prompt_rate']:.3f} ({ev['prompts_followed']}/{ev['prompts']}) {_ci(*ev['prompt_ci95'])}; "
            f"constraints {ev['constraint_rate']:.3f} {_ci(*ev['constraint_ci95'])}")


def win_cell(ev: dict[str, Any] | None) -> str:
    if not ev or ev.get("win_rate") is None:
        return "-"
    return (f"{ev['win_rate']:.3f} ({ev['wins']} won, {ev['losses']} lost, {ev['ties']} tied) "
            f"{_ci(*ev['ci95'])}")


COLUMNS = (("pass rate", "pass_rate", pass_cell), ("instructions followed", "instruction_following", if_cell),
           ("win rate vs baseline", "win_rate", win_cell))


def columns(result: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [c for c in COLUMNS if any(m.get(c[1]) for m in result.get("models", []))]


def markdown(result: dict[str, Any]) -> list[str]:
    cols = columns(result)
    lines = ["| model | " + " | ".join(c[0] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for m in result.get("models", []):
        lines.append(f"| {m.get('label') or m['model']} | " + " | ".join(c[2](m.get(c[1])) for c in cols) + " |")
    return lines


def plain(result: dict[str, Any]) -> list[str]:
    cols = columns(result)
    out = []
    for m in result.get("models", []):
        out.append(f"  {m.get('label') or m['model']}")
        out += [f"    {c[0]:<24} {c[2](m.get(c[1]))}" for c in cols]
    return out


def paired_line(p: dict[str, Any]) -> str:
    """`A - B = +0.125 [-0.02, 0.27], McNemar p = 0.11 (A alone passed 5, B alone 1)`."""
    if p.get("difference") is None:
        return "no question answered by both"
    return (f"{p['a']} - {p['b']} = {p['difference']:+.3f} {_ci(*p['ci95'])} on {p['questions']} questions, exact "
            f"McNemar p = {p['p_value']:.3g} ({p['a']} alone passed {p['only_a']}, {p['b']} alone {p['only_b']})")


def run_evaluations(run_dir: Path) -> list[dict[str, Any]]:
    folder = run_dir / FOLDER
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("models"), list):
            out.append({**data, "file": path.name})
    return out


def evaluation_lines(evaluations: list[dict[str, Any]]) -> list[str]:
    """The card's section: one table per evaluation of a student trained on this data."""
    if not evaluations:
        return []
    out = ["", "## Evaluation of students trained on this data", ""]
    for ev in evaluations:
        out += [f"On `{Path(str(ev.get('heldout'))).name}` ({ev.get('questions')} held-out questions; "
                f"`{FOLDER}/{ev['file']}`); greedy answers, 95% Wilson intervals:", "", *markdown(ev), ""]
        if ev.get("paired"):
            out += [f"Paired: {paired_line(ev['paired'])}.", ""]
    return out

