"""The respond recipe end to end through the real CLI, against a real HTTP server, on both transports."""

from __future__ import annotations

import json

import pytest
from helpers import distill, read_jsonl, recipe_yaml, write


@pytest.mark.parametrize("transport", ["http", "aiohttp", "sdk"])
def test_respond_writes_a_loadable_run_folder(tmp_path, teacher_server, transport):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}", "input": f"ctx {i}"})
                                               + "\n" for i in range(12))
                + json.dumps({"instruction": "Cut me off [[truncate]]"}) + "\n")
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out, teacher_extra=f"transport: {transport}")
    res = distill("run", str(cfg))
    assert res.returncode == 0, res.stderr
    assert "12 accepted, 1 rejected, 0 failed" in res.stdout

    rows = read_jsonl(out / "data.jsonl")
    assert [r["meta"]["index"] for r in rows] == list(range(12))  # input order, whatever the completion order
    first = rows[0]
    assert first["instruction"] == "Question 0" and first["input"] == "ctx 0"
    assert first["messages"][0] == {"role": "user", "content": "Question 0\n\nctx 0"}
    assert first["messages"][-1]["role"] == "assistant"
    assert first["output"].startswith("Answer ") and first["messages"][-1]["content"] == first["output"]

    rejected = read_jsonl(out / "rejected.jsonl")
    assert rejected[0]["reason"] == "truncated" and rejected[0]["stage"] == "respond"
    assert "Cut me off" in rejected[0]["raw"]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["teacher"]["answered"] == 13
    assert manifest["usage"]["teacher"]["completion_tokens"] > 0
    assert manifest["stages"]["respond"] == {"accepted": 12, "rejected": {"truncated": 1}, "failed": 0}
    assert manifest["teacher"]["model"] == "fake-model"

    import datasets

    ds = datasets.load_dataset("json", data_files=str(out / "data.jsonl"), split="train")
    assert len(ds) == 12 and {"messages", "instruction", "input", "output", "meta"} <= set(ds.column_names)


def test_generation_parameters_reach_the_wire(tmp_path, teacher_server):
    """n, seed, stop and extra_body are sent; n samples become n records."""
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Hello"}) + "\n")
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}, extra_body: {{top_k: 5}}}}
generation: {{max_tokens: 16, stop: ["###"], seed: 7, presence_penalty: 0.5}}
input: {{path: {inp}}}
out: {out}
options: {{samples: 3}}
""")
    res = distill("run", str(cfg))
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(out / "data.jsonl")
    assert [r["meta"]["sample"] for r in rows] == [0, 1, 2]
    assert len({r["output"] for r in rows}) == 3
    assert teacher_server.stats()["answered"] == 1  # one request with n=3, not three requests
    body = teacher_server.last()
    assert body["n"] == 3 and body["seed"] == 7 and body["stop"] == ["###"] and body["top_k"] == 5
    assert body["presence_penalty"] == 0.5 and body["max_tokens"] == 16 and body["model"] == "m"


def test_dry_run_calls_nobody_and_writes_nothing(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "Say hi"}) + "\n")
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    res = distill("run", str(cfg), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "teacher calls: up to 1" in res.stdout and "Say hi" in res.stdout
    assert teacher_server.stats()["requests"] == 0
    assert not out.exists()


def test_show_and_export_a_finished_run(tmp_path, teacher_server):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Q{i}"}) + "\n" for i in range(4))
                + json.dumps({"instruction": "bad [[truncate]]"}) + "\n")
    out = tmp_path / "run"
    cfg = recipe_yaml(tmp_path / "r.yaml", teacher_server.url, inp, out)
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    res = distill("show", str(out), "-n", "2")
    assert res.returncode == 0
    assert "accepted 4, rejected 1, failed 0" in res.stdout and "truncated 1" in res.stdout
    assert "user: Q0" in res.stdout and "user: Q1" in res.stdout and "user: Q2" not in res.stdout
    assert "showed 2 of 4 accepted record(s)" in res.stdout
    res = distill("show", str(out), "--rejected")
    assert "rejected at respond: truncated" in res.stdout and "showed 1 of 1 rejected" in res.stdout

    res = distill("export", str(out), "--save-to-disk", str(tmp_path / "ds"))
    assert res.returncode == 0, res.stderr
    import datasets

    table = datasets.load_dataset("parquet", data_files=str(out / "data.parquet"), split="train")
    assert len(table) == 4 and table[0]["messages"][0]["content"] == "Q0"
    assert len(datasets.load_from_disk(str(tmp_path / "ds"))) == 4

    res = distill("show", str(tmp_path))
    assert res.returncode == 2 and "not a finished run folder" in res.stderr
    res = distill("show", str(tmp_path / "nope"))
    assert res.returncode == 2 and "no such folder" in res.stderr
