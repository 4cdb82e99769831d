"""distill against scripted servers that behave like the real families of OpenAI-compatible servers
(`family_teacher.py`): structured output is found by itself, `n` is emulated where it is missing, a prompt
over the context length rejects its item, and none of it costs a retry or a call on the re-run."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from family_teacher import FamilyTeacher
from helpers import ROOT, distill, read_jsonl, write, write_instructions

LONG = " We work it out carefully, one step after another, checking each intermediate value along the way." * 3
MATH_RULES = [{"match": r"Problem:\nWhat is 2 \+ 2\?\n+Solution:$", "reply": "Case {h}." + LONG + " \\\\boxed{4}"},
              {"match": r"Problem:\nWhat is 3 \+ 3\?\n+Solution:$", "reply": "Case {h}." + LONG + " \\\\boxed{6}"}]


def _judged(tmp_path, url, rows=6, transport="http"):
    inp = write_instructions(tmp_path / "in.jsonl", rows)
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {url}, max_concurrency: 1, transport: {transport}}}
input: {{path: {inp}}}
quality: {{rubric: overall}}
out: {tmp_path / 'run'}
""")


def _shape(body):
    fmt = body.get("response_format")
    return fmt["type"] if fmt else ("guided_json" if "guided_json" in body else "text")


@pytest.mark.parametrize("family,transport,found,refused", [
    ("schema_400", "http", "json_object", 1),
    ("schema_500", "http", "json_object", 1),
    ("schema_500", "sdk", "json_object", 1),
    ("guided_only", "http", "guided_json", 2),
])
@pytest.mark.slow
def test_structured_output_is_found_on_the_first_refusal(tmp_path, family, transport, found, refused):
    with FamilyTeacher(family) as server:
        cfg = _judged(tmp_path, server.url, transport=transport)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        out = tmp_path / "run"
        data = read_jsonl(out / "data.jsonl")
        # the judge's verdicts are readable only when constrained: every record got the constrained score 10
        assert len(data) == 6 and {r["meta"]["scores"]["judge.overall"] for r in data} == {10.0}
        judged = [b for b in server.bodies() if "Rubric:" in b["messages"][0]["content"]]
        shapes = [_shape(b) for b in judged]
        ladder = ["json_schema", "json_object", "guided_json"]
        assert shapes == ladder[:refused] + [found] * 6  # each refused form once, then the accepted one
        manifest = json.loads((out / "manifest.json").read_text())
        judge = manifest["usage"]["judge"]
        assert judge["retries"] == 0 and judge["failed"] == 0
        assert judge["capabilities"]["structured_output"] == found
        assert set(judge["capabilities"]["refusals"]) == set(ladder[:refused])

        files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
        before = server.stats()["requests"]
        assert distill("run", str(cfg), "--no-progress").returncode == 0
        assert server.stats()["requests"] == before  # the re-run pays nothing
        assert {name: (out / name).read_bytes() for name in files} == files
        again = json.loads((out / "manifest.json").read_text())
        assert again["usage"]["judge"]["capabilities"]["structured_output"] == found

        # a larger run in the same folder starts from what the first one found: no refused shape is sent again
        cfg = _judged(tmp_path, server.url, rows=9, transport=transport)
        assert distill("run", str(cfg), "--no-progress").returncode == 0
        new = [b for b in server.bodies()[len(server.bodies()) - (server.stats()["requests"] - before):]]
        assert [_shape(b) for b in new if "Rubric:" in b["messages"][0]["content"]] == [found] * 3


def test_supports_json_schema_false_still_sends_plain_requests(tmp_path):
    with FamilyTeacher("schema_500") as server:
        cfg = _judged(tmp_path, server.url)
        cfg.write_text(cfg.read_text().replace("transport: http", "transport: http, supports_json_schema: false"))
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 1, res.stderr  # every judgement unreadable: exit 1
        judged = [b for b in server.bodies() if "Rubric:" in b["messages"][0]["content"]]
        assert [_shape(b) for b in judged] == ["text"] * 6  # the manual override: no detection, no refusal
        reasons = Counter(r["reason"] for r in read_jsonl(tmp_path / "run" / "rejected.jsonl"))
        assert reasons == {"judge_unparseable": 6}  # the scripted judge is unreadable without a constraint


@pytest.mark.parametrize("edit", [
    ("transport: http", "transport: http, structured_output: json_object"),  # the judge's form fixed
    ("quality:", "generation: {response_format: {type: json_object}}\nquality:"),  # every call asks for it
])
def test_a_form_the_config_chose_is_not_changed_and_its_refusal_is_reported(tmp_path, edit):
    with FamilyTeacher("guided_only") as server:
        cfg = _judged(tmp_path, server.url)
        cfg.write_text(cfg.read_text().replace(*edit))
        res = distill("run", str(cfg), "--no-progress", timeout=60)
        assert res.returncode == 1 and "refused response_format (HTTP 400)" in res.stderr
        asked = [b for b in server.bodies() if _shape(b) != "text"]  # as configured, never changed, none retried
        assert asked and {_shape(b) for b in asked} == {"json_object"}
        assert len(asked) == len({json.dumps(b) for b in asked})


def _math(tmp_path, url):
    rows = [{"problem": "What is 2 + 2?", "answer": "4"}, {"problem": "What is 3 + 3?", "answer": "6"}]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher: {{provider: openai, model: m, base_url: {url}, max_concurrency: 1}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options: {{samples: 4}}
""")


@pytest.mark.parametrize("family", ["n_ignored", "n_refused"])
def test_missing_n_is_emulated_with_single_calls(tmp_path, family):
    with FamilyTeacher(family, rules=MATH_RULES) as server:
        cfg = _math(tmp_path, server.url)
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        out = tmp_path / "run"
        data = read_jsonl(out / "data.jsonl")
        assert Counter(r["instruction"] for r in data) == {"What is 2 + 2?": 4, "What is 3 + 3?": 4}
        assert len({r["output"] for r in data}) == 8  # distinct samples (distinct seeds), not one copied
        ns = [b.get("n", 1) for b in server.bodies()]
        # the first problem asks for n=4 once; everything after that is single calls with distinct seeds
        assert ns == [4] + [1] * (3 if family == "n_ignored" else 4) + [1] * 4
        for problem in ("2 + 2", "3 + 3"):
            seeds = [b["seed"] for b in server.bodies() if b.get("n", 1) == 1 and problem in json.dumps(b)]
            assert len(seeds) == len(set(seeds)) >= 3
        manifest = json.loads((out / "manifest.json").read_text())
        teacher = manifest["usage"]["teacher"]
        assert teacher["capabilities"]["supports_n"] is False and "n" in teacher["capabilities"]["refusals"]
        assert teacher["retries"] == 0

        files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
        before = server.stats()["requests"]
        assert distill("run", str(cfg), "--no-progress").returncode == 0
        assert server.stats()["requests"] == before
        assert {name: (out / name).read_bytes() for name in files} == files


def test_a_prompt_over_the_context_length_rejects_its_item_and_the_run_goes_on(tmp_path, teacher_server):
    """One judge prompt too long for the model (HTTP 400 context_length_exceeded): that record is rejected with
    the reason `context_length`; the other items finish; no call is sent twice; the re-run sends nothing."""
    teacher_server.configure(max_prompt_chars=1500, latency=0.05, rules=[
        {"match": r"Rubric:", "reply": '{"rationale": "ok", "score": 8}'},
        {"match": r"Task number 3:", "reply": "x" * 1600}])  # its judge prompt holds this reply: too long
    inp = write_instructions(tmp_path / "in.jsonl", 8)
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
quality: {{rubric: overall}}
out: {tmp_path / 'run'}
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    assert len(read_jsonl(out / "data.jsonl")) == 7
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [(r["stage"], r["reason"]) for r in rejected] == [("quality", "context_length")]
    assert "maximum context length" in json.dumps(rejected[0])
    bodies = [json.dumps(b["messages"]) for b in teacher_server.bodies()]
    assert len(bodies) == 16 and len(set(bodies)) == 16  # 8 answers + 8 judge prompts, each sent once
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["judge"]["retries"] == 0
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    assert teacher_server.stats()["requests"] == 16


def test_a_refused_prompt_is_remembered_so_a_rerun_sends_nothing(tmp_path, teacher_server):
    """Alpaca's bootstrap reads every reply from the cache on a re-run (no item logs): a prompt refused as too
    long must be rejected again from the run folder, not sent again."""
    from scripted_replies import ALPACA_REPLY

    seeds = ROOT / "recipes" / "data" / "self_instruct_seeds.jsonl"
    teacher_server.configure(rules=[{"match": r"Instruction:$", "reply": ALPACA_REPLY}])

    def cfg(out):
        return write(tmp_path / "r.yaml", f"""recipe: alpaca
teacher: {{provider: openai, model: m, base_url: {teacher_server.url}}}
num: 6
out: {out}
options: {{seeds: {seeds}, in_flight: 3}}
""")

    assert distill("run", str(cfg(tmp_path / "probe")), "--no-progress").returncode == 0
    lengths = sorted(len(b["messages"][0]["content"]) for b in teacher_server.bodies())
    teacher_server.configure(rules=[{"match": r"Instruction:$", "reply": ALPACA_REPLY}],
                             max_prompt_chars=lengths[len(lengths) // 2])  # about half the prompts too long
    out = tmp_path / "run"
    res = distill("run", str(cfg(out)), "--no-progress")
    assert res.returncode == 0, res.stderr
    refused = [r for r in read_jsonl(out / "rejected.jsonl") if r["reason"] == "context_length"]
    assert refused and len(read_jsonl(out / "data.jsonl")) == 6
    files = {name: (out / name).read_bytes() for name in ("data.jsonl", "rejected.jsonl")}
    calls = teacher_server.stats()["requests"]
    assert distill("run", str(cfg(out)), "--no-progress").returncode == 0
    assert teacher_server.stats()["requests"] == calls
    assert {name: (out / name).read_bytes() for name in files} == files


def test_more_choices_than_asked_for_are_dropped(tmp_path):
    with FamilyTeacher("n_extra") as server:
        inp = write_instructions(tmp_path / "in.jsonl", 5)
        cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: m, base_url: {server.url}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
""")
        res = distill("run", str(cfg), "--no-progress")
        assert res.returncode == 0, res.stderr
        assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 5  # one record per row, not three
