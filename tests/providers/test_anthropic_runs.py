"""`distill run` with Claude as teacher and judge, end to end through the CLI against the scripted Messages API:
answers and judge scores land in the dataset, 529 overloaded is retried, a re-run pays for nothing, a prompt too
long rejects only its item, and the key is in no file and no output."""

from __future__ import annotations

import json

import pytest
from anthropic_server import AnthropicServer
from helpers import distill, read_jsonl, write

KEY = "sk-ant-api03-test-0123456789abcdefSECRET"
JUDGE_RULES = [  # Claude answers a grading prompt chattily, with the JSON in a fence
    {"match": r"# Response to grade\n+.*?\[score=(\d+)\]",
     "reply": 'Here is my evaluation of the response.\n\n```json\n{"rationale": "scripted", "score": \\1}\n```\n'
              "Let me know if you need anything else!"},
]


@pytest.fixture
def server():
    with AnthropicServer(api_key=KEY, rules=JUDGE_RULES) as s:
        yield s


def _everything_written(folder):
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def _config(tmp_path, url, rows, extra=""):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: anthropic:claude-sonnet-4-6@{url}
generation: {{max_tokens: 64, temperature: 0.7}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
{extra}""")


def test_respond_with_claude_retries_overloaded_and_reruns_for_free(tmp_path, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    server.configure(api_key=KEY, overloaded=3, max_prompt_chars=400)
    rows = [{"instruction": f"Explain topic {i} briefly"} for i in range(12)] + [{"instruction": "y" * 500}]
    cfg = _config(tmp_path, server.url, rows)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    assert len(data) == 12 and all("Answer " in r["output"] for r in data)
    assert [r["reason"] for r in read_jsonl(out / "rejected.jsonl")] == ["context_length"]
    manifest = json.loads((out / "manifest.json").read_text())
    teacher = manifest["usage"]["teacher"]
    assert teacher["retry_reasons"] == {"http_529": 3} and teacher["answered"] == 12
    assert manifest["config"]["teacher"]["api_key_env"] == "ANTHROPIC_API_KEY"
    assert KEY.encode() not in _everything_written(out) and KEY not in res.stdout + res.stderr

    before = server.stats()["requests"]
    again = distill("run", str(cfg), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert server.stats()["requests"] == before  # every answer (and the refusal) came from the cache
    assert read_jsonl(out / "data.jsonl") == data


def test_claude_judges_with_chatty_fenced_json(tmp_path, server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    server.configure(api_key=KEY, rules=JUDGE_RULES, overloaded=2)
    rows = [{"instruction": f"Q{i} [score={s}]"} for i, s in enumerate([9, 3, 7])]
    cfg = _config(tmp_path, server.url, rows, f"judge: {{provider: anthropic, model: claude-haiku-4-5, "
                  f"base_url: '{server.url}'}}\nquality: {{rubric: overall}}\nselect: {{rules: [{{score: "
                  "judge.overall, min: 5}]}\n")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [(r["instruction"], r["meta"]["scores"]["judge.overall"]) for r in data] == [("Q0 [score=9]", 9),
                                                                                      ("Q2 [score=7]", 7)]
    judged = [b for b in server.bodies() if b["model"] == "claude-haiku-4-5"]
    assert len(judged) >= 3 and all("response_format" not in b and b["temperature"] == 0 for b in judged)
    assert KEY.encode() not in _everything_written(tmp_path / "run") and KEY not in res.stdout + res.stderr


def test_a_missing_key_fails_before_any_call(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    write(tmp_path / "in.jsonl", '{"instruction": "x"}\n')
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\nteacher: anthropic:claude-sonnet-4-6\n"
                f"input: {{path: {tmp_path / 'in.jsonl'}}}\nout: {tmp_path / 'run'}\n")
    for command in ("validate", "run"):
        res = distill(command, str(cfg))
        assert res.returncode == 2 and "ANTHROPIC_API_KEY" in res.stderr, res.stderr
    assert not (tmp_path / "run" / "data.jsonl").exists()
