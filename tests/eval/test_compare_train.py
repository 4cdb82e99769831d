"""`distill compare RUN_A RUN_B --train` on a tiny Llama: two respond runs made from the same inputs by two
scripted teachers (one answers "The answer is ...", the other talks about bananas) train the same student with
the same budget; a function verifier passes answers that start "The answer is". The run whose data teaches that
wins, with the paired test; the page, train_compare.json and both runs' cards carry the table; the same command
again trains nothing and asks nothing."""

from __future__ import annotations

import json

import pytest
from fake_teacher import FakeTeacher
from helpers import distill, recipe_yaml, write

pytest.importorskip("torch")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

CHECK = "def starts(answer, reference, row):\n    return answer.startswith('The answer is')\n"
TRAIN = ["--max-steps", "30", "--lr", "1e-2", "--batch-size", "4", "--max-length", "64", "--threads", "1",
         "--max-tokens", "8", "--seed", "1"]


def _run(tmp, name, reply, url):
    inputs = write(tmp / "inputs.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 1?"})
                                                 + "\n" for i in range(12)))
    recipe = recipe_yaml(tmp / f"{name}.yaml", url, inputs, tmp / name)
    r = distill("run", str(recipe), "--no-progress", env={"OPENAI_API_KEY": "sk-test"})
    assert r.returncode == 0, r.stderr
    return tmp / name


@pytest.mark.slow
def test_compare_train_says_which_data_helped_with_a_paired_test(tmp_path):
    lm = build_causal_lm(tmp_path / "lm")
    with FakeTeacher(rules=[{"match": r"Question (\d+)", "reply": r"The answer is \1 and one."}]) as good, \
            FakeTeacher(rules=[{"match": r".", "reply": "Bananas are yellow fruit."}]) as bad:
        a = _run(tmp_path, "good", None, good.url)
        b = _run(tmp_path, "bad", None, bad.url)
    write(tmp_path / "check.py", CHECK)
    write(tmp_path / "held.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 2?"}) + "\n"
                                           for i in range(20, 30)))
    out = tmp_path / "cmp"
    args = ["compare", str(a), str(b), "--train", "--student", str(lm), "--on", str(tmp_path / "held.jsonl"),
            "--verifier", "function", "--function", str(tmp_path / "check.py") + ":starts", "--examples", "10",
            "--embeddings", "none", "--out", str(out), *TRAIN]
    first = distill(*args, timeout=900)
    assert first.returncode == 0, first.stderr
    summary = json.loads((out / "train_compare.json").read_text())
    assert summary["budget"]["examples"] == {"good": 10, "bad": 10}  # the same budget from runs of 12
    assert {t["examples"] for t in summary["train"].values()} == {10}
    models = {m["model"]: m for m in summary["evaluation"]["models"]}
    assert set(models) == {"base", "good", "bad"}
    assert models["good"]["pass_rate"]["passed"] == 10 and models["bad"]["pass_rate"]["passed"] == 0
    p = summary["paired"]
    assert (p["a"], p["b"], p["only_a"], p["only_b"], p["difference"]) == ("trained on good", "trained on bad",
                                                                             10, 0, 1.0)
    assert p["p_value"] < 0.01 and p["ci95"][0] > 0
    assert summary["verdict"].startswith("trained on good helped more than trained on bad")
    page = (out / "compare.html").read_text()
    assert "Does the data help?" in page and "McNemar" in page
    card = (a / "README.md").read_text()
    assert "## Evaluation of students trained on this data" in card and "trained on good" in card
    assert (b / "evaluations" / "compare-good-held.json").is_file()

    again = distill(*args, timeout=900)
    assert again.returncode == 0, again.stderr
    rerun = json.loads((out / "train_compare.json").read_text())
    assert all(t["reused"] for t in rerun["train"].values())
    assert all(c["requests"] == 0 for c in rerun["evaluation"]["calls"].values())
    assert rerun["paired"] == summary["paired"]


def test_compare_train_refuses_what_it_cannot_do_before_training(tmp_path):
    run = write(tmp_path / "r1" / "data.jsonl", "")
    r = distill("compare", str(run.parent), str(run.parent), "--train", "--embeddings", "none")
    assert r.returncode == 2 and "--on HELDOUT" in r.stderr, r.stderr
    r = distill("compare", str(run.parent), str(run.parent), str(run.parent), "--train", "--on", "x.jsonl")
    assert r.returncode == 2 and "exactly two" in r.stderr, r.stderr
