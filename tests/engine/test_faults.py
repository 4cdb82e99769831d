"""A run against a teacher that fails in every way a real one does loses nothing and duplicates nothing."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from helpers import distill, read_jsonl, recipe_yaml, write_instructions

FAULTS = dict(fail=0.10, rate=0.05, retry_after=0.1, drop=0.02, garbage=0.01, slow=0.01, slow_seconds=3.0)


@pytest.mark.slow
def test_2000_items_through_injected_faults_all_accounted_for(tmp_path, teacher_server):
    n = 2000
    teacher_server.configure(latency=0.005, jitter=0.01, **FAULTS)
    inp = write_instructions(tmp_path / "in.jsonl", n)
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out,
                      teacher_extra="max_concurrency: 64\ntimeout: 1\nmax_retries: 10")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr

    data, rejected, failed = (read_jsonl(out / f"{k}.jsonl") for k in ("data", "rejected", "failed"))
    indices = [r["meta"]["index"] for r in data] + [r["item"]["index"] for r in rejected + failed]
    assert sorted(indices) == list(range(n))  # none lost, none duplicated
    assert len(data) == n - len(rejected) - len(failed)
    assert len(set(r["output"] for r in data)) == len(data)

    stats = teacher_server.stats()
    assert min(stats[k] for k in ("fail", "rate", "drop", "garbage", "slow")) > 0  # every fault happened
    usage = json.loads((out / "manifest.json").read_text())["usage"]["teacher"]
    reasons = Counter(usage["retry_reasons"])
    assert reasons["http_500"] > 0 and reasons["http_429"] > 0 and reasons["timeout"] > 0
    assert reasons["not_a_chat_completion"] > 0 and reasons["dropped"] > 0
    assert usage["retries"] == sum(reasons.values())
    assert usage["requests"] == usage["answered"] + usage["retries"] + usage["failed"]
    assert usage["answered"] == len(data) + len(rejected)  # one answer per item that got one
    assert usage["answered"] <= stats["answered"]  # the server also answered some the client gave up on


def test_backoff_grows_only_while_the_endpoint_is_failing_broadly():
    """One unlucky call on a healthy server never waits more than 1 s; when most calls fail, waits double per
    attempt up to 30 s, so a struggling server is not hammered."""
    from distill.engine.retry import FailureRate, backoff

    healthy, broken = FailureRate(), FailureRate()
    for i in range(500):
        healthy.record(i % 6 == 0)  # ~17% of attempts fail
        broken.record(True)
    assert healthy.value < 0.25 and broken.value > 0.9
    assert max(backoff(6, healthy.value) for _ in range(2000)) <= 1.0
    waits = [backoff(6, broken.value) for _ in range(2000)]
    assert max(waits) > 8.0 and max(waits) <= 16.0
    assert max(backoff(20, broken.value) for _ in range(2000)) <= 30.0
