"""A target of accepted records (issue #33, run/target.py) against the scripted teacher: a target of 50 with a gate
that keeps about 1 in 3 stops at exactly 50 accepted, the first 50 in input order, the same records under the
local and Ray executors and after SIGKILLs and a resume; the extra accepted ones are kept as `beyond_target`; a
re-run of a met target sends no request; inputs that run out say how far the run got and exit 1; a recipe that
cannot aim at a target is refused by `validate` (exit 2)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest
from helpers import ROOT, distill, read_jsonl, write

# the judge keeps what the input marks KEEP (score 8) and drops the rest (score 2, under the select rule's 5)
JUDGE = [{"match": r"KEEP-[\s\S]*# Response to grade", "reply": '{"rationale": "good", "score": 8}'},
         {"match": r"# Response to grade", "reply": '{"rationale": "weak", "score": 2}'}]


def rows(tmp_path, n: int, seed: int = 11, keep: float = 1 / 3):
    """n input rows, about `keep` of them marked for the judge to keep; returns the file and the kept indices."""
    rng = random.Random(seed)
    marks = [rng.random() < keep for _ in range(n)]
    path = write(tmp_path / f"in-{n}.jsonl", "".join(
        json.dumps({"instruction": f"Question {i}: {'KEEP-' if m else 'DROP-'}this one?"}) + "\n"
        for i, m in enumerate(marks)))
    return path, [i for i, m in enumerate(marks) if m]


def recipe(url: str, inp, out, **top) -> dict:
    return {"recipe": "respond", "name": "t", "seed": 3, "input": {"path": str(inp)}, "out": str(out),
            "generation": {"max_tokens": 32, "temperature": 0.7}, "report": False,
            "teacher": {"provider": "openai", "model": "fake-model", "base_url": url, "timeout": 5,
                        "max_concurrency": 8, "price": {"prompt_per_mtok": 1, "completion_per_mtok": 2}},
            "quality": {"rubric": "overall"}, "select": {"rules": [{"score": "judge.overall", "min": 5}]}, **top}


def yaml_file(tmp_path, name: str, cfg: dict):
    return write(tmp_path / f"{name}.yaml", json.dumps(cfg))  # JSON is YAML


def run_in_process(cfg: dict, **executor) -> dict:
    from distill.config import RunConfig
    from distill.run.runner import execute

    config = RunConfig.model_validate({**cfg, **({"executor": executor} if executor else {})})
    return execute(config, progress=False).manifest


def test_a_target_of_50_keeps_exactly_the_first_50_accepted_and_a_rerun_sends_nothing(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 400)
    cfg = yaml_file(tmp_path, "r", recipe(teacher_server.url, inp, tmp_path / "run", target=50))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert "Target: 50 of 50 accepted records (" in res.stdout and "as beyond_target" in res.stdout
    data = read_jsonl(tmp_path / "run" / "data.jsonl")
    assert [r["meta"]["index"] for r in data] == kept[:50]  # exactly 50: the first 50 the gate keeps, in order
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    target = manifest["records_target"]
    assert target["target"] == 50 and target["accepted"] == 50 and len(target["rounds"]) >= 2
    assert target["rounds"][0]["items"] == 50  # one candidate per row: the first round draws 50 rows
    assert manifest["counts"]["accepted"] == 50
    beyond = [r for r in read_jsonl(tmp_path / "run" / "rejected.jsonl") if r["reason"] == "beyond_target"]
    assert [r["item"]["meta"]["index"] for r in beyond] == kept[50:len(beyond) + 50]  # accepted, kept aside
    assert target["beyond_target"] == len(beyond) and manifest["stages"]["target"]["accepted"] == 50
    drawn = target["items"]
    assert drawn < 400 and teacher_server.stats()["answered"] == 2 * drawn  # each drawn row: an answer, a grade
    from distill.run.target import next_round

    for done, following in zip(target["rounds"], target["rounds"][1:], strict=False):  # each sized from the last
        assert done["accepted"] < 50 and following["items"] == next_round(done["items"], done["accepted"], 50, 400)

    first = (tmp_path / "run" / "data.jsonl").read_bytes()
    before = teacher_server.stats()["requests"]
    again = distill("run", str(cfg), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert teacher_server.stats()["requests"] == before  # a met target: every round replayed, 0 requests
    assert (tmp_path / "run" / "data.jsonl").read_bytes() == first
    assert "0 new" in again.stdout

    shown = distill("show", str(tmp_path / "run"), "-n", "0")
    assert shown.returncode == 0, shown.stderr
    assert "Target: 50 of 50 accepted records" in shown.stdout
    assert "Target: 50 of 50 accepted records (" in (tmp_path / "run" / "README.md").read_text()  # the card


def test_inputs_that_run_out_say_how_far_the_run_got_and_exit_1(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 60)
    cfg = yaml_file(tmp_path, "r", recipe(teacher_server.url, inp, tmp_path / "run"))
    res = distill("run", str(cfg), "--no-progress", "--target", "50")
    assert res.returncode == 1, res.stderr
    assert (f"target not reached: {len(kept)} of 50 accepted records after 60 items" in res.stderr
            and "all 60 items were drawn (the input has no more rows)" in res.stderr), res.stderr
    assert [r["meta"]["index"] for r in read_jsonl(tmp_path / "run" / "data.jsonl")] == kept
    assert teacher_server.stats()["answered"] == 120  # every row once, whatever the rounds
    # exit 1, as a run that made nothing, but the console and `distill show` say which it was
    assert (f"The run finished short of its target, not empty: {tmp_path / 'run' / 'data.jsonl'} holds the "
            f"{len(kept)} record(s) accepted" in res.stderr and "nothing was made" not in res.stderr), res.stderr
    shown = distill("show", str(tmp_path / "run"), "-n", "0")
    assert shown.returncode == 0, shown.stderr
    said = " ".join(shown.stdout.split())
    assert (f"Target not reached: {len(kept)} of 50 accepted records (" in said and f"data.jsonl holds the "
            f"{len(kept)} accepted, a finished dataset short of the target (`distill run` exits 1)" in said), said
    assert "Nothing was made" not in said
    card = (tmp_path / "run" / "README.md").read_text()
    assert f"Target not reached: {len(kept)} of 50 accepted records (" in card
    # --num caps the items drawn, and says so
    res = distill("run", str(cfg), "--no-progress", "--target", "50", "--num", "30", "--out", str(tmp_path / "n"))
    assert res.returncode == 1 and "all 30 items were drawn (`num` caps them)" in res.stderr, res.stderr


def test_a_target_that_accepts_nothing_says_nothing_was_made_and_show_says_so(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 12, keep=0)
    assert kept == []
    cfg = yaml_file(tmp_path, "r", recipe(teacher_server.url, inp, tmp_path / "run", target=5))
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 1, res.stderr
    assert "target not reached: 0 of 5 accepted records after 12 items" in res.stderr, res.stderr
    assert "nothing was made" in res.stderr and "short of its target, not empty" not in res.stderr, res.stderr
    said = " ".join(distill("show", str(tmp_path / "run"), "-n", "0").stdout.split())
    assert "Target not reached: 0 of 5 accepted records (" in said, said
    assert "nothing was accepted, so nothing was made" in said, said
    assert "Nothing was made: not one record was accepted" in said, said


def test_a_target_is_refused_by_a_recipe_that_cannot_aim_at_one(tmp_path, teacher_server):
    write(tmp_path / "mine.py", """from distill.recipes.base import Recipe


class Mine(Recipe):
    name, summary = "mine", "makes what it decides"

    async def run(self):
        pass
""")
    cfg = write(tmp_path / "r.yaml", f"recipe: mine.py:Mine\ntarget: 10\nout: {tmp_path / 'out'}\n"
                                     f"teacher: openai:m@{teacher_server.url}\n")
    for command in ("validate", "run"):
        res = distill(command, str(cfg))
        assert res.returncode == 2, res.stderr
        assert "r.yaml:2: target: the mine.py:Mine recipe cannot aim at a number of accepted records" in res.stderr
        assert "grows_with_num = True" in res.stderr
    assert teacher_server.stats()["requests"] == 0 and not (tmp_path / "out").exists()
    from distill.recipes.registry import recipe_class

    for name in ("respond", "evol_instruct", "math_qa", "knowledge_qa", "magpie", "personas", "tool_use",
                 "self_instruct", "alpaca", "reasoning"):
        assert recipe_class(name).grows_with_num, name
    for name in ("lab", "self_improve"):
        assert not recipe_class(name).grows_with_num, name
    dry = distill("run", str(yaml_file(tmp_path, "d", recipe(teacher_server.url, rows(tmp_path, 30)[0],
                                                               tmp_path / "d"))), "--dry-run", "--target", "50")
    assert dry.returncode == 0 and "target: 50 accepted records" in dry.stdout and "--pilot 20" in dry.stdout
    res = distill("validate", str(write(tmp_path / "z.yaml", "recipe: respond\ntarget: 0\n")))
    assert res.returncode == 2 and "target: Input should be greater than or equal to 1" in res.stderr


def test_rounds_are_sized_from_the_acceptance_so_far_and_the_target_is_no_part_of_the_fingerprint():
    from distill.config import RunConfig
    from distill.run.fingerprint import run_fingerprint
    from distill.run.target import first_round, items_to_reach, next_round

    assert first_round(50, 1, None) == 50 and first_round(50, 5, None) == 10 and first_round(50, 1, 20) == 20
    assert next_round(50, 20, 50, None) == 50 + 83 + 1  # 30 more at 20/50 is 75 rows, +10%, +1
    assert next_round(50, 0, 50, None) == 200 and next_round(50, 1, 50, None) == 400  # at most 8x
    assert next_round(50, 20, 50, 60) == 60
    assert items_to_reach(50, 1 / 3, 50) == next_round(50, 16, 50, None)
    base = {"recipe": "respond", "teacher": {"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:1/v1"}}
    assert len({run_fingerprint(RunConfig.model_validate({**base, **extra}))
                for extra in ({}, {"target": 50}, {"target": 500, "num": 9})}) == 1


@pytest.mark.slow
def test_a_target_gives_the_same_records_under_ray_as_locally(tmp_path, teacher_server):
    ray = pytest.importorskip("ray")
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 400)
    local = run_in_process(recipe(teacher_server.url, inp, tmp_path / "local", target=50))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_in_process(recipe(teacher_server.url, inp, tmp_path / "ray", target=50), kind="ray", workers=2)
    finally:
        ray.shutdown()
    for name in ("data.jsonl", "rejected.jsonl"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert [r["meta"]["index"] for r in read_jsonl(tmp_path / "ray" / "data.jsonl")] == kept[:50]
    assert remote["records_target"] == local["records_target"]
    assert remote["executor"]["pools"][0]["actors"] == 2


@pytest.mark.slow
def test_a_target_run_killed_and_resumed_keeps_the_same_50_records(tmp_path, teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 400)
    reference = recipe(teacher_server.url, inp, tmp_path / "reference", target=50)
    run_in_process(reference)
    expected = (tmp_path / "reference" / "data.jsonl").read_bytes()

    teacher_server.configure(rules=JUDGE, latency=0.05, jitter=0.05)
    cfg = yaml_file(tmp_path, "k", recipe(teacher_server.url, inp, tmp_path / "killed", target=50))
    cmd = [sys.executable, "-m", "distill.cli.main", "run", str(cfg), "--no-progress"]
    rng, kills = random.Random(5), 0
    for _ in range(3):  # killed each time some 40-80 more answers came back (the whole run takes about 300)
        goal = teacher_server.stats()["answered"] + rng.randint(40, 80)
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while proc.poll() is None and teacher_server.stats()["answered"] < goal:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2
    res = distill("run", str(cfg), "--no-progress")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "killed" / "data.jsonl").read_bytes() == expected
    assert [r["meta"]["index"] for r in read_jsonl(tmp_path / "killed" / "data.jsonl")] == kept[:50]
    manifest = json.loads((tmp_path / "killed" / "manifest.json").read_text())
    before = json.loads((tmp_path / "reference" / "manifest.json").read_text())
    assert manifest["records_target"] == before["records_target"]  # the same rounds, replayed and continued


def test_a_target_run_stopped_by_its_budget_continues_to_the_same_records_for_the_same_total(tmp_path,
                                                                                            teacher_server):
    teacher_server.configure(rules=JUDGE)
    inp, kept = rows(tmp_path, 400)
    reference = recipe(teacher_server.url, inp, tmp_path / "reference", target=50)
    whole = run_in_process(reference)
    cfg = yaml_file(tmp_path, "b", recipe(teacher_server.url, inp, tmp_path / "run", target=50))
    res = distill("run", str(cfg), "--no-progress", "--max-cost", "0.02")
    assert res.returncode == 4 and res.stderr.strip().startswith("Budget reached"), res.stderr
    res = distill("run", str(cfg), "--no-progress", "--max-cost", "1")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "run" / "data.jsonl").read_bytes() == (tmp_path / "reference" / "data.jsonl").read_bytes()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["records_target"] == whole["records_target"]
    spent = {role: u["cost_usd"] for role, u in manifest["usage"].items()}
    assert spent == {role: u["cost_usd"] for role, u in whole["usage"].items()}  # each answer paid once
    teacher = manifest["usage"]["teacher"]
    assert teacher["answered"] + teacher["cache_hits"] == manifest["records_target"]["items"]  # hits counted once


# pairwise: sample 0 is better wherever it is shown (both orders agree, so every row gives a pair)
PAIRWISE = [{"match": r"# Response A\n+Answer \w+-0", "reply": '{"rationale": "first", "winner": "A"}'},
            {"match": r"# Response B\n+Answer \w+-0", "reply": '{"rationale": "second", "winner": "B"}'}]


def test_pairs_follow_the_cut_pairs_of_items_beyond_the_target_are_kept_aside(tmp_path, teacher_server):
    """A pairwise gate writes a preference pair per row (pairs.jsonl). A target keeps the pairs of the rows up to
    the last record kept and moves the others to rejected.jsonl as beyond_target (detail pairs.jsonl): the pairs
    are those of a run over exactly those rows, whatever the rounds drew."""
    teacher_server.configure(rules=JUDGE + PAIRWISE)
    inp, kept = rows(tmp_path, 120)
    base = recipe(teacher_server.url, inp, tmp_path / "run", target=9,
                  quality={"rubric": "overall", "pairwise": True}, options={"samples": 2})
    manifest = run_in_process(base)
    out = tmp_path / "run"
    data = read_jsonl(out / "data.jsonl")
    assert len(data) == 9 and [r["meta"]["index"] for r in data][::2] == kept[:5]  # 2 records per kept row
    last = data[-1]["meta"]["index"]
    target = manifest["records_target"]
    pairs = [p["meta"]["index"] for p in read_jsonl(out / "pairs.jsonl")]
    assert pairs == list(range(last + 1))  # every row up to the last record kept, none beyond
    aside = [r for r in read_jsonl(out / "rejected.jsonl") if r["reason"] == "beyond_target"]
    moved = [r["item"]["meta"]["index"] for r in aside if r.get("detail") == "pairs.jsonl"]
    assert moved == list(range(last + 1, target["items"])) and moved  # the rows the last round drew beyond
    assert all("chosen" in r["item"] for r in aside if r.get("detail") == "pairs.jsonl")
    assert target["pairs_beyond_target"] == len(moved)
    from distill.run.target import target_summary

    assert f"; {len(moved)} preference pair(s) beyond the target likewise" in target_summary(manifest)
    assert manifest["stages"]["target"]["rejected"]["beyond_target"] == len(aside)

    plain = run_in_process({**base, "target": None, "num": last + 1, "out": str(tmp_path / "plain")})
    assert read_jsonl(tmp_path / "plain" / "pairs.jsonl") == read_jsonl(out / "pairs.jsonl")
    assert "records_target" not in plain
