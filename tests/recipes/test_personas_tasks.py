"""personas checks each written task before answering it (issue #35, SmolLM2-135M's tasks): a coding task that is
code (also an opening ``` never closed), a question that is only a label ending with a colon, and a request
that ends with the prompt's directions in its own words are rejected at the write stage, never answered."""

from __future__ import annotations

import json

import pytest
from helpers import distill, read_jsonl, write

from distill.recipes.personas.recipe import task_problem

CODE_TASK = ("Here is a simple Python function to meet the given requirements:\n```python\nimport math\n"
             "def dose_per_hour(total, hours):\n    return total / hours\n")
CODE_CLOSED = "Write a dose calculator.\n```python\ndef dose(total, hours):\n    return total / hours\n```"
LABEL_QUESTION = "Pharmacology question for a night-shift nurse about drug interactions:"
DIRECTIONS_TAIL = ("On a typical busy day, I take care of patients that come in from multiple departments. Help me "
                   "plan how to hand over between shifts.\n\nResponse format allowed. Make it clear what type of "
                   "task you are trying to accomplish. Provide any specific instructions or requirements.")


@pytest.mark.parametrize(("task", "kind", "reason"), [
    (CODE_TASK, "code", "unclosed_code_fence"),
    (CODE_CLOSED, "code", "code_in_task"),
    ("Write a function.\ndef dose(total, hours):\n    return total / hours", "code", "code_in_task"),
    (LABEL_QUESTION, "knowledge", "label_only"),
    (DIRECTIONS_TAIL, "instruction", "restates_directions"),
])
def test_bad_tasks_are_named(task, kind, reason):
    assert task_problem(task, kind) == reason


@pytest.mark.parametrize(("task", "kind"), [
    ("Write a Python function that takes a list of shift start times like ['22:00', '06:00'] and returns the "
     "longest gap in hours. Example: input ['22:00', '06:00'] -> output 8.", "code"),
    ("Write a function that takes a dose in mg and returns it in grams.\n```\nInput: 500\nOutput: 0.5\n```", "code"),
    ("Help me write a request to my manager for a day off next week. Make it polite and keep the answer under "
     "100 words.", "instruction"),
    ("Why does grapefruit juice change how some drugs are absorbed?", "knowledge"),
])
def test_good_tasks_pass(task, kind):
    assert task_problem(task, kind) is None


RULES = [
    {"match": "Write one programming task", "reply": CODE_TASK},
    {"match": "Write one question", "reply": LABEL_QUESTION},
    {"match": "Write one request", "reply": DIRECTIONS_TAIL},
    {"match": "^Help me", "reply": "Sure: hand over with a checklist of patients, medications and open tasks."},
]


def test_the_written_tasks_are_rejected_before_an_answer_is_asked_for(tmp_path, teacher_server):
    teacher_server.configure(rules=RULES)
    inp = write(tmp_path / "p.jsonl", json.dumps({"persona": "a night-shift nurse who studies pharmacology"}) + "\n")
    out = tmp_path / "run"
    cfg = write(tmp_path / "r.yaml", f"""recipe: personas
teacher: {{provider: openai, model: fake-model, base_url: {teacher_server.url}, timeout: 5}}
input: {{path: {inp}, field: persona, input_field: null}}
out: {out}
options: {{tasks: [instruction, code, knowledge]}}
""")
    res = distill("run", str(cfg), "--no-progress", "--no-report")
    assert res.returncode == 1, res.stderr  # nothing accepted: said so, with the reasons
    assert "restates_directions" in res.stderr and "Traceback" not in res.stderr
    assert not (out / "data.jsonl").read_text().strip()
    rejected = {r["item"]["task"]: (r["stage"], r["reason"]) for r in read_jsonl(out / "rejected.jsonl")}
    assert rejected == {"code": ("write", "unclosed_code_fence"), "knowledge": ("write", "label_only"),
                        "instruction": ("write", "restates_directions")}
    assert len(teacher_server.bodies()) == 3  # three tasks written, none answered
