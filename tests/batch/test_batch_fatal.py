"""A fatal teacher error in batch mode (a key refused by the batch API) ends the run with the clean error and
exit 1 — no traceback from batch work left running, no unclosed connection — and what was already submitted
stays recorded in the run folder, so the same command collects it once the key is fixed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import distill, read_jsonl, write
from openai_batch_server import OpenAIBatchServer

FAST = "{poll_seconds: 0.05, max_poll_seconds: 0.2, gather_seconds: 0.2, max_requests: 3}"


def config(tmp_path: Path, url: str, n: int, *, judge: bool = False) -> Path:
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i}: say something"}) + "\n"
                                               for i in range(n)))
    judge_line = (f"judge: {{provider: openai, model: judge-m, base_url: {url}, api_key_env: JUDGE_KEY, "
                  f"batch: {FAST}}}\nquality: {{rubric: overall}}\n" if judge else "")
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}, batch: {FAST}}}
{judge_line}input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")


def clean(stderr: str) -> bool:
    return not any(bad in stderr for bad in ("Traceback", "Event loop is closed", "Unclosed", "Exception in"))


def test_a_refused_key_ends_the_run_with_the_error_alone(tmp_path):
    with OpenAIBatchServer(api_key="sk-right") as server:
        res = distill("run", str(config(tmp_path, server.url, 12)), "--no-progress",
                      env={"OPENAI_API_KEY": "sk-wrong"})
    assert res.returncode == 1
    assert res.stderr.startswith("error: batch API of openai:teacher-m") and "rejected the API key" in res.stderr
    assert clean(res.stderr), res.stderr
    assert not (tmp_path / "run").exists()  # nothing paid, nothing submitted: the folder this run made is gone


def test_a_judge_refused_while_the_teachers_batches_are_collected_ends_cleanly(tmp_path):
    with OpenAIBatchServer(api_key="sk-right", batch={"polls": 2}) as server:
        res = distill("run", str(config(tmp_path, server.url, 150, judge=True)), "--no-progress",
                      env={"OPENAI_API_KEY": "sk-right", "JUDGE_KEY": "sk-wrong"})
    assert res.returncode == 1
    assert "error: batch API of openai:judge-m" in res.stderr and "rejected the API key" in res.stderr
    assert clean(res.stderr), res.stderr


def test_batches_submitted_before_a_fatal_error_are_kept_and_collected_by_the_same_command(tmp_path):
    # the key is revoked once two batches were made: the run stops; those batches are paid for and stay recorded
    with OpenAIBatchServer(batch={"polls": 2, "revoke_after": 2}) as server:
        cfg = config(tmp_path, server.url, 12)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 1 and "rejected the API key" in res.stderr and clean(res.stderr), res.stderr
        # two batches of 3 made (their acknowledgements may be cut off by the stop), and perhaps the files of
        # others uploaded: the next run makes their batches, or finds the ones made
        kept = int(re.search(r"(\d+) submitted requests stay with the provider", res.stderr)[1])
        assert 6 <= kept <= 12, res.stderr
        status = distill("status", str(tmp_path / "run")).stdout
        assert f"requests with the provider now: {kept} " in status, status
        server.configure_batches(revoke_after=None)
        again = distill("run", str(cfg), "--no-progress")
        assert again.returncode == 0, again.stderr
        assert "an earlier run submitted; none is sent again" in again.stderr
        stats = server.batch_stats()
    assert len(stats["uploads"]) == 12 and set(stats["uploads"].values()) == {1}  # none was uploaded twice
    assert stats["batches"] == 4  # nor made a batch twice
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 12


def test_a_batch_that_fails_as_a_whole_every_time_says_when_its_requests_are_given_up(tmp_path):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Task {i}"}) + "\n" for i in range(3)))
    batch = FAST.replace("}", ", max_attempts: 2}")
    with OpenAIBatchServer(batch={"polls": 1, "fail_batches": 10}) as server:
        cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {server.url}, batch: {batch}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")
        res = distill("run", str(cfg), "--no-progress")
        assert server.batch_stats()["sizes"] == [3, 3]
    assert res.returncode == 1 and clean(res.stderr), res.stderr
    assert res.stderr.count("of its 3 requests, 3 go into the next batch") == 1
    assert "of its 3 requests, none goes again (3 were in 2 batches already: their calls fail)" in res.stderr
    assert len(read_jsonl(tmp_path / "run" / "failed.jsonl")) == 3
