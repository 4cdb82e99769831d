"""`run/outcomes.py` driven directly: the events a work item logs, applied by the driver, and the same log stored
(as JSON, the way the call cache keeps it) and replayed into another folder give the same files byte for byte
and the same counts; a record a trainer must never see is rejected on the way in, on replay too; a failed call
marks its item to run again; a prompt refused for good is a rejection, not a failure."""

from __future__ import annotations

import orjson

from distill.engine.call_failure import CallFailed, PromptRejected
from distill.engine.item_log import CURRENT, ItemLog
from distill.errors import RetryableError
from distill.run.folder import RunFolder, order_key
from distill.run.outcomes import Outcomes
from distill.run.progress import Progress
from distill.run.records import make_record

FILES = ("data.jsonl", "rejected.jsonl", "failed.jsonl", "pairs.jsonl")


def _outcomes(path) -> Outcomes:
    folder = RunFolder(path)
    folder.prepare("respond")
    folder.open_streams()
    return Outcomes(folder, Progress(None, "t", enabled=False))


def _item(out: Outcomes, i: int) -> ItemLog:
    """What one work item reports, logged rather than applied (as inside `RunContext.map`)."""
    log = ItemLog()
    token = CURRENT.set(log)
    try:
        out.accept(order_key(i, 1), "answer", make_record(instruction=f"q{i}", output=f"a{i}", meta={"i": i}))
        out.reject(order_key(i, 2), "answer", "too_short", {"i": i}, raw="ok")
        out.accept(order_key(i, 3), "answer", make_record(instruction=f"q{i}", output="bad\x1b[31m", meta={}))
        prompt = [{"role": "user", "content": f"q{i}"}]
        out.add_pair(order_key(i, 4), {"prompt": prompt, "chosen": prompt + [{"role": "assistant", "content": "x"}],
                                       "rejected": prompt + [{"role": "assistant", "content": "y"}]})
        out.passed("classify")
        out.tally("counts", "items")
        out.tally("counts", "words", 2.5)
    finally:
        CURRENT.reset(token)
    return log


def _finish(out: Outcomes) -> dict[str, bytes]:
    out.folder.finish({"stages": {n: s.to_dict() for n, s in sorted(out.stages.items())},
                       "extra": out.extra_manifest})
    return {name: (out.folder.path / name).read_bytes() for name in (*FILES, "manifest.json")}


def test_applied_and_replayed_logs_give_the_same_folder(tmp_path):
    first = _outcomes(tmp_path / "first")
    logs = [_item(first, i) for i in (2, 0, 1)]  # items finish out of order
    assert not (tmp_path / "first" / "data.jsonl").exists() and first.stage("answer").accepted == 0  # only logged
    for log in logs:
        first.apply(log.events)
    stored = [orjson.dumps(log.to_json()) for log in logs]  # what the call cache keeps per finished item

    again = _outcomes(tmp_path / "again")
    for blob in reversed(stored):
        again.replay(orjson.loads(blob))
    one, two = _finish(first), _finish(again)
    assert one == two
    data = [orjson.loads(line) for line in one["data.jsonl"].splitlines()]
    assert [r["output"] for r in data] == ["a0", "a1", "a2"]  # in order of the items, not of their finishing
    rejected = [orjson.loads(line) for line in one["rejected.jsonl"].splitlines()]
    assert sorted(r["reason"] for r in rejected) == ["control_characters"] * 3 + ["too_short"] * 3
    assert first.stages["answer"].to_dict() == {"accepted": 3, "failed": 0,
                                                "rejected": {"control_characters": 3, "too_short": 3}}
    assert first.stages["classify"].accepted == 3 and first.stages["pairwise"].accepted == 3
    assert first.extra_manifest == again.extra_manifest == {"counts": {"items": 3, "words": 7.5}}


def test_a_failed_call_marks_the_item_to_run_again_and_a_refused_prompt_is_a_rejection(tmp_path):
    out = _outcomes(tmp_path / "run")
    failed, refused = ItemLog(), ItemLog()
    for log, error in ((failed, CallFailed("teacher", RetryableError("HTTP 500"), 5)),
                       (refused, PromptRejected("teacher", RetryableError("context length exceeded")))):
        token = CURRENT.set(log)
        try:
            out.fail(order_key(0), "answer", {"i": 0}, error)
        finally:
            CURRENT.reset(token)
        out.apply(log.events)
    assert failed.failed and not refused.failed  # the failed item is not kept: the next run asks again
    files = _finish(out)
    assert orjson.loads(files["failed.jsonl"]) == {"stage": "answer", "item": {"i": 0}, "error": "HTTP 500",
                                                   "attempts": 5}
    assert orjson.loads(files["rejected.jsonl"])["reason"] == "context_length"
