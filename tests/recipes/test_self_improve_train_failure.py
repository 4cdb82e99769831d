"""A training that fails inside self_improve ends the run with one paragraph (exit 1), not a traceback: the run
folder keeps its answers, records and the iteration's training data, no checkpoint looks finished, and the same
command with a fixed option resumes without asking for an answer again. The failure here is a real one: DPO
with a max_length every prompt fills, so TRL drops every pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import distill, write

pytest.importorskip("torch")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

pytestmark = pytest.mark.slow


def _recipe(tmp: Path, lm: Path, out: Path) -> Path:
    rows = [{"instruction": f"Tell me, in a few plain words, why the sky over the sea looks darker at night, "
                            f"case {i}.", "answer": f"Less light, case {i}."} for i in range(3)]
    write(tmp / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    opts = {"mode": "spin", "iterations": 1, "samples": 1, "drop_truncated": False,
            "sample": {"temperature": 1.0, "max_tokens": 8},
            "train": {"method": "dpo", "epochs": 1, "lr": 0.001, "batch_size": 2, "max_length": 16, "threads": 1}}
    return write(tmp / "r.yaml", "\n".join([
        "recipe: self_improve", "name: si", f"teacher: {{provider: transformers, path: {lm}, batch_size: 1}}",
        "input: {path: train.jsonl}", f"out: {out}", "seed: 3", f"options: {json.dumps(opts)}"]) + "\n")


def test_a_failed_training_stops_the_run_with_a_message_and_the_same_command_resumes(tmp_path):
    lm = build_causal_lm(tmp_path / "lm")
    out = tmp_path / "out"
    recipe = _recipe(tmp_path, lm, out)
    r = distill("run", str(recipe), "--no-progress", timeout=900)
    assert r.returncode == 1, r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    err = r.stderr.replace("\n", " ")
    assert "self_improve: iteration 1: training (dpo)" in err and "fits in max_length 16 tokens" in err
    assert str(out / "cache.sqlite") in err and "run the same command again" in err
    assert (out / "cache.sqlite").is_file() and (out / "iterations/1/pairs.jsonl").read_text().strip()
    assert list(out.glob("*.jsonl.partial"))  # the records written so far
    assert not (out / "iterations/1/model.done").exists() and not (out / "iterations/1/model").exists()
    assert not (out / "manifest.json").exists()

    fixed = distill("run", str(recipe), "--no-progress", "--set", "options.train.max_length=128", timeout=900)
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["usage"]["teacher"]["answered"] == 0  # every sample came from the cache
    its = manifest["self_improve"]["iterations"]
    assert its[1]["train"]["method"] == "dpo" and its[1]["train"]["steps"] >= 1
    assert (out / "iterations/1/model.done").is_file()
