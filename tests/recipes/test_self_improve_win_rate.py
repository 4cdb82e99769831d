"""The win rate against iteration 0 (no verifier) with a judge that takes sides: a tiny Llama is trained (spin,
SFT on one fixed reference) until its answers start "The answer is", so a scripted judge on 127.0.0.1 can tell
iteration 1's answer from iteration 0's in either position. Per held-out question the judge prefers the new
answer, prefers the old one, follows the position, or writes no verdict; the manifest, the dataset card and the
progress line must count each as MT-Bench's both-orders protocol does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_teacher import FakeTeacher
from helpers import distill, write

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

NEW = "The answer is"  # how every answer of the trained checkpoint starts; iteration 0's never do
HELD = [10, 11, 12, 13, 14]


def _prefers(question: int, new: bool) -> list[dict[str, str]]:
    """The judge's rules for one question: the new answer wins (or the old one), whichever position it holds."""
    a, b = ("A", "B") if new else ("B", "A")
    return [{"match": rf"Question {question}:.*Answer A:\n{NEW}", "reply": f"This one is clearer. Winner: {a}"},
            {"match": rf"Question {question}:.*Answer B:\n{NEW}", "reply": f"This one is clearer. Winner: {b}"}]


def _judge_rules(new_wins: list[int], old_wins: list[int]) -> list[dict[str, str]]:
    rules = [r for q in new_wins for r in _prefers(q, True)] + [r for q in old_wins for r in _prefers(q, False)]
    rules.append({"match": r"Question 13:", "reply": "Hard to say, the second one. Winner: B"})  # the position
    rules.append({"match": r"Question 14:", "reply": "I cannot compare these."})  # no verdict
    return rules


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("tiny-student"))


def _recipe(tmp: Path, lm: Path, out: Path, judge: str) -> Path:
    write(tmp / "train.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 1?",
                                                   "answer": f"{NEW} 7."}) + "\n" for i in range(8)))
    write(tmp / "held.jsonl", "".join(json.dumps({"q": f"Question {i}: what is {i} plus 2?"}) + "\n" for i in HELD))
    opts = {"mode": "spin", "iterations": 1, "samples": 1, "sample": {"temperature": 1.0, "max_tokens": 12},
            "train": {"method": "sft", "epochs": 12, "lr": 0.01, "batch_size": 4},
            "eval": {"path": "held.jsonl", "field": "q"}}
    return write(tmp / "r.yaml", "\n".join([
        "recipe: self_improve", "name: si", f"teacher: {{provider: transformers, path: {lm}, batch_size: 1}}",
        f"judge: {judge}", "input: {path: train.jsonl}", f"out: {out}", "seed: 3", f"options: {json.dumps(opts)}"])
        + "\n")


def _run(recipe: Path, *args: str) -> tuple[dict, str, str]:
    r = distill("run", str(recipe), "--no-progress", *args, timeout=600)
    assert r.returncode == 0, r.stderr
    out = Path(recipe.read_text().split("out: ")[1].split("\n")[0])
    manifest = json.loads((out / "manifest.json").read_text())
    return manifest["self_improve"]["iterations"][1]["eval"], (out / "README.md").read_text(), r.stderr


@pytest.mark.slow
def test_a_judge_that_takes_sides_is_counted_in_both_orders(tiny_lm, tmp_path):
    with FakeTeacher(rules=_judge_rules(new_wins=[10, 11], old_wins=[12])) as judge:
        recipe = _recipe(tmp_path, tiny_lm, tmp_path / "out", f"openai:judge-a@{judge.url}")
        ev, card, stderr = _run(recipe)
        asked = [b["messages"][0]["content"] for b in judge.bodies()]
    assert len(asked) == 2 * len(HELD)  # every pair differs (the checkpoint learnt), each judged in both orders
    for q in HELD:
        pair = [a for a in asked if f"Question {q}:" in a]
        assert len(pair) == 2 and sum(f"Answer A:\n{NEW}" in a for a in pair) == 1  # the new answer in each place
    # 10, 11: won in both orders; 12: lost in both; 13: the verdict followed the position (a tie); 14: no verdict
    assert (ev["wins"], ev["losses"], ev["ties"], ev["inconsistent"], ev["unjudged"]) == (2, 1, 1, 1, 1)
    assert ev["total"] == 4 and ev["win_rate"] == 0.625  # (2 + 1/2) / 4: the unjudged pair is not a tie
    low, high = ev["ci95"]
    assert low < 0.625 < high
    counts = "2 won, 1 lost, 1 tied (1 by position), 1 unjudged"
    assert f"win rate 0.625 vs iteration 0 ({counts}; 95% CI {low:.3f}-{high:.3f})" in card
    assert f"win rate vs iteration 0 0.625 ({counts}; 95% CI {low:.3f}-{high:.3f})" in stderr

    # the same answers (cached) before a judge that takes the other side: the interval is the mirror image
    with FakeTeacher(rules=_judge_rules(new_wins=[12], old_wins=[10, 11])) as judge:
        recipe = _recipe(tmp_path, tiny_lm, tmp_path / "out", f"openai:judge-b@{judge.url}")
        mirrored, _, _ = _run(recipe, "--overwrite")
    assert (mirrored["wins"], mirrored["losses"], mirrored["ties"]) == (1, 2, 1)
    assert mirrored["win_rate"] == 0.375
    assert mirrored["ci95"] == pytest.approx([1 - high, 1 - low], abs=2e-4)
