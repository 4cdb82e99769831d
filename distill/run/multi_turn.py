"""Multi-turn conversations for every recipe: `turns: N` in a recipe YAML extends each candidate record into an
N-turn conversation before the quality gate.

For each extra turn the teacher plays the user (prompts/multi_turn/user.j2): it reads the conversation so far and
writes a follow-up of one kind — ask to clarify, go deeper, change a constraint, or push back — in the character
of the record's persona when it has one (`meta.persona`). The answering model (`answer_teacher`, else the teacher)
then replies with the whole history, the record's system turn included. Follow-up kinds rotate through
`multi_turn.followups`, starting at a place fixed by the record's position, so a run is reproducible.

The judge scores the conversation: each assistant turn is graded in context (later turns see the earlier
conversation through prompts/multi_turn/judge_turn.j2; a reward model sees the real message list), and each
score is the conversation's minimum over its turns — a conversation is as good as its worst reply. `meta.scores`
holds those minima, `meta.turn_scores` the per-turn scores. Records keep TRL's `messages` format (alternating
user / assistant turns after an optional system turn); `instruction` / `output` stay the first exchange.

After Nemotron-4 340B's synthetic dialogues (three turns; the model alternately plays user and assistant; polite
boilerplate dropped from user turns). Differences: the follow-up kinds and their rotation are ours; the user turns
are sampled (temperature 0.8) rather than greedy, for variety; the paper's reward-model threshold is not published,
so filtering is left to `select:`.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from distill.config import MultiTurnSpec
from distill.run.guard import settle
from distill.run.stage import Rejected, Stage

STAGE = "multi_turn"


_LABEL = re.compile(r"^\s*(?:\[?user\]?|me)\s*:\s*", re.I)
_THANKS = re.compile(r"^\s*(?:thanks|thank you)\b[^.!?\n]*[.!?]\s*", re.I)


def clean_followup(text: str) -> str:
    """The user turn as a user would type it: no "User:" label, no wrapping quotes, no opening thanks."""
    text = _LABEL.sub("", text.strip()).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    rest = _THANKS.sub("", text, count=1)
    return rest if rest.strip() else text


def followup_of(text: str) -> str:
    """The reader of the teacher's user turn: `clean_followup`, which must leave something."""
    followup = clean_followup(text)
    if not followup:
        raise Rejected("followup_empty")
    return followup


USER = Stage(STAGE, "multi_turn/user.j2", read=followup_of, empty="followup_empty", truncated="followup_truncated")
ANSWER: Stage[str] = Stage(STAGE, role="answerer", empty="answer_empty", truncated="answer_truncated")


async def extend(ctx: Any, order: Any, stage: str, record: dict[str, Any]) -> dict[str, Any] | None:
    """`record` extended to `ctx.config.turns` turns, or None when a turn failed (rejected or failed, with why)."""
    spec = ctx.config.multi_turn or MultiTurnSpec()
    meta = record.setdefault("meta", {})
    persona = meta.get("persona")
    convo: list[dict[str, str]] = list(record["messages"])
    user_params = ctx.sampling(USER, spec.user, n=1)
    answer_params = ctx.sampling(ANSWER, spec.assistant, n=1)  # unset: the answering model's own sampling
    kinds: list[str] = []
    start = zlib.crc32(str(order).encode()) % len(spec.followups)  # fixed by the record's place in the run
    for turn in range(2, ctx.config.turns + 1):
        kind = spec.followups[(start + turn) % len(spec.followups)]
        shown = [m for m in convo if m["role"] != "system"]
        item = {"record": record, "turn": turn, "followup": kind}
        asked = await ctx.ask(USER, order, item, variables={"turns": shown, "kind": kind, "persona": persona},
                              sampled=user_params)
        if not asked:
            return None
        followup = asked[0].value
        answered = await ctx.ask(ANSWER, order, {**item, "followup_text": followup}, sampled=answer_params,
                                 messages=convo + [{"role": "user", "content": followup}])
        if not answered:
            return None
        convo += [{"role": "user", "content": followup}, {"role": "assistant", "content": answered[0].text}]
        kinds.append(kind)
    record["messages"] = convo
    meta["turns"] = ctx.config.turns
    meta["followups"] = kinds
    meta.setdefault("stages", []).append(STAGE)
    ctx.tally("turns", str(ctx.config.turns))  # conversations built, by number of turns (manifest and card)
    return record


async def assess(gate: Any, record: dict[str, Any], reference: str | None) -> Any:
    """The gate's assessment of a whole conversation: every assistant turn graded in context, scores = minima."""
    from distill.prompts import render

    convo = record["messages"]
    jobs = []
    first = True
    for k, m in enumerate(convo):
        if m["role"] != "assistant":
            continue
        history = convo[:k]
        latest = history[-1]["content"]
        earlier = [x for x in history[:-1] if x["role"] != "system"]
        instruction = render("multi_turn/judge_turn.j2", earlier=earlier, latest=latest) if earlier else latest
        jobs.append(gate.assess(instruction, m["content"], reference=reference if first else None,
                                messages=history))
        first = False
    results = await settle(*jobs)  # every turn's grading ends, answered and counted, before one's error is raised
    worst = results[0]
    scores: dict[str, float] = {}
    for name in results[0].scores:
        values = [r.scores[name] for r in results]
        scores[name] = min(values)
    if scores:
        name = next(iter(scores))
        worst = min(results, key=lambda r: r.scores[name])
    record.setdefault("meta", {})["turn_scores"] = [r.scores for r in results]
    worst.scores = scores
    return worst
