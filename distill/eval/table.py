"""An evaluation as a table (the console, the dataset card, the compare page): one row per model, one column per
measure, every figure with its 95% interval."""

from __future__ import annotations

from typing import Any


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
