"""Saying when a recipe stopped short of what it was asked to make.

Recipes that make a number of things toward a target (self_instruct and alpaca: instructions) report it with
`ctx.target(what, made, target, stopped=...)`, which the manifest keeps as `target`. A recipe that reports none
(it works through its inputs: respond, math_qa, knowledge_qa, ...) is held to the same rule when it accepted no
candidate at all. From the manifest alone,
`shortfall_line` gives the one line the console (`distill run`) and the dataset card print when the run made
fewer than its target, or made its target but no record of it was accepted; `made_nothing` is what makes
`distill run` exit 1 (the run folder is kept, with its rejections). A run that reached its target with records
accepted gets no line.
"""

from __future__ import annotations

from typing import Any

TOP_REASONS = 3  # rejection reasons named in the line, most frequent first


def _target(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The recipe's own target; for a recipe that reports none (it works through its inputs), the candidates it
    made when not one of them was accepted — so every recipe that accepts nothing says why and exits 1."""
    target = manifest.get("target")
    if isinstance(target, dict):
        return target
    counts = manifest.get("counts", {})
    made = counts.get("rejected", 0)  # (items that failed, with no answer, have their own message and exit 1)
    if counts.get("accepted", 0) == 0 and made > 0:
        return {"what": "candidates", "made": made, "target": made}
    return None


def made_nothing(manifest: dict[str, Any]) -> bool:
    """The recipe had a target and made none of it, or no record of what it made was accepted."""
    target = _target(manifest)
    return target is not None and (target["made"] == 0 or manifest["counts"]["accepted"] == 0)


def shortfall_line(manifest: dict[str, Any]) -> str | None:
    """`self_instruct stopped short: 0 of 3 instructions (...); 0 records accepted; most rejected: ...`, or None."""
    target = _target(manifest)
    if target is None:
        return None
    made, wanted, what = target["made"], target["target"], target["what"]
    accepted = manifest["counts"]["accepted"]
    if made >= wanted and accepted > 0:
        return None
    if made < wanted:
        head = f"{manifest['recipe']} stopped short: {made} of {wanted} {what}"
        head += f" ({target['stopped']})" if target.get("stopped") else ""
    else:
        head = f"{manifest['recipe']} made {made} of {wanted} {what}, but no record of them was accepted"
    reasons = sorted(((n, f"{stage} {reason}") for stage, counts in manifest["stages"].items()
                      for reason, n in counts["rejected"].items()), key=lambda x: (-x[0], x[1]))
    tail = "; most rejected: " + ", ".join(f"{name} {n}" for n, name in reasons[:TOP_REASONS]) if reasons else ""
    return f"{head}; {accepted} record(s) accepted{tail} (see rejected.jsonl)"
