"""self_improve on the shared training and evaluation code (distill/train/, distill/eval/) gives the numbers it
gave before they were shared: the figures below were recorded on main before the move (commit dfded23), for
this recipe and seed: a tiny Llama built offline, two verified iterations, a function verifier. Every pass
rate, interval, example count, loss and the sha256 of the trained weights (model.safetensors; the
checkpoint's own sha256 covers its config, which names the folder it came from) must stay the same."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import distill, write

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

VERIFIER = "def even(answer, reference, row):\n    return len(answer) % 2 == 0\n"
PASS = {"metric": "pass_rate", "total": 6, "failed_calls": 0}
RECORDED = [
    {"iteration": 0, "eval": {**PASS, "passed": 3, "pass_rate": 0.5, "ci95": [0.1876, 0.8124]}},
    {"iteration": 1, "prompts": 6, "prompts_sampled": 6, "sft_examples": 5, "pairs": 1, "mean_margin": 1.0,
     "prompts_with_a_correct_answer": 3,
     "train": {"method": "sft", "examples": 5, "steps": 2, "first_loss": 6.029, "last_loss": 5.9461,
               "train_loss": 5.9876, "lora": False},
     "weights_sha256": "d6c244f7128b597a1a81db7c495702039db71321425e024aa9b2cfb19400cd02",
     "eval": {**PASS, "passed": 2, "pass_rate": 0.3333, "ci95": [0.0968, 0.7]}},
    {"iteration": 2, "prompts": 6, "prompts_sampled": 6, "sft_examples": 4, "pairs": 0, "mean_margin": None,
     "prompts_with_a_correct_answer": 2,
     "train": {"method": "sft", "examples": 4, "steps": 1, "first_loss": 5.9026, "last_loss": 5.9026,
               "train_loss": 5.9026, "lora": False},
     "weights_sha256": "6db6cac26137ab793310a9cb2e302fb8e8862f325a141985769bf85e2a3c1675",
     "eval": {**PASS, "passed": 3, "pass_rate": 0.5, "ci95": [0.1876, 0.8124]}},
]


@pytest.mark.slow
def test_self_improve_gives_the_numbers_recorded_before_the_shared_code(tmp_path):
    lm = build_causal_lm(tmp_path / "lm")
    write(tmp_path / "check.py", VERIFIER)
    write(tmp_path / "train.jsonl", "".join(json.dumps({"instruction": f"Question {i}: what is {i} plus 1?",
                                                        "answer": str(i + 1)}) + "\n" for i in range(6)))
    write(tmp_path / "held.jsonl", "".join(json.dumps({"q": f"Question {i}: what is {i} plus 2?",
                                                       "answer": str(i + 2)}) + "\n" for i in range(10, 16)))
    opts = {"mode": "verified", "iterations": 2, "samples": 4, "drop_truncated": False,
            "sample": {"temperature": 1.0, "max_tokens": 16},
            "verifier": {"kind": "function", "function": "check.py:even"},
            "train": {"method": "sft", "epochs": 1, "lr": 0.001, "batch_size": 4},
            "eval": {"path": "held.jsonl", "field": "q"}}
    out = tmp_path / "out"
    recipe = write(tmp_path / "r.yaml", "\n".join([
        "recipe: self_improve", "name: si", f"teacher: {{provider: transformers, path: {lm}, batch_size: 1}}",
        "input: {path: train.jsonl}", f"out: {out}", "seed: 3", f"options: {json.dumps(opts)}"]) + "\n")
    r = distill("run", str(recipe), "--no-progress", timeout=600)
    assert r.returncode == 0, r.stderr
    its = json.loads((out / "manifest.json").read_text())["self_improve"]["iterations"]
    for entry in its:
        if entry.pop("checkpoint_sha256", None):
            weights = out / "iterations" / str(entry["iteration"]) / "model" / "model.safetensors"
            entry["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
        entry.pop("checkpoint", None)
        entry.pop("sampled_from", None)
        entry.get("train", {}).pop("seconds", None)
        entry.get("train", {}).pop("reused", None)
    assert its == RECORDED
