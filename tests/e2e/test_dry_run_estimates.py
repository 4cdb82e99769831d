"""`--dry-run` says how many calls a run will make, for every role: checked against what the same config then
really sends to a scripted teacher (counted by the server), recipe by recipe.

An "up to" figure is a ceiling the run may not pass and must not be wildly loose; an "about" figure (recipes whose
call count depends on what the replies yield) must be within a factor of two."""

from __future__ import annotations

import re

import pytest
import test_rerun_every_recipe as every
from helpers import distill, write

LINE = re.compile(r"^(\w+) calls(?: \([^)]*\))?: (up to|about) (\d+)", re.M)


def _estimate(cfg) -> tuple[str, int, dict[str, int]]:
    res = distill("run", str(cfg), "--dry-run")
    assert res.returncode == 0, res.stderr
    found = LINE.findall(res.stdout)
    assert found, res.stdout
    kinds = {k for _, k, _ in found}
    assert len(kinds) == 1, res.stdout
    return kinds.pop(), sum(int(n) for *_, n in found), {role: int(n) for role, _, n in found}


def _run(cfg, server) -> int:
    before = server.stats()["requests"]
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    return server.stats()["requests"] - before


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["respond", "evol_instruct", "math_qa", "lab", "knowledge_qa", "self_instruct"])
def test_the_dry_run_count_matches_the_run(tmp_path, teacher_server, recipe):
    rules, text = every.RECIPES[recipe](tmp_path, teacher_server.url)
    teacher_server.configure(rules=rules)
    cfg = write(tmp_path / "r.yaml", text + f"out: {tmp_path / 'run'}\n")
    kind, estimated, _ = _estimate(cfg)
    actual = _run(cfg, teacher_server)
    if kind == "up to":
        assert actual <= estimated <= 2 * actual, (recipe, kind, estimated, actual)
    else:
        assert actual / 2 <= estimated <= 2 * actual, (recipe, kind, estimated, actual)


def test_samples_and_later_turns_and_the_gate_are_counted(tmp_path, teacher_server):
    """math_qa's `samples: 4` asks four completions per call, each priced; `turns: 3` adds two user turns and two
    answers per record, and the gate's judge grades every assistant turn."""
    rules, text = every.RECIPES["math_qa"](tmp_path, teacher_server.url)
    cfg = write(tmp_path / "m.yaml", text + f"out: {tmp_path / 'm'}\n")
    res = distill("run", str(cfg), "--dry-run")
    # 3 problems + 3 augmented ones, solved with n=4; 3 augmentation calls with n=1
    assert "teacher calls: up to 9, 27 samples" in res.stdout, res.stdout

    rules, text = every.RECIPES["respond"](tmp_path, teacher_server.url)  # 12 rows, rubric overall
    teacher_server.configure(rules=rules)
    cfg = write(tmp_path / "t.yaml", text + f"turns: 3\nout: {tmp_path / 't'}\n")
    _, estimated, roles = _estimate(cfg)
    assert roles == {"teacher": 12 + 2 * 12 * 2, "judge": 12 * 3}, roles
    assert _run(cfg, teacher_server) == estimated


def test_an_answer_teacher_and_a_judge_are_counted_under_their_own_names(tmp_path, teacher_server):
    rules, text = every.RECIPES["evol_instruct"](tmp_path, teacher_server.url)
    url = teacher_server.url
    cfg = write(tmp_path / "e.yaml", text + f"answer_teacher: {{provider: openai, model: a, base_url: {url}}}\n"
                f"judge: {{provider: openai, model: j, base_url: {url}}}\nout: {tmp_path / 'e'}\n")
    _, _, roles = _estimate(cfg)
    rows = len(every.scripted.EVOL_ROOTS)
    # 4 rounds of evolution; every round and the root answered; equality and difficulty per round + the root's
    assert roles == {"teacher": 4 * rows, "answer": 5 * rows, "judge": 9 * rows}, roles
