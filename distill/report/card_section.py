"""The dataset card's "Data report" section: the report's headline figures, its verdict and the overview image."""

from __future__ import annotations

from typing import Any

LABELS = {"records": "records", "median_instruction_tokens": "median instruction length (tokens)",
          "median_response_tokens": "median response length (tokens)",
          "distinct_2_instructions": "distinct-2, instructions", "distinct_2_responses": "distinct-2, responses",
          "rouge_l_over_0.7": "instructions with ROUGE-L > 0.7 to another",
          "clusters": "embedding clusters", "near_duplicate_pairs": "near-duplicate pairs (cosine >= 0.95)",
          "reference": "real reference set", "real_vs_synthetic_auc": "real-vs-synthetic classifier ROC AUC",
          "coverage_of_real_clusters": "share of the real set's clusters reached",
          "median_thinking_tokens": "median thinking length (tokens)", "verdict": "verdict"}


def card_lines(report: dict[str, Any], image: str | None) -> list[str]:
    h = report.get("headline") or {}
    out = ["", "## Data report", "", report["verdict"]["headline"], ""]
    sample = report.get("sample") or {}
    if sample.get("rows", 0) < sample.get("of", 0):
        out += [sample["note"], ""]
    out += [f"- {line}" for line in report["verdict"]["findings"]]
    out += ["", "| figure | value |", "|---|---|"]
    for key, value in h.items():
        label = LABELS.get(key) or key.replace("contaminated_", "instructions sharing a 13-gram with ")
        out.append(f"| {label} | {value:.4g} |" if isinstance(value, float) else f"| {label} | {value} |")
    if image and report.get("image"):
        out += ["", f"![funnel, instruction lengths and ROUGE-L self-similarity]({image})"]
    out += ["", "Made by `distill report`; the full report (report.html, report.json) is in the run folder."]
    return out
