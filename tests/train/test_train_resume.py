"""A training killed with SIGKILL goes on from its last trainer checkpoint: `distill train` on a tiny Llama saves
a resumable checkpoint every 10 steps; it is killed once a checkpoint past step 20 is complete; the same training
started again trains only the steps after that checkpoint (counted on the trainer's own training_step) and ends
where an uninterrupted training of the same data and settings ends."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, write

pytest.importorskip("torch")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

STEPS, EVERY = 120, 10
FLAGS = ["--batch-size", "2", "--max-length", "64", "--lr", "1e-3", "--threads", "1", "--max-steps", str(STEPS),
         "--save-steps", str(EVERY)]


def _run_folder(run: Path) -> Path:
    write(run / "data.jsonl", "".join(json.dumps(
        {"messages": [{"role": "user", "content": f"Question {i}: what is {i} plus 1?"},
                      {"role": "assistant", "content": f"The answer is {i + 1}."}]}) + "\n" for i in range(16)))
    return run


def _complete(scratch: Path) -> list[int]:
    steps = []
    for path in scratch.glob("checkpoint-*"):
        try:
            json.loads((path / "trainer_state.json").read_text())
        except (OSError, ValueError):
            continue
        steps.append(int(path.name.rpartition("-")[2]))
    return steps


def _options():
    from distill.train.options import TrainOptions

    return TrainOptions(method="sft", max_steps=STEPS, lr=1e-3, batch_size=2, max_length=64, threads=1,
                        save_steps=EVERY)


@pytest.mark.slow
def test_a_training_killed_by_sigkill_resumes_from_its_checkpoint_without_redoing_steps(tmp_path, monkeypatch):
    from trl import SFTTrainer

    from distill.train.checkpoint import train_checkpoint
    from distill.train.run_data import read_run

    lm = build_causal_lm(tmp_path / "lm")
    run = _run_folder(tmp_path / "run")
    out = run / "train-sft"
    proc = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "train", str(run), "--student", str(lm),
                             *FLAGS], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while max(_complete(out / "model.trainer"), default=0) < 20 and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert not (out / "model.done").exists() and not (out / "model").exists()  # nothing looks finished
    last = max(_complete(out / "model.trainer"))
    assert 20 <= last < STEPS

    trained = []
    step = SFTTrainer.training_step

    def counted(self, *args, **kwargs):
        trained.append(self.state.global_step + 1)
        return step(self, *args, **kwargs)

    monkeypatch.setattr(SFTTrainer, "training_step", counted)
    data = read_run(run, "sft")
    done = train_checkpoint(str(lm), data.examples, _options(), out / "model", 0, data.about())
    assert done["reused"] is False and done["train"]["resumed_from_step"] == last
    assert trained == list(range(last + 1, STEPS + 1))  # the finished steps were not trained again
    assert done["train"]["steps"] == STEPS
    assert sorted(p.name for p in out.iterdir()) == ["curve.json", "model", "model.done"]  # the scratch is gone
    curve = json.loads((out / "curve.json").read_text())
    assert [e["step"] for e in curve] == list(range(1, STEPS + 1))  # the steps before the kill are in the curve

    whole = tmp_path / "whole" / "model"
    trained.clear()
    uninterrupted = train_checkpoint(str(lm), data.examples, _options(), whole, 0, data.about())
    assert len(trained) == STEPS
    assert uninterrupted["train"]["last_loss"] == pytest.approx(done["train"]["last_loss"], abs=1e-3)
