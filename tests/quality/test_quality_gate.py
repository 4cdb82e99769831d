"""The quality gate against a scripted judge on a real HTTP server: rubric grading (JSON and free text),
unparseable replies rejected with the raw reply, both-order pairwise, thresholds, quantiles and top-k."""

from __future__ import annotations

import json

from helpers import distill, read_jsonl, write

JUDGE_RULES = [
    # pointwise: the score is whatever [score=N] marker the graded response carries
    {"match": r"# Response to grade\n+.*?\[score=(\d+)\]", "reply": '{"rationale": "scripted", "score": \\1}'},
    {"match": r"# Response to grade\n+.*?\[free=(\d+)\]", "reply": "Clear and right.\nScore: \\1"},
    {"match": r"# Response to grade\n+.*?\[bad\]", "reply": "I liked it a lot!"},
    {"match": r"# Response to grade\n+.*?\[off\]", "reply": '{"rationale": "x", "score": 42}'},
    # pairwise: sample 0 is better, wherever it is shown
    {"match": r"# Response A\n+Answer \w+-0", "reply": '{"rationale": "first is better", "winner": "A"}'},
    {"match": r"# Response B\n+Answer \w+-0", "reply": '{"rationale": "second is better", "winner": "B"}'},
]


def _config(tmp_path, url, rows, extra, rules=JUDGE_RULES):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: teacher-m, base_url: {url}}}
judge: {{provider: openai, model: judge-m, base_url: {url}}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
{extra}
""")


def test_rubric_scores_land_in_records_and_unreadable_replies_are_rejected(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE_RULES)
    rows = [{"instruction": "Q1 [score=8]"}, {"instruction": "Q2 [free=3]"}, {"instruction": "Q3 [bad]"},
            {"instruction": "Q4 [off]"}, {"instruction": "Q5 [score=10]"}]
    cfg = _config(tmp_path, teacher_server.url, rows, "quality: {rubric: overall}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    assert [r["meta"]["scores"]["judge.overall"] for r in data] == [8, 3, 10]
    assert data[0]["meta"]["rationales"]["overall"] == "scripted"
    assert data[1]["meta"]["rationales"]["overall"] == "Clear and right."
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [r["reason"] for r in rejected] == ["judge_unparseable", "judge_unparseable"]
    assert rejected[0]["raw"] == "I liked it a lot!" and "outside the rubric's scale" in rejected[1]["detail"]

    judge_call = teacher_server.last()  # the last request was a judge call (judges run after answers)
    assert judge_call["model"] == "judge-m" and judge_call["temperature"] == 0
    assert judge_call["response_format"]["type"] == "json_schema"
    prompt = judge_call["messages"][0]["content"]
    assert "# Rubric: overall" in prompt and "- 10: Flawless" in prompt and "from 1 to 10" in prompt

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["quality"]["rejected"] == {"judge_unparseable": 2}
    assert manifest["scores"]["judge.overall"]["values"]["8"] == 1
    assert manifest["usage"]["judge"]["answered"] == 5


def test_multi_aspect_reference_guided_and_threshold_selection(tmp_path, teacher_server):
    rules = [{"match": r"# Rubric: (helpfulness|honesty)", "reply": '{"rationale": "r", "score": 4}'},
             {"match": r"\[score=(\d)\][\s\S]*# Rubric: truthfulness", "reply": '{"rationale": "r", "score": \\1}'},
             {"match": r"# Rubric: instruction_following", "reply": '{"rationale": "r", "score": 5}'}]
    teacher_server.configure(rules=rules)
    rows = [{"instruction": f"Q{i} [score={s}]", "gold": f"gold {i}"} for i, s in enumerate([5, 2, 4, 1])]
    cfg = _config(tmp_path, teacher_server.url, rows, """quality:
  aspects: [instruction_following, truthfulness, honesty, helpfulness]
  reference_field: gold
select:
  rules:
    - {score: judge.truthfulness, min: 4}""", rules=rules)
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    assert [r["instruction"] for r in data] == ["Q0 [score=5]", "Q2 [score=4]"]
    assert set(data[0]["meta"]["scores"]) == {"judge.instruction_following", "judge.truthfulness",
                                              "judge.honesty", "judge.helpfulness"}
    rejected = read_jsonl(out / "rejected.jsonl")
    assert [r["reason"] for r in rejected] == ["select: judge.truthfulness min 4"] * 2
    assert rejected[0]["item"]["meta"]["scores"]["judge.truthfulness"] == 2  # rejected records keep their scores
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["selection"]["kept"] == 2 and manifest["stages"]["select"]["accepted"] == 2
    assert teacher_server.stats()["answered"] == 4 + 4 * 4  # four answers, four aspects each
    # reference-guided: the gold answer is in the judge prompt
    assert "# Reference answer" in json.dumps(teacher_server.last())


def test_top_quantile_and_top_k_per_group(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE_RULES)
    scores = [3, 9, 5, 7, 1, 8, 6, 2]
    rows = [{"instruction": f"Q{i} [score={s}]"} for i, s in enumerate(scores)]
    cfg = _config(tmp_path, teacher_server.url, rows, """quality: {rubric: overall}
options: {samples: 1}
select:
  mode: all
  rules:
    - {score: judge.overall, top_quantile: 0.5}""")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    kept = [r["meta"]["scores"]["judge.overall"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")]
    assert kept == [9, 7, 8, 6]  # the top half, in input order

    answered = teacher_server.stats()["answered"]
    cfg.write_text(cfg.read_text().replace("top_quantile: 0.5}", "top_k: 1, group_by: meta.sample}"))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    kept = [r["meta"]["scores"]["judge.overall"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")]
    assert kept == [9]  # one group (every record is sample 0): its single best
    assert teacher_server.stats()["answered"] == answered  # re-selecting costs no call: answers are cached


def test_tied_scores_are_selected_in_input_order_whatever_order_they_were_scored_in(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE_RULES, jitter=0.05)  # answers and verdicts arrive in a random order
    rows = [{"instruction": f"Q{i} [score=5]"} for i in range(12)]
    cfg = _config(tmp_path, teacher_server.url, rows, """quality: {rubric: overall}
select:
  rules:
    - {score: judge.overall, top_k: 3}""")
    assert distill("run", str(cfg), "--no-progress").returncode == 0
    kept = [r["instruction"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")]
    assert kept == ["Q0 [score=5]", "Q1 [score=5]", "Q2 [score=5]"]


def test_pairwise_both_orders_make_preference_pairs_and_position_bias_makes_ties(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE_RULES)
    rows = [{"instruction": f"Compare me {i}"} for i in range(3)]
    cfg = _config(tmp_path, teacher_server.url, rows, "quality: {pairwise: true}\noptions: {samples: 2}")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    pairs = read_jsonl(tmp_path / "run" / "pairs.jsonl")
    assert len(pairs) == 3
    for p in pairs:
        assert "-0 to:" in p["chosen"][-1]["content"] and "-1 to:" in p["rejected"][-1]["content"]
        assert p["prompt"] == p["chosen"][:-1] == p["rejected"][:-1]
        assert p["meta"]["pairwise"]["verdicts"] == ["A", "B"]

    biased = [{"match": r"# Response A", "reply": '{"rationale": "the first one", "winner": "A"}'}]
    teacher_server.configure(rules=biased)
    cfg2 = _config(tmp_path, teacher_server.url, rows, "quality: {pairwise: true}\noptions: {samples: 2}",
                   rules=biased)
    cfg2.write_text(cfg2.read_text().replace(f"out: {tmp_path / 'run'}", f"out: {tmp_path / 'run2'}"))
    assert distill("run", str(cfg2), "--no-progress").returncode == 0
    assert read_jsonl(tmp_path / "run2" / "pairs.jsonl") == []
    ties = [r for r in read_jsonl(tmp_path / "run2" / "rejected.jsonl") if r["stage"] == "pairwise"]
    assert len(ties) == 3 and all(r["reason"] == "pairwise_tie" for r in ties)
    assert ties[0]["detail"]["verdicts"] == ["A", "A"]


def test_served_reward_endpoint_attribute_scores(tmp_path, teacher_server):
    """A Nemotron-style reward endpoint: chat completion in, 'attr:value,...' out, one score column each."""
    rules = [{"match": r"^Q(\d)", "reply": "helpfulness:\\1.5,correctness:3.25,verbosity:0.5"}]
    teacher_server.configure(rules=rules)
    rows = [{"instruction": f"Q{i}"} for i in (1, 3, 2)]
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: t, base_url: {teacher_server.url}}}
reward: {{provider: openai, model: nemotron-reward, base_url: {teacher_server.url}}}
input: {{path: {inp}}}
out: {tmp_path / 'run'}
select:
  rules: [{{score: reward.helpfulness, min: 2.0}}]
""")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [r["meta"]["scores"] for r in data] == [
        {"reward.helpfulness": 3.5, "reward.correctness": 3.25, "reward.verbosity": 0.5},
        {"reward.helpfulness": 2.5, "reward.correctness": 3.25, "reward.verbosity": 0.5}]
    last = teacher_server.last()
    assert last["model"] == "nemotron-reward" and last["messages"][-1]["role"] == "assistant"
