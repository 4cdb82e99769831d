"""One judge aspect's unreadable reply never leaves the other aspects' calls running (each is answered, cached and
counted; the run does not end with calls "in flight"), and a judge's rationale with NUL, ESC or U+202E never
reaches an accepted record's `meta.rationales`: the control-character rule covers every string in meta."""

from __future__ import annotations

import json

from helpers import distill, read_jsonl, write, write_instructions


def _config(tmp_path, url):
    inp = write_instructions(tmp_path / "in.jsonl", 4)
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}}}
judge: {{provider: openai, model: judge-m, base_url: {url}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
quality: {{aspects: [instruction_following, helpfulness]}}
""")


def test_an_unreadable_aspect_waits_for_its_siblings_and_counts_them(tmp_path, teacher_server):
    teacher_server.configure(rules=[
        {"match": r"# Rubric: helpfulness", "reply": "I would rather not say."},  # unreadable, at once
        {"match": r"# Rubric: instruction_following", "reply": '{"rationale": "ok", "score": 4}', "delay": 1.5}])
    res = distill("run", str(_config(tmp_path, teacher_server.url)), "--no-progress", timeout=120)
    assert res.returncode == 1, res.stderr  # nothing accepted: said, exit 1
    assert "Traceback" not in res.stderr and "in flight" not in res.stdout + res.stderr
    rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
    assert len(rejected) == 4 and {r["reason"] for r in rejected} == {"judge_unparseable"}
    judged = [b for b in teacher_server.bodies() if b["model"] == "judge-m"]
    assert len(judged) == 8
    usage = json.loads((tmp_path / "run" / "manifest.json").read_text())["usage"]
    assert usage["judge"]["answered"] == 8  # the slow aspect's calls are counted, not abandoned

    before = teacher_server.stats()["requests"]  # and they were cached: the re-run asks nothing
    again = distill("run", str(_config(tmp_path, teacher_server.url)), "--no-progress", timeout=120)
    assert again.returncode == 1, again.stderr  # still nothing accepted
    assert teacher_server.stats()["requests"] == before


def test_control_characters_in_a_rationale_reject_the_record(tmp_path, teacher_server):
    teacher_server.configure(rules=[
        {"match": r"Task number 0[\s\S]*# Rubric: helpfulness",
         "reply": '{"rationale": "a NUL \\\\u0000", "score": 4}'},
        {"match": r"Task number 1[\s\S]*# Rubric: helpfulness",
         "reply": '{"rationale": "paints \\\\u001b[31mred", "score": 4}'},
        {"match": r"Task number 2[\s\S]*# Rubric: helpfulness",
         "reply": '{"rationale": "flips \\\\u202e", "score": 4}'},
        {"match": r"# Rubric", "reply": '{"rationale": "fine", "score": 4}'}])
    for _ in range(2):  # fresh, then every reply from the cache
        res = distill("run", str(_config(tmp_path, teacher_server.url)), "--no-progress", timeout=120)
        assert res.returncode == 0, res.stderr
        data = read_jsonl(tmp_path / "run" / "data.jsonl")
        assert [r["instruction"] for r in data] == ["Task number 3: say something"]
        assert data[0]["meta"]["rationales"] == {"instruction_following": "fine", "helpfulness": "fine"}
        rejected = read_jsonl(tmp_path / "run" / "rejected.jsonl")
        assert sorted((r["stage"], r["reason"]) for r in rejected) == [("quality", "control_characters")] * 3
