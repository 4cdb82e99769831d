"""`distill train` refuses bad input with exit 2 and one line naming what is wrong, before loading a model or
writing anything: no run folder, no or empty data, a row of another shape, a student path that is not a model, an
--out holding other files, an option out of range. Also the records -> TRL examples conversion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import write

from distill.cli.main import main
from distill.train.run_data import dpo_example, read_run, sft_example

RECORD = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."},
                       {"role": "assistant", "content": "Hi."}], "instruction": "Say hi.", "meta": {"x": 1}}
PROMPT = [{"role": "user", "content": "Say hi."}]
PAIR = {"prompt": PROMPT, "chosen": PROMPT + [{"role": "assistant", "content": "Hi."}],
        "rejected": PROMPT + [{"role": "assistant", "content": "No."}], "meta": {}}


def _run_folder(tmp: Path, data: str | None = json.dumps(RECORD) + "\n") -> Path:
    run = tmp / "run"
    write(run / ".distill-run", "")
    if data is not None:
        write(run / "data.jsonl", data)
    return run


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _refused(capsys, tmp: Path, *args: str) -> str:
    before = _files(tmp)
    assert main(["train", *args]) == 2
    assert _files(tmp) == before  # nothing written, in the run folder or beside it
    return capsys.readouterr().err


def test_a_missing_run_folder(tmp_path, capsys):
    assert "no such run folder" in _refused(capsys, tmp_path, str(tmp_path / "nope"))


def test_a_run_without_data_and_a_dpo_run_without_pairs(tmp_path, capsys):
    run = _run_folder(tmp_path, data=None)
    assert "no data.jsonl to train sft on" in _refused(capsys, tmp_path, str(run))
    write(run / "data.jsonl", json.dumps(RECORD) + "\n")
    assert "no pairs.jsonl to train dpo on" in _refused(capsys, tmp_path, str(run), "--method", "dpo")


def test_empty_data(tmp_path, capsys):
    run = _run_folder(tmp_path, data="\n")
    assert "data.jsonl: empty, so nothing to train on" in _refused(capsys, tmp_path, str(run))


def test_a_record_without_a_reply_names_its_line(tmp_path, capsys):
    bad = {"messages": [{"role": "user", "content": "Say hi."}]}
    run = _run_folder(tmp_path, data=json.dumps(RECORD) + "\n" + json.dumps(bad) + "\n")
    err = _refused(capsys, tmp_path, str(run))
    assert "data.jsonl:2: the last message of `messages` is the user's" in err


@pytest.mark.parametrize("kind", ["missing", "not_a_model_folder", "not_a_gguf"])
def test_a_student_that_is_not_a_model(tmp_path, capsys, kind):
    run = _run_folder(tmp_path)
    student = tmp_path / "student"
    if kind == "not_a_model_folder":
        write(student / "weights.bin", "x")
    elif kind == "not_a_gguf":
        student = write(tmp_path / "student.txt", "x")
    err = _refused(capsys, tmp_path, str(run), "--student", str(student))
    assert f"--student {student}: " in err and "Traceback" not in err


def test_an_out_folder_holding_other_files(tmp_path, capsys):
    run = _run_folder(tmp_path)
    write(tmp_path / "mine" / "notes.txt", "keep me")
    assert "holds files distill train did not write (notes.txt)" in _refused(
        capsys, tmp_path, str(run), "--out", str(tmp_path / "mine"))


def test_an_option_out_of_range_names_its_flag(tmp_path, capsys):
    run = _run_folder(tmp_path)
    assert "--max-steps: " in _refused(capsys, tmp_path, str(run), "--max-steps", "0")
    assert "--lr: " in _refused(capsys, tmp_path, str(run), "--lr", "-1")


def test_records_and_pairs_become_trl_conversational_examples(tmp_path):
    assert sft_example(RECORD, "f:1") == {"prompt": RECORD["messages"][:2], "completion": RECORD["messages"][2:]}
    assert dpo_example(PAIR, "f:1") == {"prompt": PROMPT, "chosen": [{"role": "assistant", "content": "Hi."}],
                                        "rejected": [{"role": "assistant", "content": "No."}]}
    run = _run_folder(tmp_path)
    write(run / "pairs.jsonl", json.dumps(PAIR) + "\n")
    data = read_run(run, "dpo")
    assert data.file == run / "pairs.jsonl" and len(data.examples) == 1
    import hashlib

    assert data.file_sha256 == hashlib.sha256((run / "pairs.jsonl").read_bytes()).hexdigest()
