"""`distill train` on a tiny Llama built in the test: the checkpoint, its marker (checkpoint sha256, data sha256,
settings) and the loss curve land in the run folder; the same command again does nothing; other data or settings
train again; a training killed mid-way leaves no marker, and the next run trains cleanly."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, write

from distill.cli.main import main

pytest.importorskip("torch")
pytest.importorskip("trl")

from tiny_models import build_causal_lm  # noqa: E402

FLAGS = ["--batch-size", "2", "--max-length", "64", "--lr", "1e-3", "--threads", "1"]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp("tiny-student"))


def _record(i: int) -> dict:
    return {"messages": [{"role": "user", "content": f"Question {i}: what is {i} plus 1?"},
                         {"role": "assistant", "content": f"The answer is {i + 1}."}]}


def _run_folder(tmp: Path, n: int = 4) -> Path:
    run = tmp / "run"
    write(run / ".distill-run", "")
    write(run / "data.jsonl", "".join(json.dumps(_record(i)) + "\n" for i in range(n)))
    return run


def _stamps(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.slow
def test_a_training_writes_checkpoint_marker_and_curve_and_the_same_command_again_does_nothing(tiny_lm, tmp_path,
                                                                                                 capsys):
    from distill.train.checkpoint import files_digest
    from distill.train.identity import examples_digest
    from distill.train.run_data import read_run

    run = _run_folder(tmp_path)
    args = ["train", str(run), "--student", str(tiny_lm), "--max-steps", "2", *FLAGS]
    assert main(args) == 0
    out = run / "train-sft"
    marker = json.loads((out / "model.done").read_text())
    assert marker["sha256"] == files_digest(out / "model")
    assert marker["data"]["file_sha256"] == hashlib.sha256((run / "data.jsonl").read_bytes()).hexdigest()
    assert marker["identity"]["data_sha256"] == examples_digest(read_run(run, "sft").examples)
    assert marker["identity"]["options"]["max_steps"] == 2 and marker["train"]["steps"] == 2
    curve = json.loads((out / "curve.json").read_text())
    assert [c["step"] for c in curve] == [1, 2] and curve[0]["loss"] == pytest.approx(marker["train"]["first_loss"],
                                                                                      abs=1e-4)
    assert sorted(p.name for p in out.iterdir()) == ["curve.json", "model", "model.done"]
    capsys.readouterr()

    before = _stamps(out)
    assert main(args) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert _stamps(out) == before  # not a file rewritten

    write(run / "data.jsonl", (run / "data.jsonl").read_text() + json.dumps(_record(9)) + "\n")  # other data
    assert main(args) == 0
    again = json.loads((out / "model.done").read_text())
    assert "nothing to do" not in capsys.readouterr().out
    assert again["identity"]["data_sha256"] != marker["identity"]["data_sha256"] and again["train"]["examples"] == 5
    assert main([*args, "--lr", "2e-3"]) == 0  # other settings
    assert json.loads((out / "model.done").read_text())["identity"]["options"]["lr"] == 2e-3


@pytest.mark.slow
def test_a_training_killed_mid_way_leaves_no_marker_and_the_next_run_trains_cleanly(tiny_lm, tmp_path):
    run = _run_folder(tmp_path)
    out = run / "train-sft"
    assert main(["train", str(run), "--student", str(tiny_lm), "--max-steps", "1", *FLAGS]) == 0
    first = json.loads((out / "model.done").read_text())
    # other settings: the finished checkpoint is replaced by one that is killed while it trains
    cmd = [sys.executable, "-m", "distill.cli.main", "train", str(run), "--student", str(tiny_lm), "--max-steps",
           "100000", *FLAGS]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (out / "model.trainer").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert not (out / "model.done").exists() and not (out / "curve.json").exists()  # nothing looks finished

    assert main(["train", str(run), "--student", str(tiny_lm), "--max-steps", "1", *FLAGS]) == 0
    again = json.loads((out / "model.done").read_text())
    assert again["identity"] == first["identity"] and again["train"]["steps"] == 1
    assert sorted(p.name for p in out.iterdir()) == ["curve.json", "model", "model.done"]  # no scratch left


@pytest.mark.slow
def test_a_failed_training_is_one_line_exit_1_and_leaves_no_checkpoint(tiny_lm, tmp_path, capsys):
    """DPO with a max_length every prompt fills: TRL drops every pair. A message, not ValueError's traceback."""
    run = tmp_path / "run"
    prompt = [{"role": "user", "content": "Tell me, in a few plain words, why the sky looks darker at night."}]
    pair = {"prompt": prompt, "chosen": prompt + [{"role": "assistant", "content": "Less light."}],
            "rejected": prompt + [{"role": "assistant", "content": "No."}]}
    write(run / "pairs.jsonl", json.dumps(pair) + "\n")
    assert main(["train", str(run), "--student", str(tiny_lm), "--method", "dpo", "--max-length", "16",
                 "--threads", "1"]) == 1
    err = capsys.readouterr().err
    assert "error: training (dpo): none of the 1 examples fits in max_length 16 tokens" in err
    assert "Traceback" not in err
    assert not (run / "train-dpo").exists()  # no model, no marker, no scratch, no empty folder pretending
