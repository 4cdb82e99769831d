"""The card's table of self-improvement iterations (manifest["self_improve"], written by the recipe)."""

from __future__ import annotations

from typing import Any


def win_counts(ev: dict[str, Any]) -> str:
    """`2 won, 1 lost, 1 tied (1 by position), 1 unjudged`: what a win rate against iteration 0 is made of."""
    text = f"{ev['wins']} won, {ev['losses']} lost, {ev['ties']} tied"
    if ev.get("inconsistent"):
        text += f" ({ev['inconsistent']} by position)"
    if ev.get("unjudged"):
        text += f", {ev['unjudged']} unjudged"
    return text


def _eval(ev: dict[str, Any] | None) -> str:
    if not ev:
        return "-"
    if ev.get("pass_rate") is not None:
        return f"{ev['pass_rate']:.3f} ({ev['passed']}/{ev['total']}; 95% CI {ev['ci95'][0]:.3f}-{ev['ci95'][1]:.3f})"
    if ev.get("win_rate") is not None:
        return (f"win rate {ev['win_rate']:.3f} vs iteration 0 ({win_counts(ev)}; "
                f"95% CI {ev['ci95'][0]:.3f}-{ev['ci95'][1]:.3f})")
    return str(ev.get("note") or "-")


def iteration_lines(report: dict[str, Any]) -> list[str]:
    out = ["", "## Self-improvement iterations", "",
           f"Mode `{report.get('mode')}`, training `{report.get('method')}`. Each iteration samples from the "
           "previous iteration's checkpoint; evaluation is on the held-out split.", "",
           "| iteration | prompts | SFT examples | pairs | mean margin | training | checkpoint | held-out evaluation |",
           "|---|---|---|---|---|---|---|---|"]
    for e in report.get("iterations", []):
        train = e.get("train") or {}
        if "skipped" in train:
            trained = train["skipped"]
        elif train:
            trained = (f"{train.get('steps')} steps, loss {train.get('first_loss')} -> {train.get('last_loss')}"
                       + (" (LoRA)" if train.get("lora") else ""))
        else:
            trained = "-"
        sha = e.get("checkpoint_sha256")
        checkpoint = f"`{sha[:12]}`" if sha else ("start" if e.get("iteration") == 0 else "unchanged")
        out.append(f"| {e.get('iteration')} | {e.get('prompts', '-')} | {e.get('sft_examples', '-')} | "
                   f"{e.get('pairs', '-')} | {e.get('mean_margin') if e.get('mean_margin') is not None else '-'} | "
                   f"{trained} | {checkpoint} | {_eval(e.get('eval'))} |")
    return out
