"""Whether a finished checkpoint is reused: only when its marker names the same student, data, options and seed.
A student that cannot be loaded leaves an earlier checkpoint exactly as it was (nothing is deleted before the
student is in memory). No model is trained here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import write

from distill.errors import InputError
from distill.train.checkpoint import train_checkpoint
from distill.train.identity import training_identity
from distill.train.marker import marker_of
from distill.train.options import TrainOptions

EXAMPLES = [{"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "yo"}]}]


def _finished(tmp: Path, student: Path, examples: list, options: TrainOptions, seed: int) -> Path:
    """A checkpoint folder as train_checkpoint leaves it, its marker naming this training."""
    model = tmp / "out" / "model"
    write(model / "config.json", "{}")
    marker = {"sha256": "ab" * 32, "identity": training_identity(str(student), examples, options, seed),
              "train": {"steps": 1}}
    write(marker_of(model), json.dumps(marker))
    return model


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_matching_marker_is_reused_without_loading_the_student(tmp_path):
    student = write(tmp_path / "student" / "config.json", "not a model").parent  # loading it would fail
    model = _finished(tmp_path, student, EXAMPLES, TrainOptions(), 3)
    before = _files(tmp_path / "out")
    done = train_checkpoint(str(student), EXAMPLES, TrainOptions(threads=2), model, 3)  # threads: not a result
    assert done["reused"] is True and done["sha256"] == "ab" * 32
    assert _files(tmp_path / "out") == before


@pytest.mark.parametrize("change", ["data", "options", "seed", "student_file"])
def test_another_training_is_not_reused_and_an_unloadable_student_leaves_the_old_one(tmp_path, change):
    pytest.importorskip("transformers")
    student = write(tmp_path / "student" / "config.json", "not a model").parent
    model = _finished(tmp_path, student, EXAMPLES, TrainOptions(), 3)
    before = _files(tmp_path / "out")
    examples, options, seed = EXAMPLES, TrainOptions(), 3
    if change == "data":
        examples = EXAMPLES + EXAMPLES
    elif change == "options":
        options = TrainOptions(lr=2e-5)
    elif change == "seed":
        seed = 4
    else:
        write(student / "model.safetensors", "replaced in place")
    with pytest.raises(InputError, match="cannot load the student"):  # it tried to train: the marker did not match
        train_checkpoint(str(student), examples, options, model, seed)
    assert _files(tmp_path / "out") == before
