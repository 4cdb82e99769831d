"""Every shipped recipe, end to end, against a teacher that answers like a frontier chat model (lead-ins, markdown
labels and headings, "1)" numbering, code fences, trailing remarks, <think> blocks and reasoning_content, CRLF):
each run finishes, accepts records, and no accepted record carries any of that wrapping."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from chatty_teacher import (
    LEAD_INS,
    REMARKS,
    REWRITE_LEAD_INS,
    REWRITE_NOTES,
    ChattyTeacher,
)
from helpers import ROOT, distill, read_jsonl

# a few items each; everything else as shipped
SMALL: dict[str, dict[str, Any]] = {
    "respond": {"num": 6},
    "self_instruct": {"num": 4},
    "alpaca": {"num": 4},
    "evol_instruct": {"num": 2, "options.rounds": 2},
    "lab": {},
    "math_qa": {"num": 3, "options.augment": 1},
    "knowledge_qa": {"num": 3},
}
WRAPPING = [*LEAD_INS, *REMARKS, *REWRITE_LEAD_INS, *REWRITE_NOTES, "PONDERING", "<think", "</think>", "**", "```",
            "\r", "Sure, here are", "Here is my evaluation", "Rewritten Prompt", "New Problem"]
LABEL_LINE = re.compile(r"^\s*(?:#{1,6}\s|(?:Input|Output|Instruction|Context|Class label|Question)\s*\d*:|"
                        r"Example \d|Task \d|Q\d|A\d|\d+[.)]\s)", re.MULTILINE)


def _recipe(src: Path, dest: Path, url: str, out: Path, changes: dict[str, Any]) -> Path:
    cfg = yaml.safe_load(src.read_text())
    cfg["teacher"] = {"provider": "openai", "model": "chatty", "base_url": url, "max_retries": 1, "timeout": 30}
    cfg["out"] = str(out)
    for key, value in changes.items():
        where = cfg
        *parents, last = key.split(".")
        for p in parents:
            where = where.setdefault(p, {})
        where[last] = value
    dest.write_text(yaml.safe_dump(cfg))
    return dest


DOC_LINES = {line.strip() for path in (ROOT / "recipes/data/docs").iterdir()
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def _teacher_text(record: dict[str, Any]) -> str:
    """What the teacher wrote in a record: the lines of the user's own documents (RAFT contexts) are theirs."""
    text = "\n".join([record["instruction"], record["input"], record["output"],
                      *(m["content"] for m in record["messages"])])
    return "\n".join(line for line in text.split("\n") if line.strip() not in DOC_LINES)


@pytest.mark.slow
def test_every_recipe_survives_a_chatty_teacher(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    problems = [json.loads(line) for line in (ROOT / "recipes/data/math_problems.jsonl").read_text().splitlines()]
    with ChattyTeacher(math_answers=[[p["problem"], p["answer"]] for p in problems if "answer" in p]) as teacher:
        runs = {}
        for name, changes in SMALL.items():
            path = _recipe(ROOT / f"recipes/{name}.yaml", tmp_path / f"recipes/chatty_{name}.yaml", teacher.url,
                           tmp_path / "out" / name, changes)
            runs[name] = subprocess.Popen([sys.executable, "-m", "distill.cli.main", "run", str(path)], cwd=ROOT,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        logs = {name: proc.communicate(timeout=300)[0] for name, proc in runs.items()}
        for name, proc in runs.items():
            assert proc.returncode == 0, f"{name}:\n{logs[name]}"
        for name in SMALL:
            records = read_jsonl(tmp_path / "out" / name / "data.jsonl")
            assert records, f"{name} accepted nothing:\n{logs[name]}"
            for record in records:
                text = _teacher_text(record)
                found = [w for w in WRAPPING if w in text]
                assert not found, f"{name}: {found} in {record}"
                label = LABEL_LINE.search(text)
                assert label is None, f"{name}: label residue {label.group(0)!r} in {record}"
                assert "reasoning" not in record["meta"]
        instances = read_jsonl(tmp_path / "out" / "self_instruct" / "data.jsonl")
        assert any(r["meta"]["is_classification"] for r in instances), "'**Yes.**' reads as a classification task"
        rejected = read_jsonl(tmp_path / "out" / "self_instruct" / "rejected.jsonl")
        assert not [r for r in rejected if r["reason"] == "no_instructions_parsed"], \
            "a bootstrap reply cut to its lead-in by the blank-line stop is asked again, not lost"
        manifest = json.loads((tmp_path / "out" / "self_instruct" / "manifest.json").read_text())
        assert json.dumps(manifest).count("asked_again_without_blank_line_stop")

        # a re-run of the bootstrap reads the same two cached answers for a prompt that was asked again: no call
        before = teacher.stats()["requests"]
        data = (tmp_path / "out" / "self_instruct" / "data.jsonl").read_text()
        result = distill("run", str(tmp_path / "recipes/chatty_self_instruct.yaml"))
        assert result.returncode == 0, result.stdout + result.stderr
        assert teacher.stats()["requests"] == before
        assert (tmp_path / "out" / "self_instruct" / "data.jsonl").read_text() == data

        # keep_reasoning: the same run again, in the same folder, keeps each answer's reasoning in the record's
        # `reasoning` field; the reasoning comes from the cache (no call)
        before = teacher.stats()["requests"]
        path = _recipe(ROOT / "recipes/respond.yaml", tmp_path / "recipes/chatty_respond_keep.yaml", teacher.url,
                       tmp_path / "out" / "respond", {**SMALL["respond"], "keep_reasoning": True})
        result = distill("run", str(path))
        assert result.returncode == 0, result.stdout + result.stderr
        assert teacher.stats()["requests"] == before
        kept = read_jsonl(tmp_path / "out" / "respond" / "data.jsonl")
        assert any("PONDERING" in r.get("reasoning", "") and "reasoning" not in r["meta"] for r in kept)
        assert all("PONDERING" not in r["output"] for r in kept)
