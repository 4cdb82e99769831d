"""Batch mode through the real CLI against the scripted OpenAI Batch API: the same dataset as immediate calls at
half the cost, one batch per dependent stage, expired and failed entries (only those) in the next batch, a kill
while polling resumed without sending anything again, and the refusals at config time."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, as_foreground, distill, read_jsonl, write
from openai_batch_server import OpenAIBatchServer

FAST = "{poll_seconds: 0.05, max_poll_seconds: 0.2, gather_seconds: 0.2, price_factor: 0.5}"
CHATTY = [  # replies the way chat models write them: a <think> block, markdown, a trailing remark
    {"match": r"# Response to grade\n+[\s\S]*?\[score=(\d+)\]", "reply": "<think>Weigh it.</think>\n```json\n"
                                               "{\"rationale\": \"scripted\", \"score\": \\1}\n```"},
    {"match": r"^(Task \d+)", "reply": "<think>Short.</think>Sure! **\\1**, done:\n\n- first\n- second\n\n"
                                       "Let me know if you need more. [score=8]"},
]


def config(tmp_path: Path, url: str, n: int, *, batch: str = FAST, out: str = "run", extra: str = "",
           judge: bool = False) -> Path:
    inp = tmp_path / "in.jsonl"
    if not inp.exists():
        write(inp, "".join(json.dumps({"instruction": f"Task {i}: say something"}) + "\n" for i in range(n)))
    price = "price: {prompt_per_mtok: 2.0, completion_per_mtok: 8.0}"
    batch_line = f", batch: {batch}" if batch else ""
    judge_line = (f"judge: {{provider: openai, model: judge-m, base_url: {url}, {price}{batch_line}}}\n"
                  "quality: {rubric: overall}\n" if judge else "")
    return write(tmp_path / f"{out}.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}, {price}{batch_line}}}
{judge_line}generation: {{max_tokens: 64, temperature: 0.7}}
input: {{path: {inp}}}
out: {tmp_path / out}
{extra}
""")


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


def records(run: Path) -> list[dict]:
    return read_jsonl(run / "data.jsonl")


def test_batch_mode_gives_the_immediate_dataset_at_half_the_cost(tmp_path):
    run, now = tmp_path / "run", tmp_path / "now"
    with OpenAIBatchServer(rules=CHATTY, batch={"polls": 3}) as server:
        res = distill("run", str(config(tmp_path, server.url, 40, judge=True)), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
        assert server.stats()["requests"] == 0  # not one immediate call
        # one batch per dependent stage: the answers, then the judge's grades of them
        assert stats["sizes"] == [40, 40] and set(stats["uploads"].values()) == {1}
        batched, card, data = manifest(run)["usage"], (run / "README.md").read_text(), records(run)
        status = distill("status", str(run))
        immediate = config(tmp_path, server.url, 40, batch="", out="now", judge=True)
        assert distill("run", str(immediate), "--no-progress").returncode == 0
        # the answers sit in the cache under the keys immediate answers have: the folder re-run without batch
        # mode, its item logs dropped (so every call is looked up), sends nothing
        sent = server.stats()["requests"]
        db = sqlite3.connect(run / "cache.sqlite")
        db.execute("DELETE FROM items")
        db.commit()
        db.close()
        again = distill("run", str(config(tmp_path, server.url, 40, batch="", judge=True)), "--no-progress")
        assert again.returncode == 0, again.stderr
        assert server.stats()["requests"] == sent and server.batch_stats()["batches"] == 2
    assert data == records(now) == records(run) and len(data) == 40
    assert "<think>" not in json.dumps(data) and data[0]["meta"]["scores"] == {"judge.overall": 8.0}
    direct = manifest(now)["usage"]
    for role in ("teacher", "judge"):
        assert batched[role]["batched"] == 40 and batched[role]["batch_price_factor"] == 0.5
        assert batched[role]["prompt_tokens"] == direct[role]["prompt_tokens"] > 0
        assert batched[role]["cost_usd"] == pytest.approx(direct[role]["cost_usd"] / 2, rel=1e-6)
    for role in ("teacher", "judge"):  # the card shows the discounted cost, says it is the batch price, and
        # what the same calls cost immediately
        row = next(line for line in card.splitlines() if line.startswith(f"| {role} |"))
        found = re.search(r"\$([\d.]+) at batch price \(50% of \$([\d.]+) immediate\)", row)
        assert found, row
        assert float(found[1]) == pytest.approx(batched[role]["cost_usd"], abs=1e-6)
        assert float(found[2]) == pytest.approx(direct[role]["cost_usd"], abs=2e-6)
    assert "at batch price" not in (now / "README.md").read_text()
    assert status.returncode == 0, status.stderr
    assert "0 pending, 2 collected" in status.stdout and "answers collected from batches: 80" in status.stdout


def test_expired_and_server_failed_entries_and_only_those_go_into_the_next_batch(tmp_path):
    with OpenAIBatchServer(batch={"polls": 2, "expire_pct": 20, "fail_pct": 10}) as server:
        res = distill("run", str(config(tmp_path, server.url, 200)), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
    uploads = stats["uploads"]
    again = {cid for cid, n in uploads.items() if n == 2}
    assert len(uploads) == 200 and set(uploads.values()) == {1, 2}
    assert again == set(stats["faulted"]) and 30 <= len(again) <= 90  # ~30% met a fault, the first time only
    assert stats["sizes"] == [200, len(again)]
    assert len(records(tmp_path / "run")) == 200
    assert "expired" in res.stderr and "server_error" in res.stderr
    assert manifest(tmp_path / "run")["usage"]["teacher"]["batched"] == 200


def test_a_refused_request_fails_its_item_and_is_not_resubmitted(tmp_path):
    with OpenAIBatchServer(batch={"polls": 1, "refuse_match": "Task 3:"}) as server:
        res = distill("run", str(config(tmp_path, server.url, 10)), "--no-progress")
        assert res.returncode == 0, res.stderr
        assert server.batch_stats()["lines"] == 10
    failed = read_jsonl(tmp_path / "run" / "failed.jsonl")
    assert len(failed) == 1 and "flagged" in json.dumps(failed[0])
    assert len(records(tmp_path / "run")) == 9


def test_a_batch_that_failed_as_a_whole_is_sent_again(tmp_path):
    with OpenAIBatchServer(batch={"polls": 1, "fail_batches": 1}) as server:
        res = distill("run", str(config(tmp_path, server.url, 12)), "--no-progress")
        assert res.returncode == 0, res.stderr
        assert server.batch_stats()["sizes"] == [12, 12]
    assert "failed as a whole" in res.stderr and "scripted failure" in res.stderr
    assert len(records(tmp_path / "run")) == 12


def start(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ}, preexec_fn=as_foreground)


PATIENCE = 600  # seconds a run may take on a machine busy with other work: a bound for a hang, never a budget


def wait_for_batches(run: Path, proc: subprocess.Popen[str], count: int, timeout: float = PATIENCE) -> None:
    """Until the run has recorded `count` batches in its cache.sqlite (so they were acknowledged)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            db = sqlite3.connect(f"file:{run / 'cache.sqlite'}?mode=ro", uri=True)
            try:
                if db.execute("SELECT count(*) FROM batches").fetchone()[0] >= count:
                    return
            finally:
                db.close()
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError("the run recorded no batch in time")


@pytest.mark.slow
def test_a_kill_while_polling_then_the_same_command_collects_without_resubmitting(tmp_path):
    with OpenAIBatchServer(batch={"polls": 10**6, "expire_pct": 10}) as server:
        cfg = config(tmp_path, server.url, 300, batch=FAST.replace("}", ", max_requests: 120}"))
        proc = start(cfg)
        wait_for_batches(tmp_path / "run", proc, 3)
        time.sleep(0.3)  # a few polls
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        before = server.batch_stats()
        assert sorted(before["sizes"]) == [60, 120, 120] and before["lines"] == 300
        status = distill("status", str(tmp_path / "run"))
        assert "3 pending" in status.stdout and "requests with the provider now: 300" in status.stdout, status.stdout

        server.configure_batches(polls=2)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        assert "collecting 300 requests from 3 batch(es) an earlier run submitted" in res.stderr
        after = server.batch_stats()
        assert after["files"] == before["files"] + 1  # only the expired entries went up again
        assert {cid: n for cid, n in after["uploads"].items() if n > 1}.keys() == set(after["faulted"])
        assert manifest(tmp_path / "run")["usage"]["teacher"]["requests"] == len(after["faulted"])
        uninterrupted = distill("run", str(config(tmp_path, server.url, 300, out="once")), "--no-progress")
        assert uninterrupted.returncode == 0, uninterrupted.stderr
    assert records(tmp_path / "run") == records(tmp_path / "once") and len(records(tmp_path / "run")) == 300


def test_a_batch_the_provider_no_longer_knows_is_said_and_sent_again(tmp_path):
    with OpenAIBatchServer(batch={"polls": 10**6}) as server:
        cfg = config(tmp_path, server.url, 20)
        proc = start(cfg)
        wait_for_batches(tmp_path / "run", proc, 1)
        proc.send_signal(signal.SIGINT)  # Ctrl+C: says what stays with the provider, closes its connections
        _, err = proc.communicate(timeout=PATIENCE)
        assert proc.returncode == 130 and "20 submitted requests stay with the provider" in err, err
        assert "Unclosed" not in err and "Traceback" not in err, err
        server.forget()  # e.g. the key now belongs to another project
        server.configure_batches(polls=1)
        res = distill("run", str(cfg), "--no-progress", timeout=PATIENCE)
        assert res.returncode == 0, res.stderr
        assert "is not known to the provider any more" in res.stderr and "submitted again" in res.stderr
        assert set(server.batch_stats()["uploads"].values()) == {2}
    assert len(records(tmp_path / "run")) == 20
    assert "1 lost" in distill("status", str(tmp_path / "run")).stdout


@pytest.mark.parametrize("teacher", ["{provider: local, batch: true}", "'transformers:/models/x'"])
def test_batch_on_a_provider_without_a_batch_api_is_refused_at_config_time(tmp_path, teacher):
    extra = "judge: {provider: transformers, path: /models/x, batch: true}\n" if "transformers" in teacher else ""
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: {teacher}\n{extra}"
                                     f"input: {{path: {tmp_path / 'in.jsonl'}}}\nout: {tmp_path / 'run'}\n")
    write(tmp_path / "in.jsonl", '{"instruction": "hi"}\n')
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 2
    assert "batch" in res.stderr and "has no batch API" in res.stderr and not (tmp_path / "run").exists()


def recorded_requests(run: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{run / 'cache.sqlite'}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM batch_requests").fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_a_kill_between_upload_and_creation_neither_uploads_nor_creates_twice(tmp_path):
    # the server makes the batch but answers late: the run is killed after the upload was recorded and before
    # it learned the batch's id — the next run finds the batch made on the recorded file
    with OpenAIBatchServer(batch={"polls": 1, "create_delay": 3}) as server:
        cfg = config(tmp_path, server.url, 15)
        proc = start(cfg)
        deadline = time.monotonic() + PATIENCE
        while recorded_requests(tmp_path / "run") < 15 or server.batch_stats()["creates"] < 1:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # the create request has reached the server, its answer has not come
        proc.wait()
        deadline = time.monotonic() + PATIENCE  # the server finishes making the batch nobody heard about
        while server.batch_stats()["batches"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        assert server.batch_stats()["batches"] == 1
        server.configure_batches(create_delay=0)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
        assert stats["files"] == 1 and stats["batches"] == 1 and set(stats["uploads"].values()) == {1}
    assert len(records(tmp_path / "run")) == 15


@pytest.mark.slow
def test_ten_thousand_requests_killed_while_polling_lose_none_and_are_uploaded_once(tmp_path):
    with OpenAIBatchServer(batch={"polls": 10**6, "expire_pct": 3}) as server:
        cfg = config(tmp_path, server.url, 10_000, batch=FAST.replace("}", ", max_requests: 3000}"))
        proc = start(cfg)
        wait_for_batches(tmp_path / "run", proc, 4)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert sorted(server.batch_stats()["sizes"]) == [1000, 3000, 3000, 3000]
        server.configure_batches(polls=2)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
        once = distill("run", str(config(tmp_path, server.url, 10_000, out="once")), "--no-progress")
        assert once.returncode == 0, once.stderr
    faulted = set(stats["faulted"])
    assert sum(stats["sizes"][4:]) == len(faulted) and 0 < len(faulted) < 600  # only the expired went again
    assert len(stats["uploads"]) == 10_000
    assert all(n == (2 if cid in faulted else 1) for cid, n in stats["uploads"].items())
    data = records(tmp_path / "run")
    assert sorted(r["meta"]["index"] for r in data) == list(range(10_000))  # 0 lost
    assert data == records(tmp_path / "once")
    assert manifest(tmp_path / "run")["usage"]["teacher"]["batched"] == 10_000


EVOL_RULES = [
    {"match": r"rate how difficult[\s\S]*harder harder", "reply": '{"rationale": "r", "kind": "instruction", '
                                                                   '"score": 6}'},
    {"match": r"rate how difficult", "reply": "<think>Hmm.</think>\n{\"rationale\": \"r\", \"score\": 2}"},
    {"match": r"Are they equal", "reply": "Not Equal"},
    {"match": r"(?:Original prompt|Programming task):\n([\s\S]*)$", "reply": "#Rewritten Prompt#: \\1 harder"},
]


@pytest.mark.slow
def test_evol_instruct_sends_one_batch_per_dependent_stage_and_matches_immediate_calls(tmp_path):
    roots = [f"Explain topic {i} simply" for i in range(6)]
    inp = write(tmp_path / "roots.jsonl", "".join(json.dumps({"instruction": r}) + "\n" for r in roots))

    def evol(url: str, out: str, batch: str) -> Path:
        b = f", batch: {batch}" if batch else ""
        return write(tmp_path / f"{out}.yaml", f"""recipe: evol_instruct
teacher: {{provider: openai, model: evolver, base_url: {url}{b}}}
answer_teacher: {{provider: openai, model: answerer, base_url: {url}{b}}}
input: {{path: {inp}}}
out: {tmp_path / out}
seed: 3
options: {{rounds: 2}}
""")

    with OpenAIBatchServer(rules=EVOL_RULES, batch={"polls": 2}) as server:
        res = distill("run", str(evol(server.url, "run", FAST)), "--no-progress")
        assert res.returncode == 0, res.stderr
        stats = server.batch_stats()
        assert server.stats()["requests"] == 0
        now = distill("run", str(evol(server.url, "now", "")), "--no-progress")
        assert now.returncode == 0, now.stderr
        immediate_calls = server.stats()["answered"]
    # each round's evolutions, then their ratings/equality checks, then the answers: batch after batch, each
    # holding the calls of every item at that stage (not one batch per item)
    assert len(stats["sizes"]) >= 4 and max(stats["sizes"]) >= len(roots)
    assert sum(stats["sizes"]) == immediate_calls and set(stats["uploads"].values()) == {1}
    assert records(tmp_path / "run") == records(tmp_path / "now") and records(tmp_path / "run")
    assert manifest(tmp_path / "run")["evol_rounds"] == manifest(tmp_path / "now")["evol_rounds"]


def test_the_dry_run_estimate_is_at_the_batch_price(tmp_path):
    write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i}"}) + "\n" for i in range(100)))
    lines = {}
    for name, batch in (("now", ""), ("batch", ", batch: true")):
        cfg = write(tmp_path / f"{name}.yaml", f"recipe: respond\nteacher: {{provider: openai, model: gpt-4o-mini"
                                              f"{batch}}}\ninput: {{path: {tmp_path / 'in.jsonl'}}}\n")
        res = distill("run", str(cfg), "--dry-run", env={"OPENAI_API_KEY": "sk-test"})
        assert res.returncode == 0, res.stderr
        lines[name] = next(line for line in (res.stdout + res.stderr).splitlines() if "cost:" in line)
    now = float(lines["now"].split("$")[1].split()[0])
    assert "x 0.5 in batch mode" in lines["batch"]
    assert float(lines["batch"].split("$")[1].split()[0]) == pytest.approx(now / 2, abs=1e-4)


def test_a_request_that_expires_in_every_batch_fails_its_item_after_max_attempts(tmp_path):
    with OpenAIBatchServer(batch={"polls": 1, "expire_match": "Task 2:"}) as server:
        cfg = config(tmp_path, server.url, 6, batch=FAST.replace("}", ", max_attempts: 2}"))
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        uploads = server.batch_stats()["uploads"]
    assert sorted(uploads.values()) == [1, 1, 1, 1, 1, 2]  # sent in 2 batches, then given up
    failed = read_jsonl(tmp_path / "run" / "failed.jsonl")
    assert len(failed) == 1 and "unanswered in 2 batches" in json.dumps(failed[0])
    assert len(records(tmp_path / "run")) == 5
