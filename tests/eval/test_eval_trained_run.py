"""`distill eval` on a student trained with `distill train` (a tiny Llama, in this process through transformers):
the run folder names the checkpoint, the evaluation lands in the run's evaluations/ and its card, and the same
command again answers every question from the cache (no generation). A checkpoint trained again in place is
asked again: its answers are cached under its sha256."""

from __future__ import annotations

import json

import pytest
from fake_teacher import FakeTeacher
from helpers import distill, recipe_yaml, write

pytest.importorskip("torch")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

CHECK = "def short(answer, reference, row):\n    return len(answer) < 30\n"


@pytest.mark.slow
def test_eval_of_a_trained_run_is_cached_and_shown_in_the_runs_card(tmp_path):
    lm = build_causal_lm(tmp_path / "lm")
    inputs = write(tmp_path / "in.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 1?"})
                                                  + "\n" for i in range(6)))
    with FakeTeacher(rules=[{"match": r"Question (\d+)", "reply": r"The answer is \1 and one."}]) as t:
        r = distill("run", str(recipe_yaml(tmp_path / "r.yaml", t.url, inputs, tmp_path / "run")), "--no-progress",
                    env={"OPENAI_API_KEY": "sk-test"})
    assert r.returncode == 0, r.stderr
    run = tmp_path / "run"
    train = ["train", str(run), "--student", str(lm), "--max-steps", "2", "--batch-size", "2", "--max-length", "64",
             "--threads", "1"]
    assert distill(*train).returncode == 0
    write(tmp_path / "check.py", CHECK)
    held = write(tmp_path / "held.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 2?"})
                                                  + "\n" for i in range(20, 25)))
    args = ["eval", str(run / "train-sft"), str(lm), "--on", str(held), "--verifier", "function", "--function",
            f"{tmp_path / 'check.py'}:short", "--max-tokens", "8", "--out", str(tmp_path / "ev")]
    first = distill(*args, timeout=600)
    assert first.returncode == 0, first.stderr
    result = json.loads((tmp_path / "ev" / "eval.json").read_text())
    assert [c["requests"] for c in result["calls"].values()] == [5, 5]
    assert result["models"][0]["spec"].startswith("transformers:model@")
    kept = json.loads((run / "evaluations" / "eval-held.json").read_text())
    assert kept["trained"] == str(run / "train-sft") and kept["models"] == result["models"]
    card = (run / "README.md").read_text()
    assert "## Evaluation of students trained on this data" in card and "| pass rate |" in card

    again = distill(*args, timeout=600)
    assert again.returncode == 0, again.stderr
    calls = json.loads((tmp_path / "ev" / "eval.json").read_text())["calls"]
    assert [(c["requests"], c["cache_hits"]) for c in calls.values()] == [(0, 5), (0, 5)]

    assert distill(*train[:-2], "--threads", "1", "--lr", "1e-2").returncode == 0  # trained again in place
    third = distill(*args, timeout=600)
    assert third.returncode == 0, third.stderr
    calls = json.loads((tmp_path / "ev" / "eval.json").read_text())["calls"]
    assert [c["requests"] for c in calls.values()] == [5, 0]  # the new checkpoint is asked; the base is not
