"""A target of accepted records (`target: N`, `--target N`): draw items in rounds until N are accepted.

A round runs the recipe with a larger `num`. Items an earlier round made are replayed from their item logs or the
call cache (0 calls), so a round pays only for the new items. The first round draws enough items for N records
if every candidate were accepted; each later one is sized from the acceptance seen so far (the items still needed
at that rate, 10% more, and one), at most 8 times the round before. The sizes depend only on the counts of
earlier rounds, which depend only on the seed, the config and the teacher's answers, so the same seed draws the
same rounds under every executor, and a resumed (or repeated) run replays the same rounds.

When a round reaches N, the run keeps the first N accepted records in the order of the final files (the order
key: input order); the others accepted are moved to `rejected.jsonl` with stage `target` and reason
`beyond_target` (the whole record as `item`), nothing lost. Preference pairs (`pairs.jsonl`, a pairwise gate's)
follow the same cut: a pair belongs to an item, not to an accepted record (it is made whether or not that item's
records pass the other checks), so the pairs kept are those whose order key sorts up to the last record kept —
the pairs a run over exactly the items up to that record writes — and the ones after it are moved to
`rejected.jsonl` as `beyond_target` with detail `pairs.jsonl` (manifest `records_target.pairs_beyond_target`).
A target not reached cuts nothing: every pair stays. For recipes whose items do not depend on each other
(respond, math_qa, evol_instruct, ...) the N kept do not depend on how the rounds were sized either: they are the
first N a run over every input would accept. Where items depend on the ones before (self_instruct's and alpaca's
bootstrap reads its own earlier replies) or a `select:` rule ranks the whole set (top_quantile, top_k), the N kept
are those of the final round's run, which the same seed repeats; a bootstrap prompt held back near a smaller
round's end may then be built with more instructions in view and paid for again in the next round.

The rounds stop short of N when the items run out — every input row drawn, `num` (then a cap on the items) reached,
or a round that drew more made nothing more (a generator out of patience) — when a round has failed items (their
outcome is unknown; the next run retries them), or when three rounds in a row accept nothing. The manifest's
`records_target` says how far the run got; `distill run` prints it and exits 1 — the code of a run that made
nothing, so the console line, `distill show` and the card say which it was (`target_summary`): the records accepted
short of the target are a finished dataset in data.jsonl.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distill.errors import InputError
from distill.run.records import make_rejection

if TYPE_CHECKING:
    from distill.config import RunConfig
    from distill.recipes.base import Recipe
    from distill.run.outcomes import Outcomes
    from distill.yaml_source import YamlSource

MARGIN = 1.1  # a round draws 10% more than the acceptance rate so far says it needs (fewer rounds)
MAX_GROWTH = 8  # a round draws at most this many times the items of the one before
BARREN_ROUNDS = 3  # rounds in a row that accept nothing before the run gives up
STAGE, REASON = "target", "beyond_target"
PAIRS_DETAIL = "pairs.jsonl"  # the `detail` of a preference pair moved aside (a record's has none)


def check_target(cfg: RunConfig, cls: type[Recipe], src: YamlSource | None) -> None:
    """A recipe that cannot aim at a number of records refuses `target:` (exit 2), naming the key."""
    if cfg.target is None or cls.grows_with_num:
        return
    where = src.where(("target",)) if src else "target"
    raise InputError(
        f"{where}: target: the {cfg.recipe} recipe cannot aim at a number of accepted records: a larger `num` does "
        "not just add items to the ones a smaller one made (it makes what its own settings decide). Remove "
        "`target:` / --target; a recipe of your own that draws items in order can declare `grows_with_num = True`.")


def first_round(target: int, per_item: int, cap: int | None) -> int:
    """Items for the first round: enough for `target` records if each item's `per_item` candidates (the most an
    item can give: samples, instances) were all accepted."""
    n = max(1, math.ceil(target / max(1, per_item)))
    return min(n, cap) if cap is not None else n


def next_round(items: int, accepted: int, target: int, cap: int | None) -> int:
    """Items for the next round, after a round of `items` accepted `accepted` (< target)."""
    if accepted <= 0:
        n = items * 4
    else:
        needed = (target - accepted) * items / accepted
        n = items + math.ceil(needed * MARGIN) + 1
    n = min(n, items * MAX_GROWTH)
    return min(n, cap) if cap is not None else n


def items_to_reach(target: int, rate: float, first: int, cap: int | None = None) -> int:
    """The items a run draws to reach `target` when each item yields `rate` accepted records on average: the
    rounds above played with expected counts (what `distill estimate` predicts the run to pay for)."""
    if rate <= 0:
        return cap if cap is not None else 0
    items = first
    while True:
        accepted = rate * items
        if accepted >= target or (cap is not None and items >= cap):
            return items
        items = next_round(items, max(1, math.floor(accepted)), target, cap)


@dataclass
class Rounds:
    """The rounds of one run: what each drew and accepted, and why they ended."""

    target: int
    cap: int | None  # input rows available (or `num`), None when unbounded
    items: int
    history: list[dict[str, int]] = field(default_factory=list)
    stopped: str | None = None
    beyond: int = 0
    pairs_beyond: int = 0  # preference pairs of the items beyond the target, moved to rejected.jsonl
    accepted: int = 0
    num_caps: bool = False  # `num` (not the input's length) bounds the items

    @classmethod
    def start(cls, cfg: RunConfig, recipe: type[Recipe], options: Any, rows: int | None) -> Rounds:
        assert cfg.target is not None
        caps = [c for c in (rows, cfg.num) if c is not None]
        cap = min(caps) if caps else None
        return cls(cfg.target, cap, first_round(cfg.target, candidates_per_item(cfg, recipe, options), cap),
                   num_caps=cfg.num is not None and cap == cfg.num)

    def config(self, cfg: RunConfig) -> RunConfig:
        """The run config of the current round: `num` is its item count."""
        return cfg.model_copy(update={"num": self.items})

    def finished(self, outcomes: Outcomes, keep: list[bool] | None) -> bool:
        """Record the round just run; return True when the rounds are over, else size the next one. (A recipe's own
        `ctx.target` is no sign that its items ran out: evol_instruct, personas and tool_use report accepted against
        made there. A generator out of patience shows as a larger round that made nothing more.)"""
        accepted = keep.count(True) if keep is not None else len(outcomes.folder.streams["data"].orders)
        made = {"accepted": accepted, **{k: sum(_stage_total(s, k) for s in outcomes.stages.values())
                                         for k in ("rejected", "failed")}}
        before = self.history[-1] if self.history else None
        self.history.append({"items": self.items, **made})
        self.accepted = accepted
        if accepted >= self.target:
            return True
        if made["failed"]:
            self.stopped = (f"{made['failed']} item(s) failed after retries: their outcome is not known yet; run the "
                            "same command again to retry them and continue")
        elif before is not None and {k: before[k] for k in made} == made:
            self.stopped = (f"asking for {self.items} items made no more records than asking for {before['items']}: "
                            "the recipe makes no more")
        elif self.cap is not None and self.items >= self.cap:
            self.stopped = f"all {self.cap} items were drawn" + (" (`num` caps them)" if self.num_caps else
                                                                 " (the input has no more rows)")
        elif len(self.history) >= BARREN_ROUNDS and all(h["accepted"] == 0 for h in self.history[-BARREN_ROUNDS:]):
            self.stopped = (f"none of the first {self.items} items gave an accepted record; see rejected.jsonl for "
                            "why")
        if self.stopped:
            return True
        self.items = next_round(self.items, accepted, self.target, self.cap)
        return False

    def cut(self, outcomes: Outcomes, keep: list[bool] | None) -> tuple[list[bool], list[bool] | None]:
        """Keep the first `target` accepted records in the final order; move the others to rejected.jsonl as
        `beyond_target`, and likewise the preference pairs that sort after the last record kept. Returns the keep
        masks over the data stream (after any `select:`) and over the pairs stream (None: keep every pair)."""
        data = outcomes.folder.streams["data"]
        mask = list(keep) if keep is not None else [True] * len(data.orders)
        kept = sorted((i for i, ok in enumerate(mask) if ok), key=data.orders.__getitem__)
        counts = outcomes.stage(STAGE)
        for i in kept[self.target:]:
            mask[i] = False
            outcomes.folder.write("rejected", data.orders[i], make_rejection(stage=STAGE, reason=REASON,
                                                                             item=data.read(i)))
        self.beyond = max(0, len(kept) - self.target)
        counts.accepted += len(kept) - self.beyond
        if self.beyond:
            counts.rejected[REASON] = self.beyond
            outcomes.progress.counts["accepted"] -= self.beyond
            outcomes.progress.counts["rejected"] += self.beyond
        self.accepted = len(kept) - self.beyond
        if len(kept) < self.target:
            return mask, None  # not reached: no cut, every pair stays
        return mask, self._cut_pairs(outcomes, data.orders[kept[self.target - 1]])

    def _cut_pairs(self, outcomes: Outcomes, last: str) -> list[bool]:
        """Pairs whose order sorts after `last` (the order of the last record kept) came from items beyond the
        target: moved to rejected.jsonl as `beyond_target` (detail `pairs.jsonl`, the whole pair as `item`)."""
        pairs = outcomes.folder.streams["pairs"]
        mask = [order <= last for order in pairs.orders]
        for i, ok in enumerate(mask):
            if not ok:
                outcomes.folder.write("rejected", pairs.orders[i], make_rejection(
                    stage=STAGE, reason=REASON, item=pairs.read(i), detail=PAIRS_DETAIL))
        self.pairs_beyond = mask.count(False)
        if self.pairs_beyond:
            counts = outcomes.stage(STAGE).rejected
            counts[REASON] = counts.get(REASON, 0) + self.pairs_beyond
        return mask

    def manifest(self) -> dict[str, Any]:
        pairs = {"pairs_beyond_target": self.pairs_beyond} if self.pairs_beyond else {}
        return {"target": self.target, "accepted": self.accepted, "items": self.items, "beyond_target": self.beyond,
                **pairs, "rounds": self.history, **({"stopped": self.stopped} if self.accepted < self.target else {})}


def _stage_total(stage: Any, kind: str) -> int:
    value = getattr(stage, kind)
    return sum(value.values()) if isinstance(value, dict) else int(value)


def candidates_per_item(cfg: RunConfig, recipe: type[Recipe], options: Any) -> int:
    """The most records one item can give, from the recipe's own `estimate` (samples, instances per task)."""
    try:
        estimate = recipe(None, options).estimate(cfg.model_copy(update={"num": 1}), 1)
    except Exception:  # an estimate that needs files or more than one item: assume one record per item
        return 1
    return max(1, int(estimate.candidates or 1))


def target_line(manifest: dict[str, Any]) -> str | None:
    """`target not reached: 37 of 50 accepted records (all 120 items were drawn ...)`, or None when reached."""
    t = manifest.get("records_target")
    if not isinstance(t, dict) or t["accepted"] >= t["target"]:
        return None
    return (f"target not reached: {t['accepted']} of {t['target']} accepted records after {t['items']} items in "
            f"{len(t['rounds'])} round(s): {t.get('stopped') or 'stopped'}")


def target_summary(manifest: dict[str, Any]) -> str | None:
    """`Target: 50 of 50 accepted records (2 rounds, 160 items; 3 beyond the target in rejected.jsonl)`, or
    `Target not reached: 37 of 50 accepted records (...): why; ...` — the shortfall told apart from a run that made
    nothing, though `distill run` exits 1 for both (`distill show`, the card, the console)."""
    t = manifest.get("records_target")
    if not isinstance(t, dict):
        return None
    beyond = (f"; {t['beyond_target']} more accepted, kept in rejected.jsonl as beyond_target"
              if t.get("beyond_target") else "")
    if t.get("pairs_beyond_target"):
        beyond += f"; {t['pairs_beyond_target']} preference pair(s) beyond the target likewise"
    head = (f"{t['accepted']} of {t['target']} accepted records ({len(t['rounds'])} round(s), {t['items']} "
            f"items{beyond})")
    if t["accepted"] >= t["target"]:
        return f"Target: {head}"
    kept = (f"data.jsonl holds the {t['accepted']} accepted, a finished dataset short of the target" if t["accepted"]
            else "nothing was accepted, so nothing was made")
    return f"Target not reached: {head}: {t.get('stopped') or 'stopped'}; {kept} (`distill run` exits 1)"
