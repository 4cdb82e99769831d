"""`--teacher` short form over the recipe's `teacher:` mapping: the endpoint changes, the settings stay."""

from __future__ import annotations

import json

from helpers import distill, read_jsonl, write

from distill.config import load_config

LONG = " We work it out carefully, one step after another, checking each intermediate value along the way." * 3


def test_short_form_keeps_the_yaml_settings_of_the_same_provider(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": r"Solution:$", "reply": "Case {h}." + LONG + " \\\\boxed{4}"}])
    inp = write(tmp_path / "in.jsonl", json.dumps({"problem": "What is 2 + 2?", "answer": "4"}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"""recipe: math_qa
teacher:
  provider: openai
  model: gpt-4o-mini
  supports_n: false
  max_concurrency: 3
  price: {{prompt_per_mtok: 1.0, completion_per_mtok: 2.0}}
input: {{path: {inp}, field: problem, input_field: null}}
out: {tmp_path / 'run'}
options: {{samples: 4}}
""")
    res = distill("run", str(cfg), "--teacher", f"openai:smollm2@{teacher_server.url}", "--no-progress")
    assert res.returncode == 0, res.stderr
    bodies = teacher_server.bodies()
    assert {b["model"] for b in bodies} == {"smollm2"}
    assert [b.get("n", 1) for b in bodies] == [1, 1, 1, 1]  # supports_n: false from the YAML was kept
    assert len(read_jsonl(tmp_path / "run" / "data.jsonl")) == 4
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    teacher = manifest["config"]["teacher"]
    assert (teacher["model"], teacher["base_url"]) == ("smollm2", teacher_server.url)
    assert teacher["supports_n"] is False and teacher["max_concurrency"] == 3
    assert teacher["price"] == {"prompt_per_mtok": 1.0, "completion_per_mtok": 2.0}
    assert manifest["usage"]["teacher"]["cost_usd"] > 0


def test_short_form_of_another_provider_starts_afresh(tmp_path):
    cfg = write(tmp_path / "r.yaml", """recipe: respond
teacher: {provider: openai, model: m, base_url: http://127.0.0.1:9/v1, supports_n: false, extra_body: {top_k: 5}}
judge: {provider: openai, model: j, base_url: http://127.0.0.1:9/v1, timeout: 7}
""")
    loaded, _ = load_config(cfg, {"teacher": "local", "judge": "openai:other"})
    assert loaded.teacher.provider == "local" and loaded.teacher.base_url is None
    assert not hasattr(loaded.teacher, "supports_n") and loaded.teacher.extra_body is None  # an openai key
    # the same provider without a URL: the short form names the endpoint, so OpenAI's own API; timeout kept
    assert loaded.judge is not None and loaded.judge.model == "other" and loaded.judge.base_url is None
    assert loaded.judge.timeout == 7
