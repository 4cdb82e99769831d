"""What one prompt's samples become in each self-improvement mode: SFT answers and at most one preference pair.

* `self_reward` (Self-Rewarding LMs): the highest- and lowest-scored samples (scored by the student's own
  additive 5-point rubric) are chosen and rejected, with the margin recorded; equal scores give no pair. The
  best sample is also the SFT answer when its score reaches `min_score`.
* `verified` (STaR / ReST-EM / RFT): every distinct correct sample is an SFT answer (at most `keep` of them);
  the first correct sample against the first incorrect one is the pair.
* `spin` (SPIN): the reference answer is chosen and the student's first sample rejected; a sample equal to the
  reference gives no pair. The reference is the SFT answer.
Pure functions over plain values, so every rule is tested on scripted samples.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# linear: every `\s*` is followed by a required character before the next one may start (issue 29: the old
# `\s*(?:of|is|:|=)?\s*\**\s*` took 19 s on "score" and 2,000 spaces)
SCORE = re.compile(r"score\s*(?:(?:of|is|:|=)\s*)?(?:\*+\s*)?([0-5](?:\.\d+)?)\s*(?:/\s*5|out of 5|points?)?",
                   re.IGNORECASE)
OUT_OF = re.compile(r"\b([0-5](?:\.\d+)?)\s*(?:/\s*5\b|out of 5\b)", re.IGNORECASE)


@dataclass
class Sample:
    index: int
    text: str
    correct: bool | None = None  # verified: the verifier's decision
    score: float | None = None  # self_reward: the mean rubric score, None when no judgement could be read
    answer: str | None = None  # verified: what the sample answered (shown in rejections and the manifest)


@dataclass
class Built:
    sft: list[Sample] = field(default_factory=list)
    chosen: str | None = None
    rejected: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    no_pair: str | None = None  # why this prompt gave no pair


def rubric_score(reply: str) -> float | None:
    """The score a judge reply gives out of 5 ("Score: 4", "4/5", "**Score:** 3 points"), or None. The last one
    counts (a reply may quote the rubric's points before it concludes)."""
    found = SCORE.findall(reply) or OUT_OF.findall(reply)
    if not found:
        return None
    value = float(found[-1])
    return value if 0 <= value <= 5 else None


def self_reward(samples: list[Sample], min_score: float) -> Built:
    scored = [s for s in samples if s.score is not None]
    out = Built()
    if not scored:
        out.no_pair = "unscored"
        return out
    best = max(scored, key=lambda s: (s.score, -s.index))  # first-seen wins ties: deterministic
    worst = min(scored, key=lambda s: (s.score, s.index))
    assert best.score is not None and worst.score is not None
    if best.score >= min_score:
        out.sft.append(best)
    if len(scored) < 2 or best.score == worst.score:
        out.no_pair = "equal_scores" if len(scored) >= 2 else "one_scored_sample"
        return out
    out.chosen, out.rejected = best.text, worst.text
    out.meta = {"chosen_score": best.score, "rejected_score": worst.score,
                "margin": round(best.score - worst.score, 4), "chosen_sample": best.index,
                "rejected_sample": worst.index}
    return out


def verified(samples: list[Sample], keep: int) -> Built:
    out = Built()
    seen: set[str] = set()
    for s in samples:
        if s.correct and s.text.strip() not in seen and len(out.sft) < keep:
            seen.add(s.text.strip())
            out.sft.append(s)
    good = next((s for s in samples if s.correct), None)
    bad = next((s for s in samples if s.correct is False), None)
    if good is None or bad is None:
        out.no_pair = "no_correct_sample" if good is None else "no_incorrect_sample"
        return out
    out.chosen, out.rejected = good.text, bad.text
    out.meta = {"chosen_sample": good.index, "rejected_sample": bad.index, "margin": 1.0,
                "correct": sum(1 for s in samples if s.correct), "samples": len(samples)}
    return out


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def spin(reference: str, samples: list[Sample]) -> Built:
    out = Built(sft=[Sample(-1, reference)])
    if not samples:
        out.no_pair = "no_sample"
        return out
    own = samples[0]
    if _same(own.text, reference):
        out.no_pair = "same_as_reference"
        return out
    out.chosen, out.rejected = reference, own.text
    out.meta = {"rejected_sample": own.index}
    return out
