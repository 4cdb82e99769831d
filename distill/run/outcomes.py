"""The outcome recorder: the one place where accepted records, rejections, failures, preference pairs and a
recipe's counters reach the run folder, the stage counts and the manifest.

The item log is the contract. While a work item (one input row, one evol chain, one LAB job) runs, each
outcome it reports is appended to its item log (`engine/item_log.py`) and nothing else happens; when the item
finishes, the driver applies the log's events here with `apply` — the same call a re-run makes to replay a
stored log. So a first run and a replay cannot write different things, and wherever an item's work ran, only
its events come back. Outcomes reported outside a work item (a bootstrap loop) apply at once.

Events are JSON lists: ["accept", order, stage, record], ["reject", order, stage, reason, item, raw, detail],
["pair", order, pair], ["passed", stage], ["tally", section, key, n], ["fail", order, stage, item, error,
attempts]. A log with a "fail" is never stored, so the next run retries that item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distill.engine.call_failure import CallFailed, PromptRejected
from distill.engine.item_log import CURRENT
from distill.engine.usage import Usage
from distill.quality.select import ScoreTable, distribution, select
from distill.run.records import acceptance_problem, make_rejection

if TYPE_CHECKING:
    from distill.quality.gate import QualityGate
    from distill.run.folder import RunFolder
    from distill.run.progress import Progress


@dataclass
class StageCounts:
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    failed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": dict(sorted(self.rejected.items())), "failed": self.failed}


class Outcomes:
    def __init__(self, folder: RunFolder, progress: Progress, usage: Usage | None = None,
                 gate: QualityGate | None = None) -> None:
        self.folder = folder
        self.progress = progress
        self.usage = usage if usage is not None else Usage()
        self.gate = gate
        self.stages: dict[str, StageCounts] = {}
        self.extra_manifest: dict[str, Any] = {}
        self.scores = ScoreTable()
        self._appliers: dict[str, Callable[..., None]] = {
            "accept": self._accept, "reject": self._reject, "pair": self._pair, "passed": self._passed,
            "tally": self._tally, "fail": self._fail}

    def stage(self, name: str) -> StageCounts:
        return self.stages.setdefault(name, StageCounts())

    # --- what a recipe reports --------------------------------------------------------------------------
    def accept(self, order: str, stage: str, record: dict[str, Any]) -> None:
        problem = acceptance_problem(record)  # the same checks for every recipe: records/acceptance_problem
        if problem is not None:
            self.reject(order, stage, problem, record)
            return
        self._emit(["accept", order, stage, record])

    def reject(self, order: str, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
               detail: Any = None) -> None:
        self._emit(["reject", order, stage, reason, item, raw, detail])

    def fail(self, order: str, stage: str, item: dict[str, Any], error: CallFailed) -> None:
        """An item whose call ran out of retries: written to failed.jsonl; its log is not kept. A prompt refused
        for good (too long for the context) is a rejection instead."""
        if isinstance(error, PromptRejected):
            self.reject(order, stage, error.reason, item, detail=str(error.error))
            return
        log = CURRENT.get()
        if log is not None:
            log.failed = True
        self._emit(["fail", order, stage, item, str(error.error), error.attempts])

    def add_pair(self, order: str, pair: dict[str, Any]) -> None:
        problem = acceptance_problem(pair)  # the shared checks, as for records
        if problem is not None:
            self.reject(order, "pairwise", problem, pair)
            return
        self._emit(["pair", order, pair])

    def passed(self, stage: str) -> None:
        """Count an item through a stage that writes no record of its own."""
        self._emit(["passed", stage])

    def tally(self, section: str, key: str, n: float = 1) -> None:
        """Add to a recipe's own manifest counter (`manifest[section][key]`)."""
        self._emit(["tally", section, key, n])

    def _emit(self, event: list[Any]) -> None:
        log = CURRENT.get()
        if log is None:
            self._appliers[event[0]](*event[1:])
        else:
            log.events.append(event)

    # --- what the driver does with them -----------------------------------------------------------------
    def apply(self, events: Iterable[list[Any]]) -> None:
        appliers = self._appliers
        for kind, *args in events:
            appliers[kind](*args)

    def replay(self, log: dict[str, Any]) -> None:
        """A stored item log: write its outcomes again exactly as its first run did; its calls count as cached."""
        self.apply(log["events"])
        for role, n in log["calls"].items():
            self.usage.role(role).cache_hits += n

    def _accept(self, order: str, stage: str, record: dict[str, Any]) -> None:
        self.folder.write("data", order, record)
        self.stage(stage).accepted += 1
        self.progress.count("accepted")
        if self.gate is not None:  # every accepted candidate's scores: for the histograms and for select:
            rules = self.gate.select.rules if self.gate.select else []
            groups = {r.group_by: str(_lookup(record, r.group_by)) for r in rules if r.group_by}
            self.scores.add(record.get("meta", {}).get("scores", {}), groups, order)

    def _reject(self, order: str, stage: str, reason: str, item: dict[str, Any], raw: str | None = None,
                detail: Any = None) -> None:
        self.folder.write("rejected", order, make_rejection(stage=stage, reason=reason, item=item, raw=raw,
                                                            detail=detail))
        counts = self.stage(stage).rejected
        counts[reason] = counts.get(reason, 0) + 1
        self.progress.count("rejected")

    def _fail(self, order: str, stage: str, item: dict[str, Any], error: str, attempts: int) -> None:
        self.folder.write("failed", order, {"stage": stage, "item": item, "error": error, "attempts": attempts})
        self.stage(stage).failed += 1
        self.progress.count("failed")

    def _pair(self, order: str, pair: dict[str, Any]) -> None:
        self.folder.write("pairs", order, pair)
        self.stage("pairwise").accepted += 1

    def _passed(self, stage: str) -> None:
        self.stage(stage).accepted += 1

    def _tally(self, section: str, key: str, n: float = 1) -> None:
        counts = self.extra_manifest.setdefault(section, {})
        counts[key] = counts.get(key, 0) + n

    # --- once every item is done ------------------------------------------------------------------------
    def run_selection(self) -> list[bool] | None:
        """Apply `select:` to every accepted candidate; move the dropped ones to rejected.jsonl."""
        if self.gate is None:
            return None
        self.extra_manifest["scores"] = {name: distribution(col) for name, col in self.scores.columns.items()}
        if self.gate.select is None:
            return None
        keep, reasons, stats = select(self.scores, self.gate.select)
        data = self.folder.streams["data"]
        counts = self.stage("select")
        for i, ok in enumerate(keep):
            if ok:
                counts.accepted += 1
                continue
            record = data.read(i)
            self.folder.write("rejected", data.orders[i], make_rejection(
                stage="select", reason=reasons[i] or "select", item=record))
            counts.rejected[reasons[i] or "select"] = counts.rejected.get(reasons[i] or "select", 0) + 1
        self.progress.counts["accepted"] -= keep.count(False)
        self.progress.counts["rejected"] += keep.count(False)
        self.extra_manifest["selection"] = stats
        return keep


def _lookup(record: dict[str, Any], path: str) -> Any:
    """`meta.seed_id` -> record["meta"]["seed_id"] (None when absent)."""
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
