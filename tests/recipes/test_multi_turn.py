"""`turns: N` for any recipe: each record becomes an N-turn conversation (the teacher plays the user), judged turn
by turn, written in TRL's `messages` format, counted in the manifest and the card — against the scripted server."""

from __future__ import annotations

import json

import pytest
from helpers import distill, read_jsonl, write

from distill.run.multi_turn import clean_followup

RULES = [
    {"match": "You are playing the user", "reply": "User: Thank you! But what if case {h} were twice as large?"},
    {"match": r"# Response to grade\n+Answer [\w-]+ to: But what if", "reply": '{"rationale": "weak", "score": 4}'},
    {"match": r"# Response to grade", "reply": '{"rationale": "fine", "score": 9}'},
]


def _run(tmp_path, url, turns: int, extra: str = ""):
    inp = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}"}) + "\n"
                                               for i in range(4)))
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: respond
teacher: {{provider: openai, model: fake-model, base_url: {url}, timeout: 5}}
generation: {{max_tokens: 32}}
input: {{path: {inp}}}
out: {out}
turns: {turns}
{extra}""")
    return cfg, out


def test_respond_records_become_judged_three_turn_conversations(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    cfg, out = _run(tmp_path, teacher_server.url, 3, "quality: {rubric: overall}\n")
    res = distill("run", str(cfg))
    assert res.returncode == 0, res.stderr
    assert "4 accepted, 0 rejected" in res.stdout

    rows = read_jsonl(out / "data.jsonl")
    first = rows[0]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"] * 3
    follow = first["messages"][2]["content"]
    assert follow.startswith("But what if case") and "Thank" not in follow and "User:" not in follow
    # the assistant answered the follow-up with the whole history: its reply quotes the latest user turn
    assert first["messages"][3]["content"].split(" to: ")[1] == follow[:60]
    assert first["instruction"] == "Question 0" and first["output"] == first["messages"][1]["content"]
    assert first["meta"]["turns"] == 3 and len(first["meta"]["followups"]) == 2
    assert [s["judge.overall"] for s in first["meta"]["turn_scores"]] == [9, 4, 4]
    assert first["meta"]["scores"]["judge.overall"] == 4  # the conversation is as good as its worst reply

    bodies = teacher_server.bodies()
    answers = [b for b in bodies if b["messages"][-1]["content"].startswith("But what if")]
    assert answers and all(len(b["messages"]) in (3, 5) for b in answers)  # history sent with each answer
    user_prompts = [b["messages"][0]["content"] for b in bodies if "You are playing the user" in
                    b["messages"][0]["content"]]
    kinds = {k for p in user_prompts for k, w in (("clarify", "unclear"), ("deeper", "go deeper"),
                                                  ("constraint", "change one condition"),
                                                  ("push_back", "disagree")) if w in p}
    assert len(kinds) >= 2  # the follow-up kinds rotate

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["turns"] == {"3": 4}
    card = (out / "README.md").read_text()
    assert "Conversations built, by number of turns" in card and '"3": 4' in card

    again = distill("run", str(cfg))  # replayed from the item logs: same records, no call
    assert again.returncode == 0 and "0 new" in again.stdout
    assert read_jsonl(out / "data.jsonl") == rows


def test_a_truncated_follow_up_rejects_the_conversation_with_its_reason(tmp_path, teacher_server):
    teacher_server.configure(rules=[{"match": "You are playing the user", "reply": "And then", "finish_reason":
                                     "length"}])
    cfg, out = _run(tmp_path, teacher_server.url, 2)
    res = distill("run", str(cfg))
    assert res.returncode == 1, res.stderr  # nothing accepted: said, exit 1
    rejected = read_jsonl(out / "rejected.jsonl")
    assert len(rejected) == 4 and {r["reason"] for r in rejected} == {"followup_truncated"}
    assert rejected[0]["stage"] == "multi_turn" and rejected[0]["raw"] == "And then"


@pytest.mark.slow
def test_trl_sft_trainer_trains_on_multi_turn_records(tmp_path, teacher_server):
    pytest.importorskip("trl")
    from tiny_models import build_causal_lm

    teacher_server.configure(rules=RULES[:1])
    cfg, out = _run(tmp_path, teacher_server.url, 2)
    assert distill("run", str(cfg)).returncode == 0
    target = tmp_path / "messages.parquet"
    assert distill("export", str(out), "--format", "messages", "--to", str(target)).returncode == 0

    import datasets
    from trl import SFTConfig, SFTTrainer

    ds = datasets.load_dataset("parquet", data_files=str(target), split="train")
    assert len(ds[0]["messages"]) == 4
    args = SFTConfig(output_dir=str(tmp_path / "sft"), max_steps=2, per_device_train_batch_size=4,
                     logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, max_length=128)
    trainer = SFTTrainer(model=str(build_causal_lm(tmp_path / "tiny")), args=args, train_dataset=ds)
    assert trainer.train().global_step == 2


def test_clean_followup():
    assert clean_followup('User: "Thanks, that helps. Can you show the SQL?"') == "Can you show the SQL?"
    assert clean_followup("Thank you.") == "Thank you."  # nothing else to keep
    assert clean_followup("[User]: Why O(n log n)?") == "Why O(n log n)?"
